#!/usr/bin/env node
'use strict';
// `npm run bench`: runs each benchmark in its own child process (`npx tsx bench/<name>.ts`), prints its output as
// it comes, then one line per benchmark from its final `BENCH_SUMMARY {json}` line.
//
//   npm run bench                                  all of them (about 8 minutes: batch-concurrency is ~5)
//   npm run bench -- polling-lag upload-download   only these
//   npm run bench -- batch-concurrency -- --items 5  extra arguments after `--` go to every script
//
// Exit code: 0 when every benchmark ran and met its goal, 1 when a goal was not met, 2 when a benchmark failed.
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const BENCHES = [
  // upload-download measures memory: run with --expose-gc so the baseline is taken after a full GC.
  { name: 'upload-download', nodeArgs: ['--expose-gc'] },
  { name: 'polling-lag', nodeArgs: [] },
  { name: 'batch-concurrency', nodeArgs: [] },
  // photo-collections measures memory while hashing: --expose-gc too.
  { name: 'photo-collections', nodeArgs: ['--expose-gc'] },
];

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const names = dash >= 0 ? argv.slice(0, dash) : argv;
const extra = dash >= 0 ? argv.slice(dash + 1) : [];
const unknown = names.filter((name) => !BENCHES.some((bench) => bench.name === name));
if (unknown.length) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${BENCHES.map((bench) => bench.name).join(', ')}`);
  process.exit(2);
}
const selected = names.length ? BENCHES.filter((bench) => names.includes(bench.name)) : BENCHES;

let current;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    // The child runs in its own process group (npx -> tsx -> node): stop all of it; it cleans up after itself.
    if (current && current.pid) {
      try {
        process.kill(-current.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    process.exit(130);
  });
}

function runOne(bench) {
  return new Promise((resolve) => {
    const args = ['--no-install', 'tsx', ...bench.nodeArgs, path.join('bench', `${bench.name}.ts`), ...extra];
    console.log(`\n=== ${bench.name}: npx ${args.join(' ')}\n`);
    const started = Date.now();
    const child = spawn('npx', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    current = child;
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      // npm's own config warnings are noise here.
      const text = String(chunk)
        .split('\n')
        .filter((line) => !/^npm warn/i.test(line))
        .join('\n');
      if (text.trim()) process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    });
    child.once('exit', (code, signal) => {
      current = undefined;
      const line = out.split('\n').reverse().find((candidate) => candidate.startsWith('BENCH_SUMMARY '));
      let summary;
      try {
        summary = line ? JSON.parse(line.slice('BENCH_SUMMARY '.length)) : undefined;
      } catch {
        summary = undefined;
      }
      resolve({ name: bench.name, code, signal, summary, seconds: (Date.now() - started) / 1000 });
    });
  });
}

(async () => {
  const results = [];
  for (const bench of selected) results.push(await runOne(bench));
  console.log('\n=== summary');
  let exitCode = 0;
  for (const result of results) {
    const ran = result.code === 0 && result.summary;
    const verdict = !ran ? `FAILED (exit ${result.code ?? result.signal})` : result.summary.goalMet ? 'goal met' : 'goal NOT met';
    if (!ran) exitCode = 2;
    else if (!result.summary.goalMet && exitCode === 0) exitCode = 1;
    console.log(`${result.name.padEnd(18)} ${verdict.padEnd(22)} ${result.seconds.toFixed(0)} s`);
    if (result.summary) console.log(`  ${JSON.stringify(result.summary)}`);
  }
  process.exit(exitCode);
})();
