'use strict';
// The hosted chat of n8n's Chat Trigger as its page speaks it, for the chat suites (chat.js, queue/chat.js):
//   chatTestCopy({ id, credentialId, memoryCredentialId })  example 07 pointed at a credential (+ a Postgres Chat Memory)
//   await sendChat(n8nUrl, webhookId, { sessionId, text, files })  POST multipart /webhook/<id>/chat, the answer read
//                                                                  as it comes: NDJSON chunks (Streaming) or JSON
//   await ensureChatBundle()                                  the npm package @n8n/chat's dist/ (the page's script)
//   await serveChatBundle(context, dir)                       answers the page's CDN requests with that dist/
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { run, log } = require('./install');
const { loadExample } = require('./examples');
const { cleanEnv } = require('./proc');

const EXAMPLE = '07-chat.json';
/** The version of `@n8n/chat` the page is served (n8n 2.41.1's page asks the CDN for the newest, unpinned). */
const CHAT_PACKAGE_VERSION = process.env.NEMOVIDEO_N8N_CHAT_VERSION || '1.37.0';
/** Where the page loads the chat from (ChatTrigger/templates.js): `https://cdn.jsdelivr.net/npm/@n8n/chat/dist/…`. */
const CHAT_CDN = /^https:\/\/cdn\.jsdelivr\.net\/npm\/@n8n\/chat(?:@[^/]+)?\/dist\/(.+)$/;

/**
 * Example 07 with its credential, and with `memoryCredentialId` a Postgres Chat Memory (n8n's own node, default
 * table, the Chat Trigger's sessionId as key) on NemoVideo Chat's Memory input.
 * @param {{ id: string, credentialId: string, memoryCredentialId?: string, options?: Record<string, unknown> }} copy
 */
function chatTestCopy({ id, credentialId, memoryCredentialId, options = {} }) {
  const workflow = JSON.parse(JSON.stringify(loadExample(EXAMPLE)).replaceAll('REPLACE_WITH_CREDENTIAL_ID', credentialId));
  workflow.id = id;
  const trigger = workflow.nodes.find((node) => node.type === '@n8n/n8n-nodes-langchain.chatTrigger');
  const chat = workflow.nodes.find((node) => node.type === 'n8n-nodes-nemovideo.nemoVideoChat');
  chat.parameters.options = { ...chat.parameters.options, ...options };
  if (memoryCredentialId) {
    workflow.nodes.push({
      id: '0b6e7a3c-5f2d-4c1e-9a00-000000000073',
      name: 'Postgres Chat Memory',
      type: '@n8n/n8n-nodes-langchain.memoryPostgresChat',
      typeVersion: 1.3,
      position: [240, 220],
      parameters: {},
      credentials: { postgres: { id: memoryCredentialId, name: 'Chat memory database' } },
    });
    workflow.connections['Postgres Chat Memory'] = { ai_memory: [[{ node: chat.name, type: 'ai_memory', index: 0 }]] };
  }
  return { workflow, webhookId: trigger.webhookId };
}

/**
 * One message as the hosted chat page sends it (@n8n/chat: multipart with `action`, `sessionId`, `chatInput` and a
 * `files` part per file when files are attached). Resolves when the answer ended: `chunks` are the NDJSON lines
 * with the time each arrived (`at`), `text` the items joined; a JSON answer (Last Node mode) is `json`.
 * @param {string} n8nUrl
 * @param {string} webhookId
 * @param {{ sessionId: string, text?: string, files?: Array<{ name: string, bytes: Buffer, type?: string }>, timeoutMs?: number }} message
 */
