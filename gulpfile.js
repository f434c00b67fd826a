const { src, dest, parallel } = require('gulp');
const esbuild = require('esbuild');
const { rm } = require('node:fs/promises');

/** Node and credential icons beside the built code in dist/. */
function buildIcons() {
	return src(['icons/**/*.svg', 'nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], {
		base: '.',
		encoding: false,
	}).pipe(dest('dist'));
}

/**
 * Bundles the runtime libraries (undici, eventsource-parser, form-data, uuid, exif-reader) into dist/nodes/shared/vendor.js,
 * over tsc's output of nodes/shared/vendor.ts: n8n community packages may not declare runtime dependencies.
 */
async function bundleVendor() {
	await esbuild.build({
		entryPoints: ['nodes/shared/vendor.ts'],
		outfile: 'dist/nodes/shared/vendor.js',
		bundle: true,
		platform: 'node',
		target: 'node20',
		format: 'cjs',
		minify: false,
		legalComments: 'inline',
		allowOverwrite: true,
		logLevel: 'warning',
	});
	// tsc's source map describes the unbundled file that esbuild just replaced.
	await rm('dist/nodes/shared/vendor.js.map', { force: true });
}

exports['build:icons'] = buildIcons;
exports['build:vendor'] = bundleVendor;
exports.build = parallel(buildIcons, bundleVendor);
exports.default = exports.build;
