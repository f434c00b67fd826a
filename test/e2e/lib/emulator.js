'use strict';
// Starts the project's NemoVideo API emulator (test/emulator/cli.ts) as a child process for real-n8n tests.
//
//   const emu = await startEmulator({ ffmpeg: true, renderMs: 500, config: {...} });
//   emu.baseUrl                       e.g. http://127.0.0.1:41234
//   await emu.admin.tokens()          GET  /__emulator/tokens
//   await emu.admin.addToken({ token, credits, anonymous })   POST /__emulator/tokens
//   await emu.admin.requests({ route, since })                GET  /__emulator/requests
//   await emu.admin.config({ ... })   POST /__emulator/config (partial)  — config() with no argument reads it
//   await emu.admin.fault(route, fault, times)                POST /__emulator/faults
//   await emu.admin.reset()           POST /__emulator/reset
//   await emu.stop()
//   connectEmulator(baseUrl).admin  the same admin API for an emulator another process started
const fs = require('node:fs');
const path = require('node:path');
const { spawnGroup, stopGroup, cleanEnv } = require('./proc');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * @param {string} root
 * @returns {[string, string[]]} the command and the arguments that come before the script
 */
function tsxCommand(root) {
  // The repo's own tsx (a devDependency) run by the current Node; `npx tsx` only as a fallback.
  const cli = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  if (fs.existsSync(cli)) return [process.execPath, [cli]];
  return ['npx', ['--no-install', 'tsx']];
}

async function adminCall(baseUrl, method, p, body) {
  const res = await fetch(`${baseUrl}/__emulator${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15000),
  });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  if (!res.ok) throw new Error(`emulator admin ${method} ${p} -> HTTP ${res.status}: ${text.slice(0, 500)}`);
  return data;
}

/**
 * @param {{ffmpeg?: boolean, renderMs?: number, config?: object, port?: number, root?: string,
 *          startTimeoutMs?: number, verbose?: boolean}} opts
 */
async function startEmulator(opts = {}) {
  const root = opts.root || REPO_ROOT;
  const cliTs = path.join(root, 'test', 'emulator', 'cli.ts');
  if (!fs.existsSync(cliTs)) throw new Error(`emulator not found: ${cliTs}`);
  const args = [cliTs];
  if (opts.port !== undefined) args.push('--port', String(opts.port));
  if (opts.ffmpeg) args.push('--ffmpeg');
  if (opts.renderMs !== undefined) args.push('--render-ms', String(opts.renderMs));
  if (opts.config) args.push('--config', JSON.stringify(opts.config));
  const [cmd, pre] = tsxCommand(root);
  const child = spawnGroup(cmd, [...pre, ...args], { cwd: root, env: cleanEnv() });
  let out = '';
  let err = '';
  child.stderr.on('data', (b) => {
    err = (err + b).slice(-20000);
    if (opts.verbose) process.stderr.write(`[emulator] ${b}`);
  });
  const timeoutMs = opts.startTimeoutMs || 60000;
  const baseUrl = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`emulator did not print its URL within ${timeoutMs} ms`)), timeoutMs);
    function fail(e) {
      clearTimeout(timer);
      reject(new Error(`${e.message}\n--- emulator stdout ---\n${out.slice(-3000)}\n--- emulator stderr ---\n${err.slice(-3000)}`));
    }
    child.stdout.on('data', (b) => {
      out += b;
      const m = /^NEMOVIDEO_EMULATOR_URL=(\S+)\s*$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    child.exited.then(({ code, signal, error }) => fail(error || new Error(`emulator exited (code ${code}, signal ${signal}) before listening`)));
  }).catch(async (e) => {
    await stopGroup(child, 2000);
    throw e;
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.on('data', (b) => {
    if (opts.verbose) process.stderr.write(`[emulator] ${b}`);
  });

  const { admin } = connectEmulator(baseUrl);
  return {
    baseUrl,
    admin,
    pid: child.pid,
    logs: () => ({ stdout: out, stderr: err }),
    stop: () => stopGroup(child, 5000),
  };
}

/**
 * @typedef {import('../../emulator/types').RecordedRequest} RecordedRequest
 * @typedef {import('../../emulator/types').EmulatedRender} EmulatedRender
 * @typedef {import('../../emulator/types').EmulatorConfig} EmulatorConfig
 * @typedef {{
 *   requests: (query?: {route?: string, since?: number}) => Promise<RecordedRequest[]>,
 *   reset: () => Promise<unknown>,
 *   config: (partial?: Partial<EmulatorConfig>) => Promise<EmulatorConfig>,
 *   fault: (route: string, fault: object, times?: number) => Promise<unknown>,
 *   clearFaults: () => Promise<unknown>,
 *   tokens: (all?: boolean) => Promise<unknown>,
 *   addToken: (account: {token: string, credits?: number, anonymous?: boolean, userId?: string}) => Promise<unknown>,
 *   expireToken: (token?: string) => Promise<unknown>,
 *   setCredits: (token: string, available: number) => Promise<unknown>,
 *   sessions: () => Promise<unknown>,
 *   renders: () => Promise<EmulatedRender[]>,
 *   health: () => Promise<unknown>,
 *   call: (method: string, p: string, body?: unknown) => Promise<any>,
 * }} EmulatorAdmin
 */

/**
 * The admin API of an emulator already listening at `baseUrl` (test/emulator/README.md): the one client of the
 * e2e suite and the benchmarks (bench/common.ts), whichever process started the emulator.
 * @param {string} baseUrl
 * @returns {{ baseUrl: string, admin: EmulatorAdmin }}
 */
function connectEmulator(baseUrl) {
  /** @type {EmulatorAdmin} */
  const admin = {
    requests: (q = {}) => {
      const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])).toString();
      return adminCall(baseUrl, 'GET', `/requests${qs ? `?${qs}` : ''}`);
    },
    reset: () => adminCall(baseUrl, 'POST', '/reset', {}),
    config: (partial) => (partial === undefined ? adminCall(baseUrl, 'GET', '/config') : adminCall(baseUrl, 'POST', '/config', partial)),
    fault: (route, fault, times = 1) => adminCall(baseUrl, 'POST', '/faults', { route, fault, times }),
    clearFaults: () => adminCall(baseUrl, 'POST', '/faults/clear', {}),
    tokens: (all = false) => adminCall(baseUrl, 'GET', `/tokens${all ? '?all=1' : ''}`),
    addToken: ({ token, credits, anonymous, userId }) => adminCall(baseUrl, 'POST', '/tokens', { token, credits, anonymous, userId }),
    expireToken: (token) => adminCall(baseUrl, 'POST', '/tokens/expire', token ? { token } : {}),
    setCredits: (token, available) => adminCall(baseUrl, 'POST', '/credits', { token, available }),
    sessions: () => adminCall(baseUrl, 'GET', '/sessions'),
    renders: () => adminCall(baseUrl, 'GET', '/renders'),
    health: () => adminCall(baseUrl, 'GET', '/health'),
    call: (method, p, body) => adminCall(baseUrl, method, p, body),
  };
  return { baseUrl, admin };
}

module.exports = { startEmulator, connectEmulator, REPO_ROOT };
