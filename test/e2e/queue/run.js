#!/usr/bin/env node
'use strict';
// The package in n8n's queue mode: PostgreSQL and Redis on loopback, n8n main plus two workers (each with the
// package installed in its own .n8n/nodes, as separate machines would have it), the emulator, and 20 Photo to
// Video executions started at once through a webhook, on an anonymous credential whose first token the workers race for.
//   node test/e2e/queue/run.js      (QUEUE_RUNS=20 executions, QUEUE_RENDER_MS=5000)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n } = require('../lib/install');
const { N8nInstance, packRepo, missingPackageFiles } = require('../lib/n8n');
const { startEmulator } = require('../lib/emulator');
const { runTests, assert } = require('../lib/runner');
const { copySamplePhotos, videosIn } = require('../lib/examples');
const { probeVideo } = require('../lib/ffprobe');
const { startPostgres, startRedis } = require('./services');

const RUNS = Number(process.env.QUEUE_RUNS || 20);
const RENDER_MS = Number(process.env.QUEUE_RENDER_MS || 5000);
const WORKER_CONCURRENCY = 5;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-queue-'));
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const photosDir = path.join(work, 'photos');
const outDir = path.join(work, 'videos');

let pg;
let redis;
let emu;
let main;
const workers = [];
let credentialId;

function queueEnv() {
  return {
    ...pg.env,
    ...redis.env,
    EXECUTIONS_MODE: 'queue',
    OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
    // Binary data has to be readable by whichever process needs it: in the database, not one process's disk.
    N8N_DEFAULT_BINARY_DATA_MODE: 'database',
    N8N_RESTRICT_FILE_ACCESS_TO: work,
    N8N_LOG_LEVEL: 'info',
  };
}

function webhookWorkflow() {
  const node = (id, name, type, typeVersion, position, parameters, extra = {}) => ({ id: `9e1d2c3b-0000-4000-8000-${String(id).padStart(12, '0')}`, name, type, typeVersion, position, parameters, ...extra });
  const credentials = { nemoVideoApi: { id: credentialId, name: 'NemoVideo anonymous' } };
  return {
    id: 'queuePhotoToVideo',
    name: 'queue: photos to video',
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      node(1, 'Webhook', 'n8n-nodes-base.webhook', 2, [0, 0], { httpMethod: 'POST', path: 'nemovideo-queue', responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} }, { webhookId: '6f1c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f' }),
      node(2, 'Read Photos', 'n8n-nodes-base.readWriteFile', 1.1, [240, 0], { operation: 'read', fileSelector: `${photosDir}/*.jpg`, options: {} }),
      node(3, 'Photo to Video', 'n8n-nodes-nemovideo.nemoVideoPhotoToVideo', 1, [480, 0], { binaryProperties: 'data', grouping: 'all', prompt: 'A slideshow with smooth transitions', aspectRatio: '16:9', lengthSeconds: 6, pollIntervalSeconds: 2, options: {} }, { credentials }),
      node(4, 'Write Video', 'n8n-nodes-base.readWriteFile', 1.1, [720, 0], { operation: 'write', fileName: `=${outDir}/{{ $execution.id }}.mp4`, dataPropertyName: 'data', options: {} }),
    ],
    connections: {
      Webhook: { main: [[{ node: 'Read Photos', type: 'main', index: 0 }]] },
      'Read Photos': { main: [[{ node: 'Photo to Video', type: 'main', index: 0 }]] },
      'Photo to Video': { main: [[{ node: 'Write Video', type: 'main', index: 0 }]] },
    },
  };
}

async function fire(count) {
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const res = await fetch(`${main.url}/webhook/nemovideo-queue`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ index }), signal: AbortSignal.timeout(4 * 60_000) });
      const text = await res.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = { unreadable: text.slice(0, 300) };
      }
      return { status: res.status, json };
    }),
  );
  return { answers, seconds: (Date.now() - started) / 1000 };
}

const executionsBy = (proc) => new Set([...proc.output.matchAll(/Worker started execution (\S+)/g)].map((m) => m[1]));

