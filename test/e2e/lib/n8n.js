'use strict';
// One throwaway n8n instance (its own N8N_USER_FOLDER) on a cached n8n install (lib/install.js), run with that
// install's Node.
//
//   const n8n = await N8nInstance.create();             // ensures Node 24 + n8n, makes the user folder
//   await n8n.installPackage(await packageTarball());    // npm pack of the repo (or $NEMOVIDEO_E2E_TARBALL) -> ~/.n8n/nodes
//   await n8n.importCredentials([{ id, name, type, data: {...} }]);
//   await n8n.importWorkflow(workflowJson);
//   const r = await n8n.execute(workflowJson.id);        // { exitCode, result, stdout, stderr, durationMs }
//   const creds = await n8n.exportCredentials();         // decrypted, as n8n stored them
//   await n8n.start();  ... n8n.url ...  await n8n.stop();
//   await n8n.dispose();                                 // stops everything, removes the user folder
//
// Queue mode (several processes on one database): pass the same `env` (DB_*, QUEUE_*, EXECUTIONS_MODE=queue)
// and `encryptionKey` to several instances, then start() one main and startWorker() on others.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { ensureN8n, run, log } = require('./install');
const { spawnGroup, stopGroup, freePort, runCapture, cleanEnv, sleep } = require('./proc');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const PACKAGE_NAME = 'n8n-nodes-nemovideo';
const DEFAULT_ENCRYPTION_KEY = 'nemovideo-e2e-fixed-encryption-key-0001';
const CLI_TIMEOUT_MS = Number(process.env.NEMOVIDEO_E2E_CLI_TIMEOUT_MS || 180000);

const BASE_ENV = {
  N8N_DIAGNOSTICS_ENABLED: 'false',
  N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
  N8N_PERSONALIZATION_ENABLED: 'false',
  N8N_TEMPLATES_ENABLED: 'false',
  N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
  DB_TYPE: 'sqlite',
  // Keep at info: at warn, `n8n execute` prints no result and still exits 0.
  N8N_LOG_LEVEL: 'info',
  N8N_HIDE_USAGE_PAGE: 'true',
  N8N_SECURE_COOKIE: 'false',
  N8N_LISTEN_ADDRESS: '127.0.0.1',
  N8N_HOST: '127.0.0.1',
  N8N_PROTOCOL: 'http',
  N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
  EXTERNAL_FRONTEND_HOOKS_URLS: '',
  N8N_DEV_RELOAD: 'false',
};

function randomId(len = 16) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (const b of crypto.randomBytes(len)) s += abc[b % abc.length];
  return s;
}

/**
 * Cuts n8n's JSON result out of `n8n execute --rawOutput` stdout: the block from a line that is exactly `{`
 * to the next line that is exactly `}` (log lines surround it). Returns undefined when there is none.
 */
function parseExecuteOutput(stdout) {
  const lines = stdout.split(/\r?\n/);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '{') continue;
    for (let j = i + 1; j < lines.length; j++) {
      if (lines[j] === '}') {
        blocks.push(lines.slice(i, j + 1).join('\n'));
        i = j;
        break;
      }
    }
  }
  for (let k = blocks.length - 1; k >= 0; k--) {
    try {
      return JSON.parse(blocks[k]);
    } catch {
      /* try an earlier block */
    }
  }
  return undefined;
}

/** A run n8n printed whole after it ended, with its final status. */
function finishedRun(result) {
  return Boolean(result && ['success', 'error'].includes(result.status) && result.stoppedAt && result.data && result.data.resultData);
}

/** The error message of a failed run (from the parsed run, else the text after n8n's last "Execution error:"). */
function executionError(result, stdout = '') {
  const err = result && result.data && result.data.resultData && result.data.resultData.error;
  if (err) return err.message || err.description || JSON.stringify(err).slice(0, 500);
  const i = stdout.lastIndexOf('Execution error:');
  if (i < 0) return undefined;
  return stdout.slice(i).split('\n').slice(1).filter((l) => l.trim() && !/^=+$/.test(l.trim())).slice(0, 3).join('\n') || undefined;
}

