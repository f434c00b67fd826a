#!/usr/bin/env node
'use strict';
// The real-n8n end-to-end suite (`npm run test:e2e`): runs each script below in its own process, in order, on
// each n8n line of lib/install.js (2.41 first, then 1.123), prints their output, and exits non-zero if any failed.
// Each script prints its own "N passed, M failed" line.
//   NEMOVIDEO_E2E_ONLY=smoke,examples      those suites, on every line
//   NEMOVIDEO_E2E_ONLY=smoke@1.123,@2.41   one suite on one line, every suite of a line
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { packageTarball } = require('./lib/n8n');

/** `name@line[/variant]`; env: what the suite's process gets besides the line. */
const SUITES = [
  { name: 'smoke@2.41', args: ['smoke.js'] },
  { name: 'examples@2.41', args: ['examples.js'] },
  { name: 'synced-folder@2.41', args: ['synced-folder.js'] },
  { name: 'mcp@2.41', args: ['mcp.js'] },
  { name: 'screenshots@2.41', args: ['screenshots.js'] },
  { name: 'queue@2.41', args: ['queue/run.js'] },
  { name: 'chat@2.41', args: ['chat.js'] },
  { name: 'chat-queue@2.41', args: ['queue/chat.js'] },
  // The 1.x line: the package as is on n8n 1.123 with Node 22. 1.x keeps binary data in memory by default;
  // self-hosters often switch to the filesystem, so the examples run in both modes.
  { name: 'smoke@1.123', args: ['smoke.js'] },
  { name: 'examples@1.123', args: ['examples.js'] },
  { name: 'examples@1.123/filesystem', args: ['examples.js'], env: { N8N_DEFAULT_BINARY_DATA_MODE: 'filesystem' } },
  { name: 'mcp@1.123', args: ['mcp.js'] },
];

const lineOf = (name) => (/@([^/]+)/.exec(name) || [null, '2.41'])[1];
const baseOf = (name) => name.split('@')[0];

/** An entry of NEMOVIDEO_E2E_ONLY picks a suite by its whole name, its base name (every line) or `@line`. */
function selected(name, only) {
  if (!only.length) return true;
  return only.some((o) => o === name || o === baseOf(name) || o === `@${lineOf(name)}` || o === name.split('/')[0]);
}

async function main() {
  const only = (process.env.NEMOVIDEO_E2E_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
  const suites = SUITES.filter((suite) => selected(suite.name, only));
  if (!suites.length) {
    console.log(`NEMOVIDEO_E2E_ONLY=${only.join(',')} names no suite; the suites are ${SUITES.map((s) => s.name).join(', ')}`);
    return 1;
  }
  const t0 = Date.now();
  // One tarball for every suite and every n8n line (the package as users get it), packed before the first suite.
  const tarball = await packageTarball();
  console.log(`e2e: ${suites.length} suites, the package ${path.basename(tarball)} packed once for all of them`);
  const results = [];
  for (const suite of suites) {
    console.log(`\n=== e2e: ${suite.name} ===`);
    const t = Date.now();
    const r = spawnSync(process.execPath, suite.args.map((a, i) => (i === 0 ? path.join(__dirname, a) : a)), {
      stdio: 'inherit',
      timeout: 30 * 60 * 1000,
      env: { ...process.env, NEMOVIDEO_N8N_LINE: lineOf(suite.name), NEMOVIDEO_E2E_TARBALL: tarball, ...suite.env },
    });
    const ok = r.status === 0;
    results.push({ name: suite.name, ok, s: (Date.now() - t) / 1000, why: r.error ? String(r.error) : r.signal ? `signal ${r.signal}` : `exit ${r.status}` });
  }
  console.log('\n=== e2e summary ===');
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.s.toFixed(1)} s)${r.ok ? '' : ` — ${r.why}`}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.log(`FAIL e2e: ${error.message}`);
    process.exit(1);
  },
);
