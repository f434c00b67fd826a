'use strict';
// PostgreSQL and Redis from Debian's packages, on loopback, for n8n's queue mode. Each runs in the foreground as
// a child process of this test (its own process group), so stopping the test stops them; nothing is left behind.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { spawnGroup, stopGroup, freePort, sleep } = require('../lib/proc');

function aptInstall(packages) {
  console.log(`     apt-get install ${packages.join(' ')}`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function postgresBin() {
  const find = () => {
    const root = '/usr/lib/postgresql';
    if (!fs.existsSync(root)) return undefined;
    const version = fs.readdirSync(root).sort().reverse().find((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')));
    return version && path.join(root, version, 'bin');
  };
  if (!find()) aptInstall(['postgresql']);
  const bin = find();
  if (!bin) throw new Error('PostgreSQL is not installed and apt-get did not install it');
  return bin;
}

function redisBin() {
  const find = () => ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p));
  if (!find()) aptInstall(['redis-server']);
  const bin = find();
  if (!bin) throw new Error('redis-server is not installed and apt-get did not install it');
  return bin;
}

async function waitFor(check, what, child, timeoutMs = 60000) {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (code ${child.exitCode}) before it was ready`);
    try {
      if (await check()) return;
    } catch {
      /* not ready */
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what} not ready within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** A throwaway PostgreSQL cluster owned by the `postgres` user, trust auth on 127.0.0.1, with a database `n8n`. */
async function startPostgres() {
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-queue-pg-'));
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8'], { stdio: 'ignore' });
  const port = await freePort();
  const child = spawnGroup('runuser', ['-u', 'postgres', '--', path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'], { env: process.env });
  let log = '';
  child.stdout.on('data', (b) => (log += b));
  child.stderr.on('data', (b) => (log += b));
  const psql = (sql) => execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql], { stdio: 'pipe' }).toString();
  await waitFor(() => (psql('select 1'), true), 'PostgreSQL', child).catch((e) => {
    throw new Error(`${e.message}\n${log.slice(-2000)}`);
  });
  psql('create database n8n');
  return {
    port,
    env: { DB_TYPE: 'postgresdb', DB_POSTGRESDB_HOST: '127.0.0.1', DB_POSTGRESDB_PORT: String(port), DB_POSTGRESDB_DATABASE: 'n8n', DB_POSTGRESDB_USER: 'postgres', DB_POSTGRESDB_PASSWORD: '' },
    stop: async () => {
      await stopGroup(child, 10000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** redis-server on 127.0.0.1 without persistence. */
async function startRedis() {
  const bin = redisBin();
  const port = await freePort();
  const child = spawnGroup(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { env: process.env });
  let log = '';
  child.stdout.on('data', (b) => (log += b));
  await waitFor(async () => log.includes('Ready to accept connections'), 'Redis', child).catch((e) => {
    throw new Error(`${e.message}\n${log.slice(-2000)}`);
  });
  return {
    port,
    env: { QUEUE_BULL_REDIS_HOST: '127.0.0.1', QUEUE_BULL_REDIS_PORT: String(port) },
    stop: async () => stopGroup(child, 10000),
  };
}

module.exports = { startPostgres, startRedis };
