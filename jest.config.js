/** Fast suite: transport unit tests and n8n-core engine integration tests against the emulator. */
module.exports = {
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
	transform: {
		'^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
		// uuid ships ES modules only (since 12): the build bundles it with esbuild, the tests compile it to CommonJS.
		'/node_modules/uuid/.+\\.js$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
	},
	transformIgnorePatterns: ['/node_modules/(?!uuid/)'],
	setupFiles: ['<rootDir>/test/harness/env.ts'],
	// Every token used anywhere in the suite is checked against every output, error and log line it produced.
	globalSetup: '<rootDir>/test/harness/leak-setup.ts',
	globalTeardown: '<rootDir>/test/harness/leak-check.ts',
	testTimeout: 60000,
	// n8n-core keeps timers and the HTTP keep-alive pool open after the last test; they hold no state worth waiting for.
	forceExit: false,
};
