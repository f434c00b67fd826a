#!/usr/bin/env node
'use strict';
// The real-n8n end-to-end suite (`npm run test:e2e`): runs each script below in its own process, in order,
// prints their output, and exits non-zero if any failed. Each script prints its own "N passed, M failed" line.
// NEMOVIDEO_E2E_ONLY=smoke,examples runs a subset.
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const SUITES = [
  { name: 'smoke', args: ['smoke.js'] },
  { name: 'examples', args: ['examples.js'] },
  { name: 'mcp', args: ['mcp.js'] },
  { name: 'screenshots', args: ['screenshots.js'] },
  { name: 'queue', args: ['queue/run.js'] },
];

const only = (process.env.NEMOVIDEO_E2E_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
const t0 = Date.now();
const results = [];
for (const suite of SUITES) {
  if (only.length && !only.includes(suite.name)) continue;
  console.log(`\n=== e2e: ${suite.name} ===`);
  const t = Date.now();
  const r = spawnSync(process.execPath, suite.args.map((a, i) => (i === 0 ? path.join(__dirname, a) : a)), {
    stdio: 'inherit',
    timeout: 30 * 60 * 1000,
  });
  const ok = r.status === 0;
  results.push({ name: suite.name, ok, s: (Date.now() - t) / 1000, why: r.error ? String(r.error) : r.signal ? `signal ${r.signal}` : `exit ${r.status}` });
}
console.log('\n=== e2e summary ===');
for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.s.toFixed(1)} s)${r.ok ? '' : ` — ${r.why}`}`);
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
