#!/usr/bin/env node
'use strict';
// NemoVideo Chat in n8n's queue mode (lean sibling of run.js, on its services.js): PostgreSQL, Redis, n8n main
// and two workers, example 07 with n8n's Postgres Chat Memory on the Chat node's Memory input (the mechanism the
// README names for queue mode). Two conversations at once, each photos + a prompt, streamed through the workers
// (the first words reach the chat before the AI's stream ended); then the worker that ran the first conversation's
// message is stopped, and both conversations' follow-ups (on the other worker) find their own sessions.
//   node test/e2e/queue/chat.js   (needs root: apt-get, and runuser for PostgreSQL; QUEUE_DEBUG=1 prints n8n's logs)
const fs = require('node:fs');
const path = require('node:path');
const { ensureN8n } = require('../lib/install');
const { N8nInstance, packageTarball, packageLoadErrors, PACKAGE_NAME } = require('../lib/n8n');
const { startEmulator } = require('../lib/emulator');
const { runTests, assert } = require('../lib/runner');
const { SAMPLE_PHOTOS } = require('../lib/examples');
const { publishWorkflow } = require('../lib/mcp');
const { chatTestCopy, sendChat } = require('../lib/chat');
const { startPostgres, startRedis } = require('./services');

const OWN_TOKEN = 'nmv_usr_own_e2e_chat_queue';
const SSE_EVENT_DELAY_MS = 300;
const PHOTOS = fs.readdirSync(SAMPLE_PHOTOS).filter((n) => n.endsWith('.jpg')).sort().slice(0, 3).map((n) => ({ name: n, bytes: fs.readFileSync(path.join(SAMPLE_PHOTOS, n)) }));

let pg;
let redis;
let emu;
let main;
let webhookId;
const workers = [];
const first = {}; // a, b -> { sessionId }; worker: the worker that ran the first of the two first messages

const lastSeq = async () => Math.max(0, ...(await emu.admin.requests()).map((r) => r.seq));
const sessionOf = (request) => request.sessionId || (request.json && request.json.session_id);
const startedBy = (worker) => new Set([...worker.proc.output.matchAll(/Worker started execution (\S+)/g)].map((m) => m[1]));

/** The workers (indexes) whose logs say they started the newest `count` executions of a workflow, oldest first. */
function workerOfLatest(workflowId, count) {
  const rows = pg.query(`select id from execution_entity where "workflowId" = '${workflowId}' order by id desc limit ${count}`).map(([id]) => id).reverse();
  return rows.map((id) => workers.findIndex((w) => w.proc && startedBy(w).has(id)));
}

function logTails(lines = 40) {
  return [main, ...workers].filter(Boolean).flatMap((inst) => inst.processes.map((p) => `--- ${inst.name} ${p.kind} ---\n${p.output.split('\n').slice(-lines).join('\n')}`)).join('\n');
}

async function say(conversation, text, files = []) {
  const answer = await sendChat(main.url, webhookId, { sessionId: conversation, text, files });
  const types = answer.chunks.filter((c) => c.type !== 'keepalive').map((c) => c.type);
  assert(answer.status === 200 && types[0] === 'begin' && types[types.length - 1] === 'end', `${conversation}: HTTP ${answer.status}, chunks ${types.join(',')}: ${answer.text}\n${logTails(20)}`);
  return answer;
}

