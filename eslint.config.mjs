// Two rule sets, one run:
// - the package's code (nodes, credentials, package.json): n8n's own rules for community packages. This package
//   bundles runtime libraries (undici, form-data, eventsource-parser, uuid), so it uses the set for packages that
//   do not target n8n Cloud;
// - everything else that runs (tests, the emulator, benchmarks, the real-n8n suite, scripts, build files): the
//   recommended JavaScript and typescript-eslint rules, for Node.
import js from '@eslint/js';
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const support = ['test/**/*.{ts,js}', 'bench/**/*.{ts,js}', 'scripts/**/*.{ts,js}', '*.js', 'eslint.config.mjs'];

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'out/**', 'examples/**', 'coverage/**', '.e2e-tmp/**'] },
	// (a config without `files` is a global ignore or applies everywhere: left as it is)
	...configWithoutCloudSupport.map((config) =>
		config.files ? { ...config, ignores: [...(config.ignores ?? []), ...support] } : config,
	),
	...[js.configs.recommended, ...tseslint.configs.recommended].map((config) => ({ ...config, files: support })),
	{
		files: support,
		languageOptions: { globals: { ...globals.node, ...globals.jest } },
		rules: {
			// CommonJS scripts load their modules with require().
			'@typescript-eslint/no-require-imports': 'off',
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
		},
	},
];