/** The json of the items a node output in a parsed run (first run, given output index). [] when it did not run. */
function nodeOutput(result, nodeName, { run = 0, output = 0 } = {}) {
  const runs = result && result.data && result.data.resultData && result.data.resultData.runData[nodeName];
  const items = runs && runs[run] && runs[run].data && runs[run].data.main && runs[run].data.main[output];
  return (items || []).map((i) => i.json);
}

/** Terminal colour codes (ESC [ … m) in n8n's log lines. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** n8n's own report of a community package it failed to load (error lines), from CLI/server output. */
function packageLoadErrors(output, name = PACKAGE_NAME) {
  const plain = output.replace(ANSI_COLOUR, '');
  const out = [];
  const re = new RegExp(`Failed to load package "${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^\n]*`, 'g');
  for (const m of plain.matchAll(re)) {
    const msg = /"message":\s*"((?:[^"\\]|\\.)*)"/.exec(m[0]);
    out.push(msg ? JSON.parse(`"${msg[1]}"`).split('\n')[0] : m[0].slice(0, 500));
  }
  return out;
}

/** Files that package.json's n8n section names but that are not built (a package n8n would refuse to load). */
function missingPackageFiles(root = REPO_ROOT) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const files = [...((pkg.n8n && pkg.n8n.nodes) || []), ...((pkg.n8n && pkg.n8n.credentials) || [])];
  return files.filter((f) => !fs.existsSync(path.join(root, f)));
}

/** Items (json and binary metadata) of the last node executed. */
function lastNodeItems(result) {
  const rd = result && result.data && result.data.resultData;
  if (!rd || !rd.lastNodeExecuted) return [];
  const runs = rd.runData[rd.lastNodeExecuted] || [];
  const last = runs[runs.length - 1];
  return (last && last.data && last.data.main && last.data.main[0]) || [];
}

/**
 * Builds (optionally) and packs the repo with `npm pack`; returns the tarball's absolute path.
 * @param {{ root?: string, build?: boolean, destDir?: string }} [options]
 * @returns {Promise<string>}
 */
async function packRepo({ root = REPO_ROOT, build = false, destDir } = {}) {
  const t0 = Date.now();
  if (build || !fs.existsSync(path.join(root, 'dist'))) {
    await run('npm', ['run', 'build', '--silent'], { cwd: root, env: cleanEnv(), label: 'npm run build', timeoutMs: 600000 });
  }
  const dest = destDir || fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-e2e-pack-'));
  if (!destDir) process.once('exit', () => fs.rmSync(dest, { recursive: true, force: true })); // the tarball lives as long as this process
  fs.mkdirSync(dest, { recursive: true });
  // --ignore-scripts: prepack would build again; the build above (or the caller's) already made dist/.
  const r = await runCapture('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: root,
    env: cleanEnv(),
    timeoutMs: 120000,
  });
  if (r.code !== 0) throw new Error(`npm pack failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  const info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  const tarball = path.join(dest, info[0].filename);
  log(`packed ${info[0].name}@${info[0].version}: ${tarball} (${info[0].entryCount} files, ${(Date.now() - t0) / 1000} s)`);
  return tarball;
}

/**
 * The package tarball under test: $NEMOVIDEO_E2E_TARBALL when set (run-all.js packs the repo once, so every suite
 * on every n8n line installs the same tarball, whatever happens to dist/ meanwhile), else the repo packed now.
 */
async function packageTarball({ build = process.env.NEMOVIDEO_E2E_BUILD === '1' } = {}) {
  const given = process.env.NEMOVIDEO_E2E_TARBALL;
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`NEMOVIDEO_E2E_TARBALL=${given}: no such file`);
    return path.resolve(given);
  }
  if (!build && fs.existsSync(path.join(REPO_ROOT, 'dist'))) {
    const missing = missingPackageFiles();
    if (missing.length) throw new Error(`package.json's n8n section names files that are not built (n8n would refuse the whole package; run npm run build): ${missing.join(', ')}`);
  }
  return packRepo({ build });
}

