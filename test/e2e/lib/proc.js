'use strict';
// Child-process helpers shared by the e2e modules: every long-lived child runs in its own process group
// (detached) so that stopping it kills its children too (tsx -> node, n8n -> task runners), and every such
// group is killed when this process exits, however it exits.
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

/**
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, error?: Error }} ChildExit
 * @typedef {import('node:child_process').ChildProcess & { exited: Promise<ChildExit> }} TrackedChild A child with a
 *   promise of its exit (resolved on 'exit' or on a spawn 'error').
 */

/** @type {Set<number>} */
const live = new Set(); // pids (= pgids) of groups we started and have not reaped

/**
 * Signals the process group led by `pid` (every child here is spawned detached, so it leads one). Only the group:
 * when it is gone the child has ended and its pid may already be another process's (pids wrap at 32768).
 * @param {number} pid
 * @param {NodeJS.Signals} [signal]
 * @returns {boolean} whether the group was there
 */
function killGroup(pid, signal = 'SIGTERM') {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

function killAllSync() {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  live.clear();
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      killAllSync();
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[sig] || 0));
    });
  }
}

/**
 * Spawns a tracked child in its own process group.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {import('node:child_process').SpawnOptions} [opts]
 * @returns {TrackedChild}
 */
function spawnGroup(cmd, args, opts = {}) {
  hookExit();
  const child = /** @type {TrackedChild} */ (spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, detached: true }));
  if (child.pid) live.add(child.pid);
  /** @type {Promise<ChildExit>} */
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  child.exited = exited;
  // The group's leader has exited; its children may still run: the stop functions kill the group anyway.
  exited.then(() => live.delete(child.pid));
  return child;
}

/**
 * SIGTERM the group, wait up to graceMs for the leader, then SIGKILL the group.
 * @param {TrackedChild | null | undefined} child
 * @param {number} [graceMs]
 */
async function stopGroup(child, graceMs = 10000) {
  if (!child || !child.pid) return;
  const pid = child.pid;
  const done = child.exitCode !== null || child.signalCode !== null;
  if (!done) {
    killGroup(pid, 'SIGTERM');
    const t = await Promise.race([child.exited.then(() => 'exited'), sleep(graceMs).then(() => 'timeout')]);
    if (t === 'timeout') killGroup(pid, 'SIGKILL');
    await Promise.race([child.exited, sleep(5000)]);
  }
  // Leftover members of the group (e.g. a task runner) must not outlive the test.
  killGroup(pid, 'SIGKILL');
  live.delete(pid);
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on 127.0.0.1 (ports handed out by this process are not reused). */
const handedOut = new Set();
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free port');
}

/**
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, durationMs: number, timedOut: boolean }} CaptureResult
 */

/**
 * Runs a command to completion with a timeout; resolves { code, signal, stdout, stderr, durationMs, timedOut }.
 * The child writes its stdout and stderr to files, not pipes: n8n ends its commands with process.exit(), and Node
 * drops what a pipe has not yet taken (the end of `n8n execute --rawOutput`, megabytes when binary data is kept in
 * memory), while writes to a file are synchronous. onStdout / onStderr get the text once the child has exited.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number, onStdout?: (text: string) => void,
 *   onStderr?: (text: string) => void, input?: string | Buffer }} [options]
 * @returns {Promise<CaptureResult>}
 */
function runCapture(cmd, args, { env, cwd, timeoutMs = 120000, onStdout, onStderr, input } = {}) {
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-capture-'));
  const outFile = path.join(dir, 'stdout');
  const errFile = path.join(dir, 'stderr');
  const outFd = fs.openSync(outFile, 'w');
  const errFd = fs.openSync(errFile, 'w');
  let child;
  try {
    child = spawnGroup(cmd, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', outFd, errFd] });
  } finally {
    fs.closeSync(outFd); // the child holds its own copies
    fs.closeSync(errFd);
  }
  if (input !== undefined) child.stdin.end(input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, 'SIGKILL');
  }, timeoutMs);
  return child.exited.then(({ code, signal, error }) => {
    clearTimeout(timer);
    // Nothing of the group may outlive the command (or keep writing to the files).
    killGroup(child.pid, 'SIGKILL');
    live.delete(child.pid);
    const stdout = fs.readFileSync(outFile, 'utf8');
    const stderr = fs.readFileSync(errFile, 'utf8');
    fs.rmSync(dir, { recursive: true, force: true });
    if (error) throw error;
    if (onStdout && stdout) onStdout(stdout);
    if (onStderr && stderr) onStderr(stderr);
    return { code, signal, stdout, stderr, durationMs: Date.now() - t0, timedOut };
  });
}

/**
 * Resolves when the child's output (stdout or stderr) matches `pattern`; rejects when the child exits first or after
 * `timeoutMs`. Resolves the output seen so far. Output already printed before the call is not seen: call it right
 * after spawning.
 * @param {TrackedChild} child
 * @param {RegExp} pattern
 * @param {{ what?: string, timeoutMs?: number }} [options]
 * @returns {Promise<string>}
 */
function waitForOutput(child, pattern, { what = 'the process', timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const streams = [child.stdout, child.stderr].filter(Boolean);
    const done = (error) => {
      clearTimeout(timer);
      for (const stream of streams) stream.off('data', onData).resume(); // keep draining: a full pipe would block the child
      if (error) reject(new Error(`${error}\n--- its output ---\n${seen.slice(-3000)}`));
      else resolve(seen);
    };
    const onData = (b) => {
      seen = (seen + b).slice(-100000);
      if (pattern.test(seen)) done();
    };
    const timer = setTimeout(() => done(`${what} did not print ${pattern} within ${timeoutMs} ms`), timeoutMs);
    for (const stream of streams) stream.on('data', onData);
    child.exited.then(({ code, signal }) => done(`${what} exited (code ${code}, signal ${signal}) before it printed ${pattern}`));
  });
}

/**
 * Env for child tools: without npm's run-script variables (when started by `npm test`) and NODE_OPTIONS.
 * @param {NodeJS.ProcessEnv} [extra]
 * @returns {NodeJS.ProcessEnv}
 */
function cleanEnv(extra = {}) {
  /** @type {NodeJS.ProcessEnv} */
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(package|lifecycle|config_(local_prefix|global_prefix|prefix))/i.test(k)) continue;
    if (k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

module.exports = { spawnGroup, stopGroup, killGroup, killAllSync, freePort, runCapture, cleanEnv, sleep, waitForOutput };
