#!/usr/bin/env node
'use strict';
// NemoVideo Chat in real n8n 2.41.1, one `n8n start`: a copy of examples/07-chat.json (public hosted chat, file
// uploads, Streaming) published, its chat spoken over HTTP as the hosted page speaks it (multipart `files`,
// `sessionId`, `chatInput`, the NDJSON answer read as it comes), against the emulator rendering real H.264. Photos
// and a prompt → the AI's words streamed before its stream ended (the emulator's own record of the end); a
// follow-up edit in the same session; credits and status without a message to the AI; "export" → a link to an
// H.264 MP4; a second conversation with its own session; n8n restarted between two messages of a conversation;
// then headless Chromium on the hosted page itself (its @n8n/chat served from the npm package), three photos
// through the page's own file picker, the streamed reply, "export" and the link, and the screenshot for the
// README (into docs/ with NEMOVIDEO_E2E_UPDATE_SCREENSHOTS=1).
//   node test/e2e/chat.js   (NEMOVIDEO_E2E_TARBALL=<tgz>, NEMOVIDEO_E2E_VERBOSE=1 as the other suites)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n } = require('./lib/install');
const { N8nInstance, packageTarball, packageLoadErrors, REPO_ROOT, PACKAGE_NAME } = require('./lib/n8n');
const { startEmulator } = require('./lib/emulator');
const { runTests, assert } = require('./lib/runner');
const { SAMPLE_PHOTOS } = require('./lib/examples');
const { probeVideo } = require('./lib/ffprobe');
const { publishWorkflow } = require('./lib/mcp');
const { chatTestCopy, sendChat, ensureChatBundle, serveChatBundle, CHAT_PACKAGE_VERSION } = require('./lib/chat');
const { launchChromium } = require('./lib/browser');

const OWN_TOKEN = 'nmv_usr_own_e2e_chat';
/** Between two events of the AI's stream: its words come in pieces, seconds apart. */
const SSE_EVENT_DELAY_MS = 400;
const UPDATE = process.env.NEMOVIDEO_E2E_UPDATE_SCREENSHOTS === '1';
const SHOT_DIR = UPDATE ? path.join(REPO_ROOT, 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-chat-shot-'));
if (!UPDATE) process.once('exit', () => fs.rmSync(SHOT_DIR, { recursive: true, force: true }));
const SCREENSHOT = path.join(SHOT_DIR, 'chat-hosted.png');
const PHOTO_FILES = fs.readdirSync(SAMPLE_PHOTOS).filter((n) => n.endsWith('.jpg')).sort().slice(0, 3).map((n) => path.join(SAMPLE_PHOTOS, n));
const PHOTOS = PHOTO_FILES.map((file) => ({ name: path.basename(file), bytes: fs.readFileSync(file) }));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-e2e-chat-'));
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }));

let n8n;
let emu;
let webhookId;
const conversations = {}; // name -> NemoVideo session id

async function lastSeq() {
  return Math.max(0, ...(await emu.admin.requests()).map((request) => request.seq));
}

/** The NemoVideo session of a conversation, read off the emulator: the session whose messages were sent last. */
async function sseSince(seq) {
  return emu.admin.requests({ route: 'sse', since: seq });
}

async function say(sessionId, text, files = []) {
  const answer = await sendChat(n8n.url, webhookId, { sessionId, text, files });
  assert(answer.status === 200, `the chat answered HTTP ${answer.status}: ${JSON.stringify(answer.chunks).slice(0, 500)}`);
  const types = answer.chunks.filter((c) => c.type !== 'keepalive').map((c) => c.type);
  assert(types[0] === 'begin' && types[types.length - 1] === 'end' && !types.includes('error'), `chunk types ${types.join(',')}: ${answer.text}`);
  console.log(`     "${text}"${files.length ? ` + ${files.length} photos` : ''} → ${answer.text.replace(/\s+/g, ' ').slice(0, 160)}`);
  return answer;
}

async function sessionsOf(seq) {
  return [...new Set((await sseSince(seq)).map((request) => request.sessionId || (request.json && request.json.session_id)))];
}

async function startN8n() {
  await n8n.start();
  const waited = await n8n.waitForWebhook(`${webhookId}/chat`, { method: 'POST' });
  console.log(`     the chat webhook answered ${(waited / 1000).toFixed(2)} s after readiness`);
}