class N8nInstance {
  /**
   * @param {{install: import('./install').N8nInstall, userFolder?: string, encryptionKey?: string, env?: NodeJS.ProcessEnv,
   *          keep?: boolean, name?: string, verbose?: boolean}} opts
   */
  constructor(opts) {
    this.install = opts.install;
    this.name = opts.name || 'n8n';
    this.userFolder = opts.userFolder || fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-e2e-n8n-'));
    this.ownsFolder = !opts.userFolder;
    this.encryptionKey = opts.encryptionKey || DEFAULT_ENCRYPTION_KEY;
    this.extraEnv = opts.env || {};
    this.keep = opts.keep ?? process.env.NEMOVIDEO_E2E_KEEP === '1';
    this.verbose = opts.verbose ?? process.env.NEMOVIDEO_E2E_VERBOSE === '1';
    if (this.ownsFolder && !this.keep) {
      // Removed by dispose(); this covers an interrupted run (Ctrl-C, SIGTERM: proc.js turns those into exit).
      process.once('exit', () => fs.rmSync(this.userFolder, { recursive: true, force: true }));
    }
    this.nodesDir = path.join(this.userFolder, '.n8n', 'nodes');
    this.workDir = path.join(this.userFolder, 'e2e');
    fs.mkdirSync(this.workDir, { recursive: true });
    this.processes = []; // { kind, child, logFile }
    this.port = undefined;
    this.url = undefined;
    this.brokerPort = undefined;
    this.seq = 0;
  }

  static async create(opts = {}) {
    const install = opts.install || (await ensureN8n());
    const inst = new N8nInstance({ ...opts, install });
    inst.brokerPort = await freePort();
    inst.port = await freePort();
    return inst;
  }

  /** @param {NodeJS.ProcessEnv} [extra] */
  env(extra = {}) {
    return cleanEnv({
      ...BASE_ENV,
      N8N_USER_FOLDER: this.userFolder,
      N8N_ENCRYPTION_KEY: this.encryptionKey,
      N8N_RUNNERS_BROKER_PORT: String(this.brokerPort),
      N8N_PORT: String(this.port || 5678),
      // n8n 2.x confines the Read/Write Files node to ~/.n8n-files unless told otherwise.
      N8N_RESTRICT_FILE_ACCESS_TO: path.join(this.userFolder, 'files'),
      ...this.install.env, // what this n8n line needs (lib/install.js LINES)
      ...this.extraEnv,
      ...extra,
    });
  }

  /**
   * Runs an n8n CLI command to completion with the install's Node.
   * @param {string[]} args
   * @param {{ timeoutMs?: number, env?: NodeJS.ProcessEnv }} [options]
   */
  async cli(args, { timeoutMs = CLI_TIMEOUT_MS, env } = {}) {
    // Each CLI process starts its own task broker: its own port, so CLI calls may run beside each other and `start`.
    const brokerPort = await freePort();
    const r = await runCapture(this.install.node, [this.install.bin, ...args], {
      cwd: this.userFolder,
      env: this.env({ N8N_RUNNERS_BROKER_PORT: String(brokerPort), ...env }),
      timeoutMs,
      onStdout: this.verbose ? (s) => process.stderr.write(`[${this.name} ${args[0]}] ${s}`) : undefined,
      onStderr: this.verbose ? (s) => process.stderr.write(`[${this.name} ${args[0]}] ${s}`) : undefined,
    });
    if (r.timedOut) throw new Error(`n8n ${args.join(' ')} timed out after ${timeoutMs} ms\n${tail(r)}`);
    return r;
  }

  /**
   * @param {string[]} args
   * @param {{ timeoutMs?: number, env?: NodeJS.ProcessEnv }} [opts]
   */
  async cliOk(args, opts) {
    const r = await this.cli(args, opts);
    if (r.code !== 0) throw new Error(`n8n ${args.join(' ')} failed (exit ${r.code}):\n${tail(r)}`);
    return r;
  }