async function startWorkers(count, install, tarball) {
  for (let i = workers.length; i < count; i++) {
    const worker = await N8nInstance.create({ install, name: `worker-${i + 1}`, env: queueEnv() });
    await worker.installPackage(tarball);
    worker.proc = await worker.startWorker({ concurrency: WORKER_CONCURRENCY });
    workers.push(worker);
  }
}

runTests(
  `n8n queue mode: main + 2 workers, ${RUNS} Photo to Video executions at once`,
  [
    {
      name: 'set up: PostgreSQL, Redis, the emulator, n8n main and two workers with the package',
      fn: async () => {
        const missing = missingPackageFiles();
        assert(!missing.length, `not built (run npm run build): ${missing.join(', ')}`);
        copySamplePhotos(photosDir, 3);
        fs.mkdirSync(outDir, { recursive: true });
        [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
        emu = await startEmulator({ ffmpeg: true, renderMs: RENDER_MS, config: { oneTokenPerClient: true, anonymousCredits: 1000000 } });
        const install = await ensureN8n();
        const tarball = await packRepo();
        main = await N8nInstance.create({ install, name: 'main', env: queueEnv() });
        await main.installPackage(tarball);
        [credentialId] = await main.importCredentials([{ name: 'NemoVideo anonymous', type: 'nemoVideoApi', data: { accessToken: '', baseUrl: emu.baseUrl } }]);
        const workflowId = await main.importWorkflow(webhookWorkflow());
        await main.cliOk(['publish:workflow', `--id=${workflowId}`]);
        await main.start();
        await startWorkers(2, install, tarball);
      },
    },
    {
      name: `${RUNS} executions at once: every one makes its MP4, both workers work, one anonymous token, no render twice`,
      fn: async () => {
        const { answers, seconds } = await fire(RUNS);
        const failed = answers.filter((a) => a.status !== 200 || a.json.status !== 'completed' && !a.json.fileName);
        assert(!failed.length, `${failed.length} of ${RUNS} executions failed: ${JSON.stringify(failed.slice(0, 3))}`);
        const videos = videosIn(outDir);
        assert(videos.length === RUNS, `${videos.length} MP4 files written, expected ${RUNS}`);
        for (const video of videos) {
          const info = probeVideo(video);
          assert(info.codec === 'h264' && Math.abs(info.durationSeconds - 6) < 0.5, `${path.basename(video)}: ${JSON.stringify(info)}`);
        }
        const byWorker = workers.map((worker) => executionsBy(worker.proc).size);
        console.log(`     ${RUNS} executions in ${seconds.toFixed(1)} s; per worker: ${byWorker.join(' / ')}`);
        assert(byWorker.every((n) => n > 0), `a worker took no execution: ${byWorker.join(' / ')}`);
        assert(byWorker.reduce((a, b) => a + b, 0) === RUNS, `workers started ${byWorker.join('+')} executions, expected ${RUNS}`);

        const tokens = await emu.admin.tokens();
        assert(tokens.length === 1, `${tokens.length} anonymous tokens were issued, expected 1 (the workers share the credential)`);
        const tokenCalls = (await emu.admin.requests()).filter((r) => r.route === 'token');
        console.log(`     token calls: ${tokenCalls.map((r) => r.status).join(', ')} (one token issued; a 429 is a worker that lost the race and read the winner's token)`);
        const stored = (await main.exportCredentials()).find((c) => c.id === credentialId);
        assert(stored.data.sessionToken === tokens[0].token, 'the credential in the database does not hold the issued token');

        const starts = (await emu.admin.requests()).filter((r) => r.route === 'renderStart' && r.status === 200);
        const perSession = new Map();
        for (const r of starts) perSession.set(r.json.sessionId, (perSession.get(r.json.sessionId) || 0) + 1);
        assert(perSession.size === RUNS, `${perSession.size} sessions rendered, expected ${RUNS}`);
        assert([...perSession.values()].every((n) => n === 1), 'a render was started twice for one execution');
      },
    },
    {
      name: 'the race for the first token: both workers ask at once, one token is issued, no execution fails',
      fn: async () => {
        // A fresh credential (no token, no client id) and the first token answer held back 2 s, so that the
        // second worker asks before the first has stored anything.
        const [fresh] = await main.importCredentials([{ name: 'NemoVideo race', type: 'nemoVideoApi', data: { accessToken: '', baseUrl: emu.baseUrl } }]);
        credentialId = fresh;
        const raceWorkflow = { ...webhookWorkflow(), id: 'queueTokenRace', name: 'queue: token race' };
        raceWorkflow.nodes[0] = { ...raceWorkflow.nodes[0], parameters: { ...raceWorkflow.nodes[0].parameters, path: 'nemovideo-race' }, webhookId: '7a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d' };
        await main.cliOk(['import:workflow', `--input=${main.writeJson('race', raceWorkflow)}`]);
        await main.cliOk(['publish:workflow', '--id=queueTokenRace']);
        await main.stop();
        await main.start(); // picks up the new webhook
        const before = (await emu.admin.tokens()).length;
        await emu.admin.fault('token', { kind: 'slow', delayMs: 2000 }, 1);
        const startedBy = workers.map((worker) => executionsBy(worker.proc).size);
        const answers = await Promise.all(
          Array.from({ length: 10 }, async () => {
            const res = await fetch(`${main.url}/webhook/nemovideo-race`, { method: 'POST', signal: AbortSignal.timeout(4 * 60_000) });
            return { status: res.status, text: (await res.text()).slice(0, 300) };
          }),
        );
        const failed = answers.filter((a) => a.status !== 200);
        assert(!failed.length, `${failed.length} of 10 executions failed: ${JSON.stringify(failed.slice(0, 2))}`);
        const byWorker = workers.map((worker, i) => executionsBy(worker.proc).size - startedBy[i]);
        assert(byWorker.every((n) => n > 0), `not both workers ran executions: ${byWorker.join(' / ')}`);
        const calls = (await emu.admin.requests()).filter((r) => r.route === 'token').slice(-2);
        const issued = (await emu.admin.tokens()).length - before;
        console.log(`     token calls during the race: ${calls.map((r) => r.status).join(', ')}; tokens issued: ${issued}; executions per worker: ${byWorker.join(' / ')}`);
        assert(calls.length === 2 && calls.some((r) => r.status === 429), 'both workers did not ask for the token at once: the race did not happen');
        assert(issued === 1, `${issued} tokens issued for one credential, expected 1`);
      },
    },
    {
      name: 'throughput: executions per minute with one worker and with two (fixed render time)',
      fn: async () => {
        fs.rmSync(outDir, { recursive: true, force: true });
        fs.mkdirSync(outDir);
        const two = await fire(RUNS);
        assert(two.answers.every((a) => a.status === 200), 'an execution failed with two workers');
        const second = workers.pop();
        await second.dispose();
        const one = await fire(RUNS);
        assert(one.answers.every((a) => a.status === 200), 'an execution failed with one worker');
        const rate = (r) => (RUNS / r.seconds) * 60;
        console.log(`     ${RUNS} executions, renders ${RENDER_MS / 1000} s, worker concurrency ${WORKER_CONCURRENCY}: two workers ${two.seconds.toFixed(1)} s = ${rate(two).toFixed(0)}/min; one worker ${one.seconds.toFixed(1)} s = ${rate(one).toFixed(0)}/min`);
        console.log(`QUEUE_SUMMARY ${JSON.stringify({ runs: RUNS, renderMs: RENDER_MS, workerConcurrency: WORKER_CONCURRENCY, twoWorkersSeconds: two.seconds, oneWorkerSeconds: one.seconds, twoWorkersPerMinute: Math.round(rate(two)), oneWorkerPerMinute: Math.round(rate(one)) })}`);
      },
    },
  ],
  {
    afterAll: async () => {
      if (process.env.QUEUE_DEBUG) {
        for (const p of [main, ...workers].filter(Boolean).flatMap((i) => i.processes)) console.log(`--- ${p.kind} ---\n${p.output.slice(-3000)}`);
      }
      for (const worker of workers) await worker.dispose();
      if (main) await main.dispose();
      if (emu) await emu.stop();
      if (redis) await redis.stop();
      if (pg) await pg.stop();
    },
  },
);
