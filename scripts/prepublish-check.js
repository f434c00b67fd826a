#!/usr/bin/env node
// `npm publish` runs this first (prepublishOnly): it refuses to publish from a tree with uncommitted changes
// (the tarball would not be what the tag names) and runs lint, build and the fast suite. The publish workflow
// runs the whole suite, real n8n included, before it gets here (.github/workflows/publish.yml).
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim();
if (dirty) {
	console.error(`Refusing to publish: the working tree has uncommitted changes:\n${dirty}\nCommit or stash them first.`);
	process.exit(1);
}
for (const script of ['lint', 'build', 'test:fast']) {
	execFileSync('npm', ['run', script], { cwd: root, stdio: 'inherit' });
}