  /** Installs a package tarball into $N8N_USER_FOLDER/.n8n/nodes as a real folder, the way users get it. */
  async installPackage(tarball) {
    if (!tarball || !fs.existsSync(tarball)) throw new Error(`package tarball not found: ${tarball}`);
    const t0 = Date.now();
    fs.mkdirSync(this.nodesDir, { recursive: true });
    const pj = path.join(this.nodesDir, 'package.json');
    if (!fs.existsSync(pj)) fs.writeFileSync(pj, JSON.stringify({ name: 'installed-nodes', private: true, dependencies: {} }, null, 2));
    await run(
      'npm',
      ['install', '--prefix', this.nodesDir, '--omit=dev', '--omit=peer', '--no-audit', '--no-fund', path.resolve(tarball)],
      { cwd: this.nodesDir, env: cleanEnv(), label: 'npm install package', timeoutMs: 300000, logFile: path.join(this.workDir, 'npm-install-package.log') },
    );
    const installed = path.join(this.nodesDir, 'node_modules', PACKAGE_NAME);
    if (fs.lstatSync(installed).isSymbolicLink()) throw new Error(`${installed} is a symlink; it must be a real install`);
    if (fs.existsSync(path.join(installed, 'node_modules', 'n8n-workflow'))) {
      throw new Error(`${installed} carries its own n8n-workflow: n8n would load two copies`);
    }
    log(`installed ${path.basename(tarball)} into ${this.nodesDir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return installed;
  }

  writeJson(prefix, data) {
    const file = path.join(this.workDir, `${prefix}-${++this.seq}.json`);
    fs.writeFileSync(file, JSON.stringify(data, null, 2));
    return file;
  }

  /** Imports credentials given as plain data ({ id?, name, type, data: {...} }); n8n encrypts them. Returns ids. */
  async importCredentials(credentials) {
    const list = (Array.isArray(credentials) ? credentials : [credentials]).map((c) => ({ id: randomId(16), ...c }));
    await this.cliOk(['import:credentials', `--input=${this.writeJson('credentials', list)}`]);
    return list.map((c) => c.id);
  }

  /** Imports one workflow (or an array). Each needs an id of at most 21 characters; one is made if missing. */
  async importWorkflow(workflow) {
    const list = (Array.isArray(workflow) ? workflow : [workflow]).map((w) => {
      const wf = { active: false, settings: {}, connections: {}, ...w, id: w.id || randomId(16) };
      if (wf.id.length > 21) throw new Error(`workflow id "${wf.id}" is longer than 21 characters`);
      return wf;
    });
    await this.cliOk(['import:workflow', `--input=${this.writeJson('workflow', list.length === 1 ? list[0] : list)}`]);
    return Array.isArray(workflow) ? list.map((w) => w.id) : list[0].id;
  }

  /**
   * `n8n execute --id=<id> --rawOutput`; result = the parsed JSON block of the output (undefined if none). Throws
   * when n8n exits 0 without printing the run: every caller reads it, and its absence means the output was cut.
   * @param {string} workflowId
   * @param {{ timeoutMs?: number, env?: NodeJS.ProcessEnv }} [options]
   */
  async execute(workflowId, { timeoutMs = CLI_TIMEOUT_MS, env } = {}) {
    const r = await this.cli(['execute', `--id=${workflowId}`, '--rawOutput'], { timeoutMs, env });
    const result = parseExecuteOutput(r.stdout);
    if (r.code === 0 && !result) {
      throw new Error(`n8n execute exited 0 but printed no run as JSON (stdout ${r.stdout.length} characters)\n${tail(r)}`);
    }
    // n8n 1.123 on Node 22 now and then dies by SIGSEGV in its teardown, after it printed the ended run whole (seen
    // twice, in two sessions' runs of examples@1.123 on a loaded machine; never before the run was printed): the
    // run is then what n8n did, and the tests check its effects (the emulator's requests, what n8n stored) as always.
    const crashedAfterRun = r.signal === 'SIGSEGV' && finishedRun(result);
    if (crashedAfterRun) console.log(`     n8n execute: SIGSEGV after it printed the finished run (status ${result.status}); the run is used`);
    const exitCode = crashedAfterRun ? (result.status === 'success' ? 0 : 1) : r.code;
    return {
      exitCode,
      signal: crashedAfterRun ? null : r.signal,
      crashedAfterRun,
      result,
      // A signal is not n8n's own ending (a crash, or something outside killed it): say so, with what it printed.
      errorMessage: r.signal && !crashedAfterRun ? `n8n execute ended by ${r.signal}, not by n8n itself\n${tail(r)}` : executionError(result, r.stdout),
      stdout: r.stdout,
      stderr: r.stderr,
      durationMs: r.durationMs,
    };
  }

  /** All credentials as n8n stores them, decrypted (so tests can read tokens n8n kept in hidden fields). */
  async exportCredentials() {
    const file = path.join(this.workDir, `export-credentials-${++this.seq}.json`);
    await this.cliOk(['export:credentials', '--all', '--decrypted', `--output=${file}`]);
    const data = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.rmSync(file, { force: true });
    return data;
  }

  async exportWorkflows() {
    const file = path.join(this.workDir, `export-workflows-${++this.seq}.json`);
    await this.cliOk(['export:workflow', '--all', `--output=${file}`]);
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  }

  /**
   * Starts a long-running n8n process and waits until `healthUrl` answers 200.
   * kind: 'start' (main + editor) | 'worker' | 'webhook'.
   * @param {'start' | 'worker' | 'webhook'} kind
   * @param {string[]} args
   * @param {{ env?: NodeJS.ProcessEnv, healthUrl?: string, timeoutMs?: number }} [options]
   */
  async spawnServer(kind, args, { env, healthUrl, timeoutMs = 180000 } = {}) {
    const logFile = path.join(this.workDir, `${kind}-${++this.seq}.log`);
    const logStream = fs.createWriteStream(logFile);
    const t0 = Date.now();
    const child = spawnGroup(this.install.node, [this.install.bin, ...args], { cwd: this.userFolder, env: this.env(env) });
    const proc = { kind, child, logFile, output: '' };
    this.processes.push(proc);
    const onData = (b) => {
      logStream.write(b);
      proc.output = (proc.output + b).slice(-200000);
      if (this.verbose) process.stderr.write(`[${this.name} ${kind}] ${b}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.exited.then(() => logStream.end());
    try {
      for (;;) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`n8n ${kind} exited (code ${child.exitCode}, signal ${child.signalCode}) before it was healthy`);
        }
        if (Date.now() - t0 > timeoutMs) throw new Error(`n8n ${kind} not healthy at ${healthUrl} within ${timeoutMs} ms`);
        try {
          const res = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) });
          if (res.status === 200) break;
        } catch {
          /* not listening yet */
        }
        await sleep(250);
      }
    } catch (e) {
      await stopGroup(child, 3000);
      throw new Error(`${e.message}\n--- last output (${logFile}) ---\n${proc.output.slice(-4000)}`);
    }
    proc.startMs = Date.now() - t0;
    log(`n8n ${kind} healthy in ${(proc.startMs / 1000).toFixed(1)} s (${healthUrl})`);
    return proc;
  }

  /**
   * `n8n start`: main process with the editor on 127.0.0.1:<free port>. Waits for /healthz/readiness (database
   * connected and migrated, REST API up); the webhooks of active workflows come later: see waitForWebhook().
   * @param {{ port?: number, timeoutMs?: number, env?: NodeJS.ProcessEnv }} [options]
   */
  async start({ port, timeoutMs, env } = {}) {
    if (this.url) throw new Error('already started');
    this.port = port || this.port || (await freePort());
    const url = `http://127.0.0.1:${this.port}`;
    const proc = await this.spawnServer('start', ['start'], { env, healthUrl: `${url}/healthz/readiness`, timeoutMs });
    this.url = url;
    this.mainProcess = proc;
    return { url, startMs: proc.startMs };
  }

  /**
   * Waits until the production webhook `webhookPath` (for `method`) is registered on this main process; resolves the
   * milliseconds waited. n8n 2.41 answers /healthz/readiness before it has registered the webhooks of active
   * workflows (404 "The requested webhook … is not registered" meanwhile: ~0.5 s idle, seconds under load), so a
   * test that calls a webhook waits for this, not for readiness. The probe is a CORS preflight (OPTIONS with an
   * Origin): n8n looks the webhook up as it does for the call (LiveWebhooks.findAccessControlOptions -> findWebhook)
   * and answers "… is not registered" (404, or 500 from the preflight) until it is registered, 204 after, without
   * starting an execution.
   */
  async waitForWebhook(webhookPath, { method = 'POST', timeoutMs = 120000 } = {}) {
    if (!this.url) throw new Error(`n8n ${this.name} is not started: no webhook to wait for`);
    const t0 = Date.now();
    let last = 'no answer';
    for (;;) {
      const main = this.mainProcess && this.mainProcess.child;
      if (main && (main.exitCode !== null || main.signalCode !== null)) {
        throw new Error(`n8n ${this.name} exited (code ${main.exitCode}) before webhook ${method} ${webhookPath} was registered\n${this.mainProcess.output.slice(-3000)}`);
      }
      try {
        const res = await fetch(`${this.url}/webhook/${webhookPath}`, {
          method: 'OPTIONS',
          headers: { origin: this.url, 'access-control-request-method': method },
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        last = `HTTP ${res.status} ${text.slice(0, 200)}`;
        if (res.ok) return Date.now() - t0;
        // Not yet: 404 from the method lookup, 500 (an HTML page) when the preflight's own lookup throws.
        if (!/is not registered/.test(text)) throw new Error(`webhook ${method} ${webhookPath}: the registration probe got ${last}`);
      } catch (e) {
        if (/registration probe/.test(e.message)) throw e;
        last = String(e.message || e);
      }
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`webhook ${method} ${webhookPath} not registered on n8n ${this.name} within ${timeoutMs} ms (last probe: ${last})\n${this.mainProcess ? this.mainProcess.output.slice(-3000) : ''}`);
      }
      await sleep(100); // poll interval of the probe above; the bound is timeoutMs
    }
  }

  /**
   * `n8n worker` (queue mode): health checks on a free port; waits until it takes jobs. Returns the process record.
   * @param {{ concurrency?: number, env?: NodeJS.ProcessEnv, timeoutMs?: number }} [options]
   */
  async startWorker({ concurrency = 10, env, timeoutMs } = {}) {
    const healthPort = await freePort();
    const brokerPort = await freePort();
    return this.spawnServer('worker', ['worker', `--concurrency=${concurrency}`], {
      env: { QUEUE_HEALTH_CHECK_ACTIVE: 'true', QUEUE_HEALTH_CHECK_PORT: String(healthPort), N8N_RUNNERS_BROKER_PORT: String(brokerPort), ...env },
      // Readiness, not /healthz: the worker server answers /healthz as soon as it listens, readiness only once the
      // worker takes jobs from the queue (n8n 2.41 scaling/worker-server.js: markAsReady() after setupWorker()).
      healthUrl: `http://127.0.0.1:${healthPort}/healthz/readiness`,
      timeoutMs,
    });
  }

  /** Stops every process this instance started (whole process groups). */
  async stop() {
    const procs = this.processes.splice(0);
    await Promise.all(procs.map((p) => stopGroup(p.child, 15000)));
    this.url = undefined;
    this.mainProcess = undefined;
    this.port = await freePort(); // a later start() must not race the old socket's TIME_WAIT
  }

  async dispose() {
    await this.stop();
    if (this.ownsFolder && !this.keep) fs.rmSync(this.userFolder, { recursive: true, force: true });
    else log(`kept n8n user folder ${this.userFolder}`);
  }
}

function tail(r) {
  return `--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`;
}

module.exports = {
  N8nInstance,
  packRepo,
  packageTarball,
  parseExecuteOutput,
  executionError,
  nodeOutput,
  lastNodeItems,
  packageLoadErrors,
  missingPackageFiles,
  randomId, BASE_ENV, REPO_ROOT, PACKAGE_NAME };
