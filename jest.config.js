/** Fast suite: transport unit tests and n8n-core engine integration tests against the emulator. */
module.exports = {
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
	setupFiles: ['<rootDir>/test/harness/env.ts'],
	testTimeout: 60000,
	// n8n-core keeps timers and the HTTP keep-alive pool open after the last test; they hold no state worth waiting for.
	forceExit: true,
};