async function sendChat(n8nUrl, webhookId, { sessionId, text = '', files = [], timeoutMs = 5 * 60_000 }) {
  const form = new FormData();
  form.append('action', 'sendMessage');
  form.append('sessionId', sessionId);
  form.append('chatInput', text);
  for (const file of files) form.append('files', new Blob([file.bytes], { type: file.type || 'image/jpeg' }), file.name);
  const started = Date.now();
  const res = await fetch(`${n8nUrl}/webhook/${webhookId}/chat`, { method: 'POST', body: form, headers: { accept: 'text/plain' }, signal: AbortSignal.timeout(timeoutMs) });
  const chunks = [];
  let rest = '';
  const decoder = new TextDecoder();
  const reader = /** @type {ReadableStream<Uint8Array>} */ (res.body).getReader();
  for (;;) {
    const { done, value: part } = await reader.read();
    if (done) break;
    const at = Date.now();
    rest += decoder.decode(part, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop();
    for (const line of lines.filter((l) => l.trim())) chunks.push({ ...parseLine(line), at });
  }
  if (rest.trim()) chunks.push({ ...parseLine(rest), at: Date.now() });
  const items = chunks.filter((chunk) => chunk.type === 'item');
  const json = chunks.length === 1 && chunks[0].type === undefined ? chunks[0] : undefined;
  return { status: res.status, chunks, items, text: items.map((chunk) => chunk.content).join(''), json, started, ended: Date.now() };
}

function parseLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return { type: 'unparsed', content: line };
  }
}

/**
 * The npm package `@n8n/chat` (its dist/: the bundle, its chunks and style.css) in the cache, fetched once with
 * `npm pack` (the registry is reachable here, the CDN is not). Not a devDependency: its published dependencies
 * (@n8n/design-system and a Vue toolchain, about 390 MB) are not needed by the bundle, and 1.37.0's exact
 * @n8n/design-system version is missing from the registry, so installing it fails.
 */
async function ensureChatBundle() {
  const root = process.env.NEMOVIDEO_N8N_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-nemovideo');
  const dir = path.join(root, `n8n-chat-${CHAT_PACKAGE_VERSION}`);
  const dist = path.join(dir, 'package', 'dist');
  if (fs.existsSync(path.join(dist, 'chat.bundle.es.js'))) return dist;
  fs.mkdirSync(dir, { recursive: true });
  await run('npm', ['pack', `@n8n/chat@${CHAT_PACKAGE_VERSION}`, '--pack-destination', dir], { cwd: dir, env: cleanEnv(), label: 'npm pack @n8n/chat', timeoutMs: 300000 });
  const tarball = fs.readdirSync(dir).find((name) => name.endsWith('.tgz'));
  await run('tar', ['-xzf', tarball], { cwd: dir, env: cleanEnv(), label: 'tar', timeoutMs: 60000 });
  if (!fs.existsSync(path.join(dist, 'chat.bundle.es.js'))) throw new Error(`@n8n/chat@${CHAT_PACKAGE_VERSION} has no dist/chat.bundle.es.js`);
  log(`@n8n/chat ${CHAT_PACKAGE_VERSION} unpacked into ${dir}`);
  return dist;
}

const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.ico': 'image/x-icon' };

/**
 * Answers the page's requests for @n8n/chat on the CDN with the package's files (playwright route interception);
 * any other request off the machine is refused (the page must not depend on it). Returns what was served.
 */
async function serveChatBundle(context, dist) {
  const served = [];
  await context.route(/^https?:\/\/(?!127\.0\.0\.1|localhost)/, async (route) => {
    const url = route.request().url();
    const match = CHAT_CDN.exec(url.split('?')[0]);
    const file = match && path.join(dist, match[1]);
    if (file && file.startsWith(dist) && fs.existsSync(file)) {
      served.push(match[1]);
      return route.fulfill({ status: 200, body: fs.readFileSync(file), headers: { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'access-control-allow-origin': '*' } });
    }
    // normalize.css and anything else from outside: an empty answer, as an unreachable CDN would leave it.
    return route.fulfill({ status: 200, body: '', headers: { 'content-type': url.endsWith('.css') ? 'text/css' : 'text/plain' } });
  });
  return served;
}

module.exports = { chatTestCopy, sendChat, ensureChatBundle, serveChatBundle, CHAT_PACKAGE_VERSION };
