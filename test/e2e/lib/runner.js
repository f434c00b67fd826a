'use strict';
// A tiny sequential test runner for the e2e scripts: prints each result and an "N passed, M failed" summary,
// and sets a non-zero exit code on any failure. Tests may call skip(reason).
const { killAllSync } = require('./proc');

class Skip extends Error {}

/**
 * @typedef {{ name: string, fn: (t: { skip: (why: string) => never }) => unknown }} E2eTest
 */

/**
 * @param {string} title
 * @param {E2eTest[]} tests
 * @param {{ afterAll?: () => unknown }} [options]
 * @returns {Promise<{ passed: number, failed: number, skipped: number }>}
 */
async function runTests(title, tests, { afterAll } = {}) {
  const t0 = Date.now();
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  console.log(`# ${title}`);
  for (const { name, fn } of tests) {
    const t = Date.now();
    try {
      await fn({ skip: (why) => { throw new Skip(why); } });
      passed++;
      console.log(`ok   ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      if (e instanceof Skip) {
        skipped++;
        console.log(`skip ${name}: ${e.message}`);
      } else {
        failed++;
        console.log(`FAIL ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)\n${indent(e && e.stack ? e.stack : String(e))}`);
      }
    }
  }
  if (afterAll) {
    try {
      await afterAll();
    } catch (e) {
      failed++;
      console.log(`FAIL cleanup\n${indent(String(e && e.stack))}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  killAllSync();
  process.exitCode = failed ? 1 : 0;
  return { passed, failed, skipped };
}

function indent(s) {
  return s.split('\n').map((l) => `     ${l}`).join('\n');
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

module.exports = { runTests, assert, Skip };
