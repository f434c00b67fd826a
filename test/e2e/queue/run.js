#!/usr/bin/env node
'use strict';
// The package in n8n's queue mode: PostgreSQL and Redis from Debian's packages on loopback, n8n main plus two
// workers of the same cached n8n install (each with the package installed in its own .n8n/nodes, as separate
// machines would have it), the emulator enforcing one anonymous token per client id, and Photo to Video
// executions started through a webhook: the photos are POSTed to the main process (multipart), the video comes
// back as the webhook's answer. So the uploads travel main -> worker and the MP4 worker -> main through n8n's
// own binary store (queue mode's default, `database`), nothing of ours.
//
//   node test/e2e/queue/run.js
//   QUEUE_RUNS=20  QUEUE_RENDER_MS=5000  QUEUE_CONCURRENCY=5  QUEUE_DEBUG=1 (print the n8n logs' tails at the end)
//   NEMOVIDEO_E2E_TARBALL=<tgz> (install that package instead of packing the repo)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n } = require('../lib/install');
const { N8nInstance, packageTarball, packageLoadErrors, PACKAGE_NAME } = require('../lib/n8n');
const { startEmulator } = require('../lib/emulator');
const { runTests, assert } = require('../lib/runner');
const { SAMPLE_PHOTOS } = require('../lib/examples');
const { probeVideo } = require('../lib/ffprobe');
const { startPostgres, startRedis } = require('./services');

const RUNS = Number(process.env.QUEUE_RUNS || 20);
const RENDER_MS = Number(process.env.QUEUE_RENDER_MS || 5000);
const WORKER_CONCURRENCY = Number(process.env.QUEUE_CONCURRENCY || 5);
const VIDEO_SECONDS = 6;
/** Fresh credentials (and workflows) for the first-token races: a pair that lands on one worker is run again. */
const RACE_POOL = 5;
let nextRace = 1;
const PHOTOS = fs.readdirSync(SAMPLE_PHOTOS).filter((n) => n.endsWith('.jpg')).sort().slice(0, 3).map((n) => ({ name: n, bytes: fs.readFileSync(path.join(SAMPLE_PHOTOS, n)) }));

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-queue-'));
process.once('exit', () => {
  if (process.env.NEMOVIDEO_E2E_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
});

let pg;
let redis;
let emu;
let main;
const workers = [];
const flows = {}; // key -> { path, workflowId, credentialId }

/**
 * What every process gets: queue mode, the shared database and queue. Nothing for the package. The binary data
 * mode is left to n8n: in queue mode n8n 2.41 defaults it to `database` (n8n-core BinaryDataConfig:
 * `mode ??= executions.mode === 'queue' ? 'database' : 'filesystem'`), which every process can read.
 */
function queueEnv() {
  return { ...pg.env, ...redis.env, EXECUTIONS_MODE: 'queue', N8N_LOG_LEVEL: 'info' };
}

function workflow(key, credentialId, webhookId, { respondAtOnce = false, options = {} } = {}) {
  const node = (n, name, type, typeVersion, position, parameters, extra = {}) => ({ id: `9e1d2c3b-0000-4000-8000-${String(n).padStart(12, '0')}`, name, type, typeVersion, position, parameters, ...extra });
  return {
    id: `queue${key}`.slice(0, 21),
    name: `queue e2e: ${key}`,
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      // The photos arrive as a multipart upload; the answer is the Photo to Video node's MP4.
      node(1, 'Webhook', 'n8n-nodes-base.webhook', 2, [0, 0], respondAtOnce
        ? { httpMethod: 'POST', path: `nemovideo-${key}`, responseMode: 'onReceived', options: {} }
        : { httpMethod: 'POST', path: `nemovideo-${key}`, responseMode: 'lastNode', responseData: 'firstEntryBinary', responseBinaryPropertyName: 'data', options: {} }, { webhookId }),
      node(2, 'Photo to Video', `${PACKAGE_NAME}.nemoVideoPhotoToVideo`, 1, [240, 0], { binaryProperties: '*', grouping: 'all', prompt: 'A slideshow with smooth transitions', aspectRatio: '16:9', lengthSeconds: VIDEO_SECONDS, pollIntervalSeconds: 2, options }, { credentials: { nemoVideoApi: { id: credentialId, name: `NemoVideo ${key}` } } }),
    ],
    connections: { Webhook: { main: [[{ node: 'Photo to Video', type: 'main', index: 0 }]] } },
  };
}

