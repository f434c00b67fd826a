// n8n's own lint rules for community packages. This package has runtime dependencies (undici, form-data,
// eventsource-parser, uuid), so it uses the set for packages that do not target n8n Cloud.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	...configWithoutCloudSupport,
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', 'bench/**', 'examples/**', '*.js', '*.mjs'] },
];
