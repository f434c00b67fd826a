#!/usr/bin/env node
// Installs the project's dependencies when node_modules is missing or older than package-lock.json, so that
// `npm test` and `npm run demo` work on a fresh clone with nothing installed by hand.
// `npm ci`: installs exactly the lock and never rewrites it, so a fresh clone stays clean.
// --ignore-scripts: n8n-core's optional native build (isolated-vm) wants Node 24 and fails on Node 20; none of
// the packages this project uses needs an install script (ffmpeg and esbuild ship their binaries in the package).
// --loglevel=error: the only warning such an install prints is that same optional isolated-vm's engine range
// (Node >= 24), which is not built and not used here.
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.nemovideo-deps.sha256');
const lockHash = () => createHash('sha256').update(readFileSync(lock)).digest('hex');
const wanted = lockHash();

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) process.exit(0);

console.error('Installing dependencies (npm ci --ignore-scripts)…');
const started = Date.now();
execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root, stdio: 'inherit' });
writeFileSync(stamp, lockHash());
console.error(`Dependencies installed in ${Math.round((Date.now() - started) / 1000)} s.`);