/**
 * @typedef {{ status: number, type?: string, bytes?: number, seconds?: number, file?: string, text?: string }} WebhookAnswer
 *   `file`: the MP4 kept (a 200 video answer); `text`: the start of any other answer, or the fetch error.
 */

/**
 * POSTs the sample photos to a webhook `count` times at once; keeps each answer's MP4 in `work`.
 * @param {string} key
 * @param {number} count
 * @returns {Promise<{ answers: WebhookAnswer[], seconds: number }>}
 */
async function fire(key, count) {
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const form = new FormData();
      PHOTOS.forEach((p, n) => form.append(`photo${n + 1}`, new Blob([p.bytes], { type: 'image/jpeg' }), p.name));
      try {
        const res = await fetch(`${main.url}/webhook/${flows[key].path}`, { method: 'POST', body: form, signal: AbortSignal.timeout(4 * 60_000) });
        const body = Buffer.from(await res.arrayBuffer());
        const type = res.headers.get('content-type') || '';
        /** @type {WebhookAnswer} */
        const answer = { status: res.status, type, bytes: body.length, seconds: (Date.now() - started) / 1000 };
        if (res.status === 200 && type.startsWith('video/mp4')) {
          answer.file = path.join(work, `${key}-${Date.now()}-${i}.mp4`);
          fs.writeFileSync(answer.file, body);
        } else answer.text = body.toString('utf8').slice(0, 400);
        return answer;
      } catch (e) {
        return { status: 0, text: String(e) };
      }
    }),
  );
  return { answers, seconds: (Date.now() - started) / 1000 };
}

const bad = (answers) => answers.filter((a) => a.status !== 200 || !a.file);

/** Starts one execution of a webhook that answers at once (the photos POSTed as in fire()); returns the HTTP status. */
async function start(key) {
  const form = new FormData();
  PHOTOS.forEach((p, n) => form.append(`photo${n + 1}`, new Blob([p.bytes], { type: 'image/jpeg' }), p.name));
  const res = await fetch(`${main.url}/webhook/${flows[key].path}`, { method: 'POST', body: form, signal: AbortSignal.timeout(60_000) });
  await res.arrayBuffer();
  return res.status;
}

/**
 * Waits until a workflow has `count` finished executions in PostgreSQL (polled: n8n pushes nothing to a test), up
 * to 4 minutes. A worker saves the static data before it records the execution's end (n8n 2.41
 * execution-lifecycle-hooks.js hookFunctionsSaveWorker), so a finished execution's static data is saved.
 */