runTests('NemoVideo Chat in queue mode: main + 2 workers, a Postgres Chat Memory, two conversations at once', [
  {
    name: 'set up: PostgreSQL, Redis, the emulator, n8n main and two workers with the package, example 07 + Postgres Chat Memory published',
    fn: async () => {
      const t = Date.now();
      [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
      emu = await startEmulator({ renderMs: 500, config: { sseEventDelayMs: SSE_EVENT_DELAY_MS } });
      await emu.admin.addToken({ token: OWN_TOKEN, credits: 100000, anonymous: false });
      const env = { ...pg.env, ...redis.env, EXECUTIONS_MODE: 'queue', N8N_LOG_LEVEL: 'info' };
      const [install, tarball] = await Promise.all([ensureN8n(), packageTarball()]);
      main = await N8nInstance.create({ install, name: 'main', env });
      for (let i = 1; i <= 2; i++) workers.push(await N8nInstance.create({ install, name: `worker-${i}`, env }));
      await Promise.all([main, ...workers].map((inst) => inst.installPackage(tarball)));
      const [credentialId, memoryCredentialId] = await main.importCredentials([
        { name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: OWN_TOKEN, baseUrl: emu.baseUrl } },
        { name: 'Chat memory database', type: 'postgres', data: { host: '127.0.0.1', port: pg.port, database: 'n8n', user: 'postgres', password: '', ssl: 'disable', allowUnauthorizedCerts: false, maxConnections: 20 } },
      ]);
      const copy = chatTestCopy({ id: 'nemovideoChatQueue', credentialId, memoryCredentialId });
      webhookId = copy.webhookId;
      await main.importWorkflow(copy.workflow);
      await publishWorkflow(main, copy.workflow.id);
      await main.start();
      await Promise.all([
        main.waitForWebhook(`${webhookId}/chat`, { method: 'POST' }),
        Promise.all(workers.map(async (worker) => (worker.proc = await worker.startWorker({ concurrency: 5 })))),
      ]);
      for (const inst of [main, ...workers]) {
        const errors = packageLoadErrors(inst.processes.map((p) => p.output).join('\n'));
        assert(!errors.length, `${inst.name} failed to load ${PACKAGE_NAME}: ${errors.join(' | ')}`);
      }
      console.log(`     set up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    },
  },
  {
    name: "two conversations at once through the workers: each its own session, the AI's words streamed before its stream ended",
    fn: async () => {
      const seq = await lastSeq();
      const [a, b] = await Promise.all([
        say('queue-conversation-a', 'a slideshow with smooth transitions', PHOTOS.slice(0, 2)),
        say('queue-conversation-b', 'a vertical slideshow', PHOTOS.slice(1, 3)),
      ]);
      const streams = await emu.admin.requests({ route: 'sse', since: seq });
      assert(streams.length === 2, `${streams.length} messages reached the AI, expected 2`);
      // Which stream is whose: the session that got conversation a's photos (2 files each; a has photos 1 and 2).
      const sessions = await emu.admin.sessions();
      const byPhotos = (names) => sessions.find((s) => s.files.map((f) => f.filename).sort().join() === names.join());
      first.a = { sessionId: byPhotos([PHOTOS[0].name, PHOTOS[1].name]).id };
      first.b = { sessionId: byPhotos([PHOTOS[1].name, PHOTOS[2].name]).id };
      assert(first.a.sessionId !== first.b.sessionId, 'the two conversations share a session');
      for (const [name, answer] of /** @type {Array<[string, typeof a]>} */ ([['a', a], ['b', b]])) {
        const stream = streams.find((request) => sessionOf(request) === first[name].sessionId);
        const words = answer.items.find((chunk) => /I've turned/.test(chunk.content));
        console.log(`     conversation ${name}: session ${first[name].sessionId}, first words ${stream.endedAt - words.at} ms before the AI's stream ended`);
        assert(words.at < stream.endedAt, `conversation ${name}: the words came after the stream ended`);
      }
      const ran = workerOfLatest('nemovideoChatQueue', 2);
      console.log(`     the two executions ran on workers ${ran.map((w) => w + 1).join(' and ')}`);
      assert(ran.every((w) => w >= 0), `the workers' logs do not name both executions: ${ran.join(', ')}`);
      first.worker = ran[0];
      const rows = pg.query("select count(*) from n8n_chat_histories");
      console.log(`     n8n_chat_histories (PostgreSQL) holds ${rows[0][0]} messages`);
    },
  },
  {
    name: 'a worker that ran a first message stopped: both follow-ups, on the other worker, find their own sessions',
    fn: async () => {
      // At least one conversation's follow-up now runs on another worker than its first message.
      await workers[first.worker].stop();
      console.log(`     stopped worker ${first.worker + 1}`);
      const seq = await lastSeq();
      await Promise.all([say('queue-conversation-a', 'make it 9:16'), say('queue-conversation-b', 'add a title "Queue"')]);
      const streams = await emu.admin.requests({ route: 'sse', since: seq });
      const sessions = streams.map(sessionOf).sort();
      assert(sessions.join() === [first.a.sessionId, first.b.sessionId].sort().join(), `the follow-ups went to ${sessions.join(', ')}, expected ${first.a.sessionId} and ${first.b.sessionId}`);
      const a = await emu.admin.call('GET', `/sessions/${first.a.sessionId}`);
      const b = await emu.admin.call('GET', `/sessions/${first.b.sessionId}`);
      assert(a.messages.length === 2 && b.messages.length === 2, `messages: a ${JSON.stringify(a.messages)}, b ${JSON.stringify(b.messages)}`);
      assert(a.canvas.ratio === '9:16', `conversation a's edit landed elsewhere: ${JSON.stringify(a.canvas)}`);
    },
  },
], {
  afterAll: async () => {
    if (process.env.QUEUE_DEBUG) console.log(logTails(60));
    for (const inst of [...workers, main].filter(Boolean)) await inst.dispose();
    if (emu) await emu.stop();
    if (redis) await redis.stop();
    if (pg) await pg.stop();
  },
});
