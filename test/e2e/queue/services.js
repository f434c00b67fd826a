'use strict';
// PostgreSQL and Redis from Debian's packages, on loopback, for n8n's queue mode. Each runs in the foreground as
// a child process of this test (its own process group), so stopping the test stops them; nothing is left behind.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { spawnGroup, stopGroup, freePort, waitForOutput } = require('../lib/proc');

/**
 * apt-get install, as root on a CI machine. Debian's packages start their own services on install (a `main`
 * PostgreSQL cluster on 5432, redis-server on 6379); a policy-rc.d that refuses every start keeps them from
 * running, since this suite starts its own servers and must leave nothing behind.
 */
function aptInstall(packages) {
  console.log(`     apt-get install ${packages.join(' ')}`);
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) fs.writeFileSync(policy, '#!/bin/sh\n# written by n8n-nodes-nemovideo test/e2e/queue while it installs packages\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300000 });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: ['ignore', 'ignore', 'pipe'], env, timeout: 600000 });
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
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

/** A throwaway PostgreSQL cluster owned by the `postgres` user, trust auth on 127.0.0.1, with a database `n8n`. */
async function startPostgres() {
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-queue-pg-'));
  // An interrupted run (SIGTERM, Ctrl-C: proc.js kills the server's group and exits) must not leave the cluster on disk.
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8'], { stdio: 'ignore' });
  const port = await freePort();
  const child = spawnGroup('runuser', ['-u', 'postgres', '--', path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'], { env: process.env });
  const psql = (sql, database = 'postgres') =>
    execFileSync(path.join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-At', '-F', '\t', '-c', sql], { stdio: 'pipe' }).toString();
  // The postmaster logs this once it accepts connections (after recovery of the fresh cluster).
  await waitForOutput(child, /database system is ready to accept connections/, { what: 'PostgreSQL', timeoutMs: 120000 });
  psql('create database n8n');
  return {
    port,
    pid: child.pid,
    /** Rows of a query on n8n's database, each an array of column texts. */
    query: (sql) => psql(sql, 'n8n').split('\n').filter(Boolean).map((line) => line.split('\t')),
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
  await waitForOutput(child, /Ready to accept connections/, { what: 'Redis', timeoutMs: 60000 });
  return {
    port,
    pid: child.pid,
    env: { QUEUE_BULL_REDIS_HOST: '127.0.0.1', QUEUE_BULL_REDIS_PORT: String(port) },
    stop: async () => stopGroup(child, 10000),
  };
}

module.exports = { startPostgres, startRedis };