async function finishedExecutions(key, count) {
  const t0 = Date.now();
  for (;;) {
    const executions = executionsOf(key);
    if (executions.length >= count && executions.every((e) => !['new', 'running', 'waiting'].includes(e.status))) return executions;
    if (Date.now() - t0 > 4 * 60_000) throw new Error(`${key}: ${JSON.stringify(executions)} after 4 minutes, expected ${count} finished`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** n8n's execution records of a workflow (from PostgreSQL), with the worker whose log says it started each. */
function executionsOf(key) {
  const rows = pg.query(`select id, status from execution_entity where "workflowId" = '${flows[key].workflowId}' order by id`);
  return rows.map(([id, status]) => ({ id, status, worker: workers.findIndex((w) => w.proc && startedBy(w).has(id)) }));
}
const startedBy = (worker) => new Set([...worker.proc.output.matchAll(/Worker started execution (\S+)/g)].map((m) => m[1]));

function perWorker(executions) {
  return workers.map((_, i) => executions.filter((e) => e.worker === i).length);
}

/** Anonymous tokens the emulator issued for a credential's client id, and its token calls (status in order). */
async function tokenTraffic(key, sinceSeq) {
  const stored = (await main.exportCredentials()).find((c) => c.id === flows[key].credentialId);
  const clientId = stored && stored.data && stored.data.clientId;
  const issued = (await emu.admin.tokens()).filter((t) => t.clientId === clientId);
  const all = await emu.admin.requests({ route: 'token', since: sinceSeq });
  const calls = all.filter((r) => (r.headers['x-client-id'] || '') === clientId);
  // Token calls under other client ids: a worker that made up its own id got a second anonymous user's token.
  const strangers = all.filter((r) => (r.headers['x-client-id'] || '') !== clientId).map((r) => `${r.status} for ${r.headers['x-client-id'] || 'no client id'}`);
  return { stored, clientId, issued, calls: calls.map((r) => r.status), strangers };
}
const lastSeq = async () => Math.max(0, ...(await emu.admin.requests()).map((r) => r.seq));

function logTails(lines = 40) {
  return [main, ...workers]
    .filter(Boolean)
    .flatMap((inst) => inst.processes.map((p) => `--- ${inst.name} ${p.kind} (${p.logFile}) ---\n${p.output.split('\n').slice(-lines).join('\n')}`))
    .join('\n');
}

/**
 * The race for the first token: two executions started at once on a fresh anonymous credential, one on each
 * worker, the emulator allowing one token per client id (a second call gets 429). Fails when an execution fails
 * or a second token is issued. `heldCalls` token calls are held 2 s by the emulator before it answers them:
 * 1 = the first call waits, the other worker's call wins meanwhile and the held one is refused (after the
 * winner has its token); 2 = both wait and are answered one right after the other, so the loser's 429 comes
 * while the winner is still storing its token and the loser must wait for it.
 */
function raceTest(what, heldCalls) {
  return {
    name: `the race for the first token (${what}): two executions at once on a fresh credential, one on each worker, both succeed with one token`,
    fn: async () => {
      const notes = [];
      while (nextRace <= RACE_POOL) {
        const key = `race${nextRace++}`;
        const seq = await lastSeq();
        await emu.admin.fault('token', { kind: 'slow', delayMs: 2000 }, heldCalls);
        const { answers } = await fire(key, 2);
        await emu.admin.clearFaults();
        const executions = executionsOf(key);
        const tokens = await tokenTraffic(key, seq);
        const split = perWorker(executions);
        const line = `${key}: answers ${answers.map((a) => a.status).join(', ')}; executions ${executions.map((e) => `${e.id} ${e.status} on worker ${e.worker + 1}`).join(', ')}; token calls ${tokens.calls.join(', ')}; tokens issued ${tokens.issued.length}${tokens.strangers.length ? `; token calls under other client ids: ${tokens.strangers.join(', ')}` : ''}`;
        console.log(`     ${line}`);
        notes.push(line);
        // Whatever the placement, nothing may fail and only one token may be issued.
        const failed = bad(answers);
        assert(!failed.length, `an execution of the race failed: ${JSON.stringify(failed)}\n${logTails(20)}`);
        assert(executions.length === 2 && executions.every((e) => e.status === 'success'), `execution records: ${JSON.stringify(executions)}`);
        assert(tokens.issued.length === 1, `${tokens.issued.length} tokens were issued for one credential (client id ${tokens.clientId}), expected 1`);
        assert(!tokens.strangers.length, `the credential stores client id ${tokens.clientId}, yet token calls came under other ids (${tokens.strangers.join(', ')}): each worker made up its own client id and fetched its own token`);
        if (!split.every((n) => n === 1)) {
          console.log(`     both executions ran on one worker (${split.join(' / ')}): no race between workers; again with a fresh credential`);
          continue;
        }
        // One on each worker: both asked for the token (one 200, one 429) and the loser used the winner's token.
        assert(tokens.calls.length === 2 && tokens.calls.includes(200) && tokens.calls.includes(429), `expected the token calls 200 and 429 (both workers asked at once), got ${tokens.calls.join(', ')}`);
        for (const a of answers) probeVideo(a.file);
        return;
      }
      throw new Error(`no fresh credential left: the two executions never ran on different workers:\n${notes.join('\n')}`);
    },
  };
}

runTests(
  `n8n queue mode: main + 2 workers (concurrency ${WORKER_CONCURRENCY}), ${RUNS} Photo to Video executions at once`,
  [
    {
      name: 'set up: PostgreSQL, Redis, the emulator, n8n main and two workers, each with the package installed',
      fn: async () => {
        const t = Date.now();
        [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
        console.log(`     PostgreSQL (pid ${pg.pid}) on 127.0.0.1:${pg.port}, Redis (pid ${redis.pid}) on 127.0.0.1:${redis.port} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
        emu = await startEmulator({ ffmpeg: true, renderMs: RENDER_MS, config: { oneTokenPerClient: true, anonymousCredits: 1000000 } });
        const [install, tarball] = await Promise.all([ensureN8n(), packageTarball()]);
        main = await N8nInstance.create({ install, name: 'main', env: queueEnv() });
        for (let i = 1; i <= 2; i++) workers.push(await N8nInstance.create({ install, name: `worker-${i}`, env: queueEnv() }));
        await Promise.all([main, ...workers].map((inst) => inst.installPackage(tarball)));

        const keys = ['photos', 'onlynew', ...Array.from({ length: RACE_POOL }, (_, i) => `race${i + 1}`)];
        const credentialIds = await main.importCredentials(keys.map((key) => ({ name: `NemoVideo ${key}`, type: 'nemoVideoApi', data: { accessToken: '', baseUrl: emu.baseUrl } })));
        keys.forEach((key, i) => {
          flows[key] = { path: `nemovideo-${key}`, credentialId: credentialIds[i] };
        });
        // `onlynew`: Photo to Video remembering the photos it used (issue 17), answering the webhook at once.
        const only = { respondAtOnce: true, options: { onlyNewPhotos: true } };
        const workflows = keys.map((key, i) => workflow(key, credentialIds[i], `6f1c1d2e-3a4b-4c5d-8e6f-${String(i + 1).padStart(12, '0')}`, key === 'onlynew' ? only : {}));
        await main.importWorkflow(workflows);
        await Promise.all(workflows.map((wf, i) => main.cliOk(['publish:workflow', `--id=${wf.id}`]).then(() => (flows[keys[i]].workflowId = wf.id))));
        await main.start();
        // Readiness comes before n8n registers the published workflows' webhooks (issue 10): wait for each one
        // (the workers start meanwhile; each is waited for until it takes jobs).
        const [waited] = await Promise.all([
          Promise.all(keys.map((key) => main.waitForWebhook(flows[key].path, { method: 'POST' }))),
          Promise.all(workers.map(async (worker) => (worker.proc = await worker.startWorker({ concurrency: WORKER_CONCURRENCY })))),
        ]);
        console.log(`     the ${keys.length} webhooks answered ${(Math.min(...waited) / 1000).toFixed(2)}-${(Math.max(...waited) / 1000).toFixed(2)} s after main's readiness`);
        for (const inst of [main, ...workers]) {
          const errors = packageLoadErrors(inst.processes.map((p) => p.output).join('\n'));
          assert(!errors.length, `${inst.name} failed to load ${PACKAGE_NAME}: ${errors.join(' | ')}`);
        }
        console.log(`     ${keys.length} webhook workflows published; set up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      },
    },
    {
      name: `${RUNS} executions at once on an anonymous credential: every one answers its MP4, both workers work, one token, no render started twice`,
      fn: async () => {
        const seq = await lastSeq();
        const { answers, seconds } = await fire('photos', RUNS);
        const failed = bad(answers);
        assert(!failed.length, `${failed.length} of ${RUNS} webhook calls did not answer an MP4: ${JSON.stringify(failed.slice(0, 3))}\n${logTails(15)}`);
        for (const a of answers) {
          const info = probeVideo(a.file);
          assert(info.codec === 'h264' && Math.abs(info.durationSeconds - VIDEO_SECONDS) < 0.5, `${path.basename(a.file)} is not the ${VIDEO_SECONDS} s H.264 video: ${JSON.stringify(info)}`);
        }
        const executions = executionsOf('photos');
        const notOk = executions.filter((e) => e.status !== 'success');
        assert(executions.length === RUNS && !notOk.length, `execution records: ${executions.length}, not successful: ${JSON.stringify(notOk)}`);
        const split = perWorker(executions);
        console.log(`     ${RUNS} MP4s (H.264, ${VIDEO_SECONDS} s, ${Math.round(answers.reduce((s, a) => s + a.bytes, 0) / RUNS / 1024)} KB each) in ${seconds.toFixed(1)} s; executions per worker: ${split.join(' / ')}`);
        assert(split.every((n) => n > 0), `a worker took no execution: ${split.join(' / ')}`);
        assert(split.reduce((a, b) => a + b, 0) === RUNS, `the workers' logs name ${split.join(' + ')} of the ${RUNS} executions`);

        const tokens = await tokenTraffic('photos', seq);
        console.log(`     token calls for the credential's client id: ${tokens.calls.join(', ') || 'none'}; tokens issued: ${tokens.issued.length}${tokens.strangers.length ? `; under other client ids: ${tokens.strangers.join(', ')}` : ''}`);
        assert(tokens.issued.length === 1 && !tokens.strangers.length, `${tokens.issued.length} anonymous tokens issued for the credential's client id, token calls under other ids: ${tokens.strangers.join(', ') || 'none'}; expected one token`);
        assert(tokens.stored.data.sessionToken === tokens.issued[0].token, 'the credential in the database does not hold the issued token');

        const starts = await emu.admin.requests({ route: 'renderStart', since: seq });
        const perSession = new Map();
        for (const r of starts) perSession.set(r.sessionId || (r.json && r.json.sessionId), (perSession.get(r.sessionId || (r.json && r.json.sessionId)) || 0) + 1);
        const twice = [...perSession].filter(([, n]) => n !== 1);
        assert(perSession.size === RUNS && !twice.length, `render starts per session: ${JSON.stringify([...perSession])} (expected ${RUNS} sessions, one start each)`);

        const [[binaryRows]] = pg.query('select count(*) from binary_data');
        console.log(`     n8n's binary_data table (PostgreSQL) holds ${binaryRows} files: the uploads and MP4s went through the database`);
        assert(Number(binaryRows) > 0, 'no binary data in the database: where did the uploads go?');
      },
    },
    raceTest('the loser asks while the winner is being answered', 1),
    raceTest('both token calls are answered at the same moment', 2),
    {
      name: 'queue mode and what Photo to Video remembers: a worker starts a job without the saved static data, so only runs on the same worker share the memory',
      fn: async () => {
        // n8n (2.41 and 1.123) stores a queued execution's workflow as a snapshot without its static data
        // (execution-data/types.js toWorkflowSnapshot; 1.x createNewExecution) and the worker loads the saved static
        // data only when it resumes a waiting execution (job-processor.js, loadStaticData). So the memory reaches a
        // later run only through the worker's own process: the same worker remembers, another one does not.
        const seq = await lastSeq();
        assert((await start('onlynew')) === 200, 'the webhook did not take the first run');
        const [first] = await finishedExecutions('onlynew', 1);
        assert(first.status === 'success', `the first run: ${JSON.stringify(first)}\n${logTails(15)}`);
        const [[saved]] = pg.query(`select "staticData"::text from workflow_entity where id = '${flows.onlynew.workflowId}'`);
        assert(/photoCollections/.test(saved), `the first run saved no memory: ${String(saved).slice(0, 200)}`);
        assert((await start('onlynew')) === 200, 'the webhook did not take the second run');
        const executions = await finishedExecutions('onlynew', 2);
        assert(executions.every((e) => e.status === 'success'), `execution records: ${JSON.stringify(executions)}`);
        const [[carried]] = pg.query(`select "workflowData"::text from execution_data where "executionId" = '${executions[1].id}'`);
        assert(!/staticData/.test(carried), `n8n now queues the workflow with its static data: ${String(carried).slice(0, 300)}; the README's queue-mode note is out of date`);
        const routes = (await emu.admin.requests({ since: seq })).map((r) => r.route);
        const messages = routes.filter((r) => r === 'sse').length;
        const sameWorker = executions[0].worker === executions[1].worker;
        console.log(`     two runs of the same photos on workers ${executions.map((e) => e.worker + 1).join(' and ')}: ${messages} AI message(s)`);
        assert(messages === (sameWorker ? 1 : 2), `${messages} AI messages for two runs on ${sameWorker ? 'the same worker (expected 1: its process remembers)' : 'two workers (expected 2: the memory does not reach the other worker)'}`);
      },
    },
    {
      name: `throughput: ${RUNS} executions with two workers, then with one (renders fixed at ${RENDER_MS / 1000} s)`,
      fn: async () => {
        // Renders of exactly RENDER_MS with the sample MP4 (no ffmpeg), so the emulator's CPU does not bound n8n's rate.
        await emu.admin.config({ useFfmpeg: false });
        const before = executionsOf('photos').length;
        const two = await fire('photos', RUNS);
        assert(!bad(two.answers).length, `with two workers: ${JSON.stringify(bad(two.answers).slice(0, 3))}`);
        const twoSplit = perWorker(executionsOf('photos').slice(before));
        const second = workers[1];
        await second.stop(); // n8n worker shuts down gracefully: nothing is running now
        const mid = executionsOf('photos').length;
        const one = await fire('photos', RUNS);
        assert(!bad(one.answers).length, `with one worker: ${JSON.stringify(bad(one.answers).slice(0, 3))}`);
        const oneExecs = executionsOf('photos').slice(mid);
        assert(oneExecs.every((e) => e.status === 'success' && e.worker === 0), `with one worker: ${JSON.stringify(oneExecs.filter((e) => e.status !== 'success' || e.worker !== 0))}`);
        const rate = (r) => (RUNS / r.seconds) * 60;
        const first = (r) => Math.min(...r.answers.map((a) => a.seconds));
        console.log(`     two workers: ${two.seconds.toFixed(1)} s = ${rate(two).toFixed(0)} executions/min (split ${twoSplit.join(' / ')}, first answer after ${first(two).toFixed(1)} s)`);
        console.log(`     one worker:  ${one.seconds.toFixed(1)} s = ${rate(one).toFixed(0)} executions/min (first answer after ${first(one).toFixed(1)} s)`);
        console.log(`QUEUE_SUMMARY ${JSON.stringify({ runs: RUNS, renderMs: RENDER_MS, workerConcurrency: WORKER_CONCURRENCY, twoWorkersSeconds: two.seconds, oneWorkerSeconds: one.seconds, twoWorkersPerMinute: Math.round(rate(two)), oneWorkerPerMinute: Math.round(rate(one)) })}`);
      },
    },
  ],
  {
    afterAll: async () => {
      if (process.env.QUEUE_DEBUG) console.log(logTails(60));
      // Stop by PID what this suite started, in order: n8n (its groups), then the emulator, Redis and PostgreSQL.
      for (const inst of [...workers, main].filter(Boolean)) await inst.dispose();
      if (emu) await emu.stop();
      if (redis) await redis.stop();
      if (pg) await pg.stop();
    },
  },
);