runTests('NemoVideo Chat in real n8n: the hosted chat of example 07, over HTTP and in Chromium', [
  {
    name: 'set up: the emulator, n8n with the package, example 07 published with Streaming',
    fn: async () => {
      const t = Date.now();
      emu = await startEmulator({ ffmpeg: true, renderMs: 500, config: { sseEventDelayMs: SSE_EVENT_DELAY_MS } });
      await emu.admin.addToken({ token: OWN_TOKEN, credits: 100000, anonymous: false });
      const [install, tarball] = await Promise.all([ensureN8n(), packageTarball()]);
      n8n = await N8nInstance.create({ install, name: 'chat' });
      await n8n.installPackage(tarball);
      const [credentialId] = await n8n.importCredentials([{ name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: OWN_TOKEN, baseUrl: emu.baseUrl } }]);
      const copy = chatTestCopy({ id: 'nemovideoChat07', credentialId, options: { pollIntervalSeconds: 1 } });
      webhookId = copy.webhookId;
      await n8n.importWorkflow(copy.workflow);
      await publishWorkflow(n8n, copy.workflow.id);
      await startN8n();
      const errors = packageLoadErrors(n8n.processes.map((p) => p.output).join('\n'));
      assert(!errors.length, `n8n failed to load ${PACKAGE_NAME}: ${errors.join(' | ')}`);
      console.log(`     set up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    },
  },
  {
    name: "photos + a prompt: uploaded into the conversation's session, the AI's words streamed before its stream ended",
    fn: async () => {
      const seq = await lastSeq();
      const answer = await say('conversation-one', 'turn these photos into a slideshow with smooth transitions', PHOTOS);
      assert(/Added 3 files/.test(answer.text) && /I've turned your 3 photos into a/.test(answer.text), `reply: ${answer.text}`);
      const [stream] = await sseSince(seq);
      assert(stream && stream.endedAt, `no /run_sse recorded with its end: ${JSON.stringify(stream)}`);
      const firstWords = answer.items.find((chunk) => /I've turned/.test(chunk.content));
      const beforeEnd = answer.items.filter((chunk) => chunk.at < stream.endedAt);
      console.log(`     the AI's first words reached the chat ${stream.endedAt - firstWords.at} ms before its stream ended; ${beforeEnd.length} of ${answer.items.length} pieces came before the end`);
      assert(firstWords.at < stream.endedAt, `the first words came ${firstWords.at - stream.endedAt} ms after the stream ended: not streamed`);
      const [sessionId] = await sessionsOf(seq);
      conversations.one = sessionId;
      const session = await emu.admin.call('GET', `/sessions/${sessionId}`);
      assert(session.files.length === 3, `the session holds ${session.files.length} files`);
    },
  },
  {
    name: 'a follow-up edit in the same conversation goes to the same session',
    fn: async () => {
      const seq = await lastSeq();
      await say('conversation-one', 'make it 9:16 and add a title "Summer"');
      const sessions = await sessionsOf(seq);
      assert(sessions.length === 1 && sessions[0] === conversations.one, `the edit went to ${sessions.join(', ')}, the conversation's session is ${conversations.one}`);
      const session = await emu.admin.call('GET', `/sessions/${conversations.one}`);
      assert(session.canvas.ratio === '9:16', `canvas ${JSON.stringify(session.canvas)}`);
    },
  },
  {
    name: 'credits and status are answered without a message to the AI',
    fn: async () => {
      const seq = await lastSeq();
      const credits = await say('conversation-one', 'credits');
      assert(/You have [\d,]+ NemoVideo credits/.test(credits.text), credits.text);
      const status = await say('conversation-one', '状态');
      assert(/timeline/.test(status.text) && /Say "export"/.test(status.text), status.text);
      const sse = await sseSince(seq);
      assert(sse.length === 0, `${sse.length} messages went to the AI`);
    },
  },
  {
    name: '"export": a link to an H.264 MP4, render progress streamed meanwhile',
    fn: async () => {
      const seq = await lastSeq();
      const answer = await say('conversation-one', 'export');
      const link = /\((https?:\/\/[^)\s]+)\)/.exec(answer.text);
      assert(link, `no link in ${answer.text}`);
      assert(/Rendering/.test(answer.text), 'no render progress streamed');
      const res = await fetch(link[1], { signal: AbortSignal.timeout(60000) });
      assert(res.status === 200, `GET ${link[1]} → HTTP ${res.status}`);
      const file = path.join(work, 'chat-export.mp4');
      fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
      const info = probeVideo(file);
      console.log(`     ${link[1]} → ${info.codec} ${info.width}x${info.height}, ${info.durationSeconds.toFixed(2)} s`);
      assert(info.codec === 'h264' && info.width === 1080 && info.height === 1920, `not the 9:16 H.264 video: ${JSON.stringify(info)}`);
      assert((await sseSince(seq)).length === 0, 'export sent a message to the AI');
    },
  },
  {
    name: 'a second conversation gets its own session',
    fn: async () => {
      const seq = await lastSeq();
      await say('conversation-two', 'a square slideshow', PHOTOS.slice(0, 2));
      const [sessionId] = await sessionsOf(seq);
      assert(sessionId && sessionId !== conversations.one, `conversation two used ${sessionId}, conversation one has ${conversations.one}`);
      conversations.two = sessionId;
    },
  },
  {
    name: 'n8n restarted between two messages of a conversation: the conversation keeps its session',
    fn: async () => {
      await n8n.stop();
      await startN8n();
      const seq = await lastSeq();
      await say('conversation-one', 'make it 20 seconds long');
      const sessions = await sessionsOf(seq);
      assert(sessions.length === 1 && sessions[0] === conversations.one, `after the restart the message went to ${sessions.join(', ')}, expected ${conversations.one}`);
    },
  },
  {
    name: `the hosted chat page in Chromium (@n8n/chat ${CHAT_PACKAGE_VERSION} served from the npm package): three photos through its file picker, the streamed reply, "export" and the link`,
    fn: async () => {
      const dist = await ensureChatBundle();
      const { context, close } = await launchChromium({ viewport: { width: 1100, height: 1000 } });
      try {
        const served = await serveChatBundle(context, dist);
        const page = await context.newPage();
        await page.goto(`${n8n.url}/webhook/${webhookId}/chat`, { waitUntil: 'load' });
        await page.locator('.chat-input-file-button').waitFor({ timeout: 60000 });
        assert(served.includes('chat.bundle.es.js'), `the page did not load the chat bundle: ${served.join(', ')}`);
        const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.locator('.chat-input-file-button').click()]);
        await chooser.setFiles(PHOTO_FILES);
        await page.locator('.chat-file').nth(2).waitFor({ timeout: 10000 });
        const input = page.locator('.chat-inputs textarea');
        await input.fill('Turn these photos into a slideshow with smooth transitions');
        const seq = await lastSeq();
        await page.locator('.chat-input-send-button').click();
        const bot = page.locator('.chat-message-from-bot');
        // Streamed: the AI's first words are on the page while the emulator is still sending its stream.
        await bot.filter({ hasText: "I've turned your 3 photos" }).first().waitFor({ timeout: 120000 });
        const shownAt = Date.now();
        await bot.filter({ hasText: 'Say "export"' }).first().waitFor({ timeout: 120000 });
        const [stream] = await sseSince(seq);
        console.log(`     the page showed the AI's words ${stream.endedAt - shownAt} ms before its stream ended`);
        assert(shownAt < stream.endedAt, 'the page showed the words only after the stream ended');
        await input.fill('export');
        await page.locator('.chat-input-send-button').click();
        const link = page.locator('.chat-message-from-bot a[href*="/renders/"]');
        await link.first().waitFor({ timeout: 180000 });
        const href = await link.first().getAttribute('href');
        console.log(`     the page shows the link ${href}`);
        await page.screenshot({ path: SCREENSHOT, fullPage: false });
        console.log(`     screenshot ${UPDATE ? 'written to' : 'taken (NEMOVIDEO_E2E_UPDATE_SCREENSHOTS=1 writes it to docs/):'} ${SCREENSHOT}`);
      } finally {
        await close();
      }
    },
  },
], {
  afterAll: async () => {
    if (n8n) await n8n.dispose();
    if (emu) await emu.stop();
  },
});
