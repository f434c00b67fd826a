#!/usr/bin/env node
'use strict';
// The NemoVideo nodes as AI tools in real n8n (2.41.1; run-all.js runs it on 1.123 too), driven by the official
// MCP SDK client over the MCP Server Trigger of examples/04-mcp-server.json (a test copy: its credentials on the
// emulator and a local bearer token, Export & Wait's tool bound fixed low), against the emulator rendering real
// H.264 (ffmpeg): the tool list (descriptions, input schemas) over Streamable HTTP and over HTTP+SSE; Photo to Video
// from 5 photo URLs in one call and the returned URL fetched and probed; a render longer than the tool bound answered
// with its status in time, then fetched by renderId without a second render; Credits; the error texts (no credits,
// unknown session, a tool left at its default Session ID); every tool output's size; examples 4 and 5 as shipped
// imported and their nodes recognised by n8n. No LLM runs here: the client calls the tools with the arguments an
// agent would give.
//   node test/e2e/mcp.js   (NEMOVIDEO_N8N_LINE=1.123 for the 1.x line, NEMOVIDEO_E2E_TARBALL=<tgz> installs that
//                           package, NEMOVIDEO_E2E_BUILD=1 builds first, NEMOVIDEO_E2E_VERBOSE=1 streams n8n's output)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n } = require('./lib/install');
const { N8nInstance, packageTarball, packageLoadErrors, PACKAGE_NAME } = require('./lib/n8n');
const { startEmulator } = require('./lib/emulator');
const { runTests, assert } = require('./lib/runner');
const { loadExample, SAMPLE_PHOTOS } = require('./lib/examples');
const { probeVideo } = require('./lib/ffprobe');
const { MCP_EXAMPLE, AGENT_EXAMPLE, waitForMcpEndpoint, publishWorkflow, connectMcp, firstItem, servePhotos, mcpTestCopy, knownNodeTypes, unknownNodes } = require('./lib/mcp');

const OWN_TOKEN = 'nmv_usr_own_e2e_mcp';
const MCP_BEARER = 'e2e-mcp-bearer-7f3a9c';
const CREDITS = 10000;
const NORMAL_RENDER_MS = 1000;
/** Export & Wait's tool bound in the test copy, and a render that takes longer than it but less than twice it. */
const TOOL_BOUND_SECONDS = 10;
const LONG_RENDER_MS = 16000;
/** The tool bound example 4 ships with (the node's default), and a render that outlasts it by less than Export's bound. */
const DEFAULT_BOUND_SECONDS = 45;
const DEFAULT_BOUND_RENDER_MS = 50000;
/** Time n8n may add around a node's own bound (execution set-up, the MCP round trip). */
const BOUND_SLACK_MS = 4000;
/** The tool-mode output goal of issue 12 for Photo to Video and Export, 5 photos. */
const COMPACT_BYTES = 2048;
const TOOLS = {
  photoToVideo: 'NemoVideo_Photo_to_Video',
  upload: 'NemoVideo_Upload',
  generate: 'NemoVideo_Generate',
  getState: 'NemoVideo_Get_State',
  exportWait: 'NemoVideo_Export_Wait',
  credits: 'NemoVideo_Credits',
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-e2e-mcp-'));
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }));
let n8n;
let emu;
let photos;
let mcp;
let mcpUrl;
let tools = [];
let defaultsUrl;

/**
 * A second MCP server with one Generate tool as a user adding it by hand leaves it: Session ID at its default
 * `{{ $json.sessionId }}`, which is empty in a tool call.
 */
function defaultsWorkflow(example) {
  const trigger = { ...example.nodes.find((node) => node.type === '@n8n/n8n-nodes-langchain.mcpTrigger') };
  trigger.parameters = { ...trigger.parameters, path: 'nemovideo-defaults' };
  trigger.webhookId = '4c2b9e51-7d3a-4f60-8b11-5e6d7c8b9a02';
  const generate = example.nodes.find((node) => node.name === 'NemoVideo Generate');
  const tool = { ...generate, id: '4c2b9e51-7d3a-4f60-8b11-0000000000f1', name: 'Generate With Defaults', parameters: { prompt: 'Make a slideshow' } };
  return {
    path: trigger.parameters.path,
    workflow: {
      id: 'e2eMcpDefaults',
      name: 'e2e: a Generate tool left at its defaults',
      nodes: [trigger, tool],
      connections: { [tool.name]: { ai_tool: [[{ node: trigger.name, type: 'ai_tool', index: 0 }]] } },
      settings: { executionOrder: 'v1' },
    },
  };
}
const sizes = []; // { tool, what, bytes, ms }

function record(tool, what, r) {
  sizes.push({ tool, what, bytes: r.bytes, ms: r.ms });
  console.log(`     ${tool} (${what}): ${r.bytes} bytes in ${(r.ms / 1000).toFixed(1)} s${r.isError ? ' [isError]' : ''}`);
}

/** The item a tool call answered, or a failure that shows what n8n said instead. */
function itemOf(r, tool) {
  const item = firstItem(r.json);
  assert(!r.isError && item && typeof item === 'object', `${tool} did not answer an item (isError ${r.isError}): ${r.text.slice(0, 1500)}`);
  return item;
}

/** Runs `fn` with the emulator's renders taking `ms` (a render's end is computed from it, so it is restored only after). */
async function withRenderMs(ms, fn) {
  await emu.admin.config({ renderMs: ms });
  try {
    return await fn();
  } finally {
    await emu.admin.config({ renderMs: NORMAL_RENDER_MS });
  }
}

async function lastSeq() {
  return Math.max(0, ...(await emu.admin.requests()).map((request) => request.seq));
}

/** Downloads a video URL the way an agent's user would (no token) and probes it. */
async function fetchVideo(url, name) {
  assert(/^https?:\/\//.test(url || ''), `not a video URL: ${url}`);
  const res = await fetch(url, { signal: AbortSignal.timeout(60000) });
  assert(res.status === 200, `GET ${url} -> HTTP ${res.status}`);
  const file = path.join(work, name);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const info = probeVideo(file);
  console.log(`     ${url} -> ${info.codec} ${info.width}x${info.height}, ${info.durationSeconds.toFixed(2)} s, ${info.bytes} bytes`);
  assert(info.codec === 'h264', `codec ${info.codec}, expected h264`);
  return info;
}

/** The $fromAI arguments of a node as the example writes them: { key: { description, type } }. */
function fromAiArguments(node) {
  const args = {};
  const walk = (value) => {
    if (typeof value === 'string') for (const m of value.matchAll(/\$fromAI\('([^']*)', '([^']*)', '([^']*)'\)/g)) args[m[1]] = { description: m[2], type: m[3] };
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(node.parameters);
  return args;
}

/**
 * Export & Wait with a renderId until the render is completed: each call must return within the tool bound and
 * either report the render still running or give its url. A slow machine may need more than one call.
 */
async function exportByRenderId(renderId, what, maxCalls = 4) {
  for (let call = 1; call <= maxCalls; call++) {
    const r = await mcp.call(TOOLS.exportWait, { sessionId: '', renderId });
    record(TOOLS.exportWait, `${what}${call > 1 ? ` (call ${call})` : ''}`, r);
    const item = itemOf(r, TOOLS.exportWait);
    assert(item.renderId === renderId, `Export & Wait answered render ${item.renderId}, asked ${renderId}: ${r.text.slice(0, 800)}`);
    assert(r.ms <= TOOL_BOUND_SECONDS * 1000 + BOUND_SLACK_MS, `Export & Wait with the renderId took ${r.ms} ms, the bound is ${TOOL_BOUND_SECONDS} s`);
    assert(r.bytes <= COMPACT_BYTES, `the Export & Wait answer is ${r.bytes} bytes`);
    if (item.status === 'completed') {
      assert(item.url, `completed without a url: ${r.text.slice(0, 800)}`);
      return { item, calls: call };
    }
    assert(['pending', 'processing'].includes(item.status), `Export & Wait with the renderId: ${r.text.slice(0, 800)}`);
  }
  throw new Error(`render ${renderId} not completed after ${maxCalls} Export & Wait calls`);
}

function tokenFree(text, where) {
  for (const secret of [OWN_TOKEN, MCP_BEARER]) assert(!text.includes(secret), `${where} contains a token`);
}

function printSizes() {
  if (!sizes.length) return;
  console.log('     tool output sizes (the MCP text block, UTF-8 bytes):');
  console.log('     | tool | call | bytes | time |');
  console.log('     |---|---|---:|---:|');
  for (const s of sizes) console.log(`     | ${s.tool} | ${s.what} | ${s.bytes} | ${(s.ms / 1000).toFixed(1)} s |`);
  console.log(`MCP_SIZES ${JSON.stringify(sizes)}`);
}

runTests(
  'real n8n: the NemoVideo tools over the MCP Server Trigger (example 4), official MCP SDK client',
  [
    {
      name: 'set up: n8n with the packed package, the emulator with ffmpeg, example 4 published, the MCP endpoint answering',
      fn: async () => {
        const [install, tarball] = await Promise.all([ensureN8n(), packageTarball()]);
        n8n = await N8nInstance.create({ install });
        await n8n.installPackage(tarball);
        emu = await startEmulator({ ffmpeg: true, renderMs: NORMAL_RENDER_MS });
        await emu.admin.addToken({ token: OWN_TOKEN, credits: CREDITS, anonymous: false });
        photos = await servePhotos(SAMPLE_PHOTOS);
        const [credentialId, bearerCredentialId] = await n8n.importCredentials([
          { name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: OWN_TOKEN, baseUrl: emu.baseUrl } },
          { name: 'NemoVideo MCP token', type: 'httpBearerAuth', data: { token: MCP_BEARER } },
        ]);
        const copy = mcpTestCopy({
          id: 'e2eMcpExample4',
          credentialId,
          bearerCredentialId,
          set: {
            'NemoVideo Export & Wait': { 'options.toolTimeoutSeconds': TOOL_BOUND_SECONDS },
            // The canvas default (download on), as a user adding the tool by hand leaves it: a tool downloads nothing.
            'NemoVideo Photo to Video': { download: true },
          },
        });
        const defaults = defaultsWorkflow(copy.workflow);
        await n8n.importWorkflow([copy.workflow, defaults.workflow]);
        for (const workflow of [copy.workflow, defaults.workflow]) await publishWorkflow(n8n, workflow.id);
        await n8n.start();
        mcpUrl = `${n8n.url}/mcp/${copy.path}`;
        defaultsUrl = `${n8n.url}/mcp/${defaults.path}`;
        const main = n8n.mainProcess;
        const isAlive = () => main.child.exitCode === null && main.child.signalCode === null;
        const ready = await waitForMcpEndpoint(mcpUrl, { timeoutMs: 90000, isAlive });
        await waitForMcpEndpoint(defaultsUrl, { timeoutMs: 90000, isAlive });
        console.log(`     ${mcpUrl} answers (HTTP ${ready.status}) ${(ready.ms / 1000).toFixed(1)} s after readiness; photos at ${photos.urls[0]} …`);
        const errors = packageLoadErrors(main.output);
        assert(!errors.length, `n8n failed to load ${PACKAGE_NAME}: ${errors.join(' | ')}`);
        mcp = await connectMcp(mcpUrl, { token: MCP_BEARER });
      },
    },
    {
      name: 'the endpoint refuses a client without the bearer token',
      fn: async () => {
        let refused;
        try {
          const stranger = await connectMcp(mcpUrl);
          await stranger.close();
        } catch (e) {
          refused = e;
        }
        assert(refused, 'an MCP client without the bearer token connected');
        assert(refused.code === 403, `refused, but not with HTTP 403: ${refused.code} ${refused.message}`);
      },
    },
    {
      name: 'tools/list: the six NemoVideo tools, descriptions written for agents, input schemas from the $fromAI arguments',
      fn: async () => {
        tools = await mcp.listTools();
        const known = await knownNodeTypes(n8n.url);
        const names = tools.map((tool) => tool.name).sort();
        assert(JSON.stringify(names) === JSON.stringify(Object.values(TOOLS).sort()), `tools: ${names.join(', ')}`);
        const example = loadExample(MCP_EXAMPLE);
        const problems = [];
        for (const tool of tools) {
          const node = example.nodes.find((n) => n.name.replace(/[^a-zA-Z0-9_-]+/g, '_') === tool.name);
          const d = tool.description || '';
          console.log(`     ${tool.name} (${d.length} chars): ${d.slice(0, 160)}${d.length > 160 ? '…' : ''}`);
          // Issue 12: what it does, what it costs, what goes in and comes out; nothing about binary data, which never reaches an agent.
          // What the node declares for agents (n8n's editor shows it as the tool's Description) is what the client gets.
          const declared = known.get(node.type) || {};
          if (d !== declared.toolDescription) {
            const canvas = (known.get(node.type.replace(/Tool$/, '')) || {}).description;
            problems.push(d === canvas && declared.toolDescription !== canvas
              ? `${tool.name}: n8n served the canvas description, not the agent one. n8n 2.41.1 applies usableAsTool.replacements only to the editor's types file; at run time the tool's Description defaults to the node's description. Fix: give the node a property toolDescription (default: the agent text, displayOptions.show['@tool'] = [true])`
              : `${tool.name}: served ${JSON.stringify(d.slice(0, 80))}, the node declares ${JSON.stringify(String(declared.toolDescription).slice(0, 80))}`);
          }
          if (d.length < 80) problems.push(`${tool.name}: description of ${d.length} characters`);
          if (!/credits?\b|\bfree\b/i.test(d)) problems.push(`${tool.name}: the description does not say what it costs (credits, or free)`);
          if (/binary/i.test(d)) problems.push(`${tool.name}: the description talks about binary data`);
          if ([TOOLS.photoToVideo, TOOLS.exportWait].includes(tool.name) && !/\burl\b/i.test(d)) problems.push(`${tool.name}: the description does not say the result holds url`);
          if ([TOOLS.upload, TOOLS.generate, TOOLS.exportWait].includes(tool.name) && !/(upload|generate|export).*(upload|generate|export)/is.test(d.replace(new RegExp(`^${tool.name.split('_')[1]}`, 'i'), ''))) {
            problems.push(`${tool.name}: the description does not give the order of the steps (Upload → Generate → Export)`);
          }
          const schema = tool.inputSchema || {};
          const expected = fromAiArguments(node);
          const got = schema.properties || {};
          if (JSON.stringify(Object.keys(got).sort()) !== JSON.stringify(Object.keys(expected).sort())) problems.push(`${tool.name}: arguments ${Object.keys(got).join(', ')}, the example has ${Object.keys(expected).join(', ')}`);
          if (JSON.stringify([...(schema.required || [])].sort()) !== JSON.stringify(Object.keys(expected).sort())) problems.push(`${tool.name}: required ${JSON.stringify(schema.required)}`);
          for (const [key, want] of Object.entries(expected)) {
            const prop = got[key] || {};
            if (prop.type !== want.type) problems.push(`${tool.name}.${key}: type ${prop.type}, expected ${want.type}`);
            if (prop.description !== want.description) problems.push(`${tool.name}.${key}: description ${JSON.stringify(prop.description)}`);
          }
        }
        const aspect = tools.find((tool) => tool.name === TOOLS.photoToVideo).inputSchema.properties.aspectRatio;
        for (const ratio of ['16:9', '9:16', '1:1']) if (!aspect.description.includes(ratio)) problems.push(`aspectRatio does not list ${ratio}`);
        assert(!problems.length, problems.join('\n'));
      },
    },
    {
      name: 'an older client on the HTTP+SSE transport (GET opens the stream) gets the same tools on the same URL',
      fn: async () => {
        const old = await connectMcp(mcpUrl, { token: MCP_BEARER, sse: true });
        try {
          const names = (await old.listTools()).map((tool) => tool.name).sort();
          assert(JSON.stringify(names) === JSON.stringify(Object.values(TOOLS).sort()), `over SSE: ${names.join(', ')}`);
          const r = await old.call(TOOLS.credits, {});
          assert(itemOf(r, TOOLS.credits).available === CREDITS, `Credits over SSE: ${r.text}`);
        } finally {
          await old.close();
        }
      },
    },
    {
      name: 'Credits: one call answers the balance as readable JSON',
      fn: async () => {
        const r = await mcp.call(TOOLS.credits, {});
        record(TOOLS.credits, 'balance', r);
        const item = itemOf(r, TOOLS.credits);
        assert(item.available === CREDITS, `available ${item.available}, the emulator holds ${CREDITS}: ${r.text}`);
        tokenFree(r.text, 'the Credits answer');
      },
    },
    {
      name: 'Photo to Video: 5 photo URLs in ONE call -> a compact answer with the URL of an H.264 MP4',
      fn: async () => {
        const seq = await lastSeq();
        const r = await mcp.call(TOOLS.photoToVideo, {
          photoUrls: photos.urls.join('\n'),
          prompt: 'A 10 second slideshow with smooth transitions, 1080p',
          aspectRatio: '16:9',
          lengthSeconds: 10,
        });
        record(TOOLS.photoToVideo, '5 photo URLs -> video', r);
        console.log(`     the agent gets: ${r.text}`);
        const item = itemOf(r, TOOLS.photoToVideo);
        assert(item.status === 'completed', `status ${item.status}: ${r.text.slice(0, 800)}`);
        for (const key of ['sessionId', 'renderId', 'url', 'summary']) assert(item[key], `the answer has no ${key}: ${r.text.slice(0, 800)}`);
        assert(r.bytes <= COMPACT_BYTES, `the answer is ${r.bytes} bytes, the goal is at most ${COMPACT_BYTES} for 5 photos: ${r.text.slice(0, 1500)}`);
        const fetched = (await emu.admin.requests({ since: seq })).filter((request) => ['download', 'cdn'].includes(request.route));
        assert(!fetched.length, `the tool downloaded the video (${fetched.length} download requests): binary data never reaches an agent`);
        const info = await fetchVideo(item.url, 'photo-to-video.mp4');
        assert(info.width === 1920 && info.height === 1080, `${info.width}x${info.height}, asked for 16:9`);
        const calls = (await emu.admin.requests({ since: seq })).filter((request) => request.route !== 'admin');
        const count = (route) => calls.filter((c) => c.route === route).length;
        assert(count('session') === 1 && count('upload') === 1 && count('renderStart') === 1, `calls for one video: ${calls.map((c) => c.route).join(', ')}`);
        const uploaded = calls.find((c) => c.route === 'upload').json;
        assert(uploaded && JSON.stringify(uploaded.urls) === JSON.stringify(photos.urls), `the service was sent ${JSON.stringify(uploaded)}`);
        // The URLs go to the service as given: n8n never fetches the photos (NemoVideo must reach them, not n8n).
        assert(!photos.requests.length, `n8n fetched the photos itself: ${JSON.stringify(photos.requests.slice(0, 3))}`);
        tokenFree(r.text, 'the Photo to Video answer');
      },
    },
    {
      name: `step by step with a render longer than the tool bound (${TOOL_BOUND_SECONDS} s): status in time, then the URL by renderId, one render`,
      fn: async () => {
        const seq = await lastSeq();
        const upload = await mcp.call(TOOLS.upload, { sessionId: 'new', photoUrls: photos.urls.join(', ') });
        record(TOOLS.upload, '5 photo URLs, sessionId "new"', upload);
        const sessionId = itemOf(upload, TOOLS.upload).sessionId;
        assert(sessionId, `Upload answered no sessionId: ${upload.text.slice(0, 800)}`);

        const generate = await mcp.call(TOOLS.generate, { sessionId, prompt: 'Make a 12 second slideshow with smooth transitions, 1080p' });
        record(TOOLS.generate, 'slideshow prompt', generate);
        const generated = itemOf(generate, TOOLS.generate);
        assert(generated.sessionId === sessionId, `Generate answered session ${generated.sessionId}, asked ${sessionId}`);

        const state = await mcp.call(TOOLS.getState, { sessionId });
        record(TOOLS.getState, 'timeline of 5 photos', state);
        const timeline = itemOf(state, TOOLS.getState);
        assert(timeline.readyToExport === true && timeline.timeline, `Get State: ${state.text.slice(0, 800)}`);
        assert(!('draft' in timeline), `Get State in tool mode answers the raw draft too (${state.bytes} bytes)`);

        await withRenderMs(LONG_RENDER_MS, async () => {
          const first = await mcp.call(TOOLS.exportWait, { sessionId, renderId: '' });
          record(TOOLS.exportWait, `render still running after the ${TOOL_BOUND_SECONDS} s bound`, first);
          console.log(`     the agent gets: ${first.text}`);
          const pending = itemOf(first, TOOLS.exportWait);
          assert(['pending', 'processing'].includes(pending.status) && pending.renderId, `the first Export answer: ${first.text.slice(0, 800)}`);
          assert(typeof pending.progress === 'number', `the unfinished render has no progress: ${first.text.slice(0, 800)}`);
          assert(/renderId/.test(String(pending.nextStep)), `nextStep does not say to call again with the renderId: ${first.text.slice(0, 800)}`);
          assert(first.ms <= TOOL_BOUND_SECONDS * 1000 + BOUND_SLACK_MS, `the first Export call took ${first.ms} ms, the bound is ${TOOL_BOUND_SECONDS} s`);
          assert(first.bytes <= COMPACT_BYTES, `the unfinished-render answer is ${first.bytes} bytes`);

          const { item: done, calls } = await exportByRenderId(pending.renderId, 'again with the renderId -> url');
          console.log(`     the render finished ${calls === 1 ? 'on the second call' : `after ${calls} more calls`}`);
          await fetchVideo(done.url, 'step-by-step.mp4');
        });

        const starts = await emu.admin.requests({ route: 'renderStart', since: seq });
        assert(starts.length === 1, `${starts.length} render starts for one video (the renderId call must not start another)`);
      },
    },
    {
      name: `Photo to Video at its shipped bound (${DEFAULT_BOUND_SECONDS} s) with a ${DEFAULT_BOUND_RENDER_MS / 1000} s render: the status before the client's 60 s limit, then the URL from Export & Wait by renderId, one render`,
      fn: async () => {
        const seq = await lastSeq();
        await withRenderMs(DEFAULT_BOUND_RENDER_MS, async () => {
          const first = await mcp.call(TOOLS.photoToVideo, { photoUrls: photos.urls.join('\n'), prompt: 'A square slideshow with smooth transitions', aspectRatio: '1:1', lengthSeconds: 10 });
          record(TOOLS.photoToVideo, `render still running after the ${DEFAULT_BOUND_SECONDS} s bound`, first);
          const pending = itemOf(first, TOOLS.photoToVideo);
          assert(['pending', 'processing'].includes(pending.status) && pending.renderId && pending.sessionId, `the first answer: ${first.text.slice(0, 800)}`);
          assert(first.ms <= DEFAULT_BOUND_SECONDS * 1000 + BOUND_SLACK_MS, `Photo to Video took ${first.ms} ms, its default bound is ${DEFAULT_BOUND_SECONDS} s`);
          assert(first.bytes <= COMPACT_BYTES, `the unfinished-render answer is ${first.bytes} bytes`);
          const { item: done } = await exportByRenderId(pending.renderId, 'the Photo to Video renderId -> url');
          const info = await fetchVideo(done.url, 'photo-to-video-square.mp4');
          assert(info.width === info.height, `${info.width}x${info.height}, asked for 1:1`);
          const starts = await emu.admin.requests({ route: 'renderStart', since: seq });
          assert(starts.length === 1, `${starts.length} render starts for one video`);
        });
      },
    },
    {
      name: 'output sizes at 100 photos (the size the issue measured before tool mode): Upload, Generate, Get State',
      fn: async () => {
        const urls = Array.from({ length: 100 }, (_, i) => `${photos.urls[i % photos.urls.length]}?n=${i + 1}`);
        const upload = await mcp.call(TOOLS.upload, { sessionId: 'new', photoUrls: urls.join('\n') });
        record(TOOLS.upload, '100 photo URLs', upload);
        const { sessionId } = itemOf(upload, TOOLS.upload);
        const generate = await mcp.call(TOOLS.generate, { sessionId, prompt: 'Make a 100 second slideshow with smooth transitions' });
        record(TOOLS.generate, 'slideshow of 100 photos', generate);
        itemOf(generate, TOOLS.generate);
        const state = await mcp.call(TOOLS.getState, { sessionId });
        record(TOOLS.getState, 'timeline of 100 photos', state);
        const timeline = itemOf(state, TOOLS.getState);
        assert(!('draft' in timeline), 'Get State in tool mode answers the raw draft');
        const segments = (timeline.timeline.tracks || []).reduce((n, track) => n + (track.segments || []).length, 0);
        assert(segments >= 100, `the timeline has ${segments} segments for 100 photos`);
      },
    },
    {
      name: 'errors an agent can act on: an unknown session names sessionId; no credits says so, with the code and whether to retry',
      fn: async () => {
        const unknown = 'sess_does_not_exist_0001';
        for (const [tool, args] of [[TOOLS.getState, { sessionId: unknown }], [TOOLS.generate, { sessionId: unknown, prompt: 'Make a slideshow' }]]) {
          const r = await mcp.call(tool, args);
          record(tool, 'unknown session (error)', r);
          console.log(`     ${tool} said: ${r.text.slice(0, 300)}`);
          assert(r.isError, `${tool} on an unknown session did not answer an error: ${r.text.slice(0, 500)}`);
          assert(/\bsessionId\b/.test(r.text), `${tool}: the error does not name the argument sessionId: ${r.text}`);
          assert(!/\n\s+at /.test(r.text) && !/\[object Object\]/.test(r.text), `${tool}: not a readable message: ${r.text.slice(0, 800)}`);
          assert(!/Session ID|Resume Render ID|Timeout \(Minutes\)/.test(r.text), `${tool}: the error names n8n settings an agent cannot see: ${r.text}`);
          tokenFree(r.text, `${tool}'s error`);
        }
        await emu.admin.setCredits(OWN_TOKEN, 0);
        try {
          const r = await mcp.call(TOOLS.photoToVideo, { photoUrls: photos.urls.join(','), prompt: 'A short slideshow', aspectRatio: '9:16', lengthSeconds: 0 });
          record(TOOLS.photoToVideo, 'no credits (error)', r);
          console.log(`     ${TOOLS.photoToVideo} said: ${r.text.slice(0, 400)}`);
          assert(r.isError, `no credits did not answer an error: ${r.text.slice(0, 500)}`);
          assert(/no nemovideo credits/i.test(r.text), `the error does not say that no credits are left: ${r.text}`);
          assert(/2001/.test(r.text), `the error does not carry the app code 2001: ${r.text}`);
          assert(/retry/i.test(r.text), `the error does not say whether retrying can help: ${r.text}`);
          assert(!/\n\s+at /.test(r.text), `not a readable message: ${r.text.slice(0, 800)}`);
          tokenFree(r.text, 'the no-credits error');
        } finally {
          await emu.admin.setCredits(OWN_TOKEN, CREDITS);
        }
      },
    },
    {
      name: 'no credits by accident: a Generate tool left at its default Session ID ({{ $json.sessionId }}, empty in a tool call) is refused before any session or AI call',
      fn: async () => {
        const seq = await lastSeq();
        const client = await connectMcp(defaultsUrl, { token: MCP_BEARER });
        try {
          const r = await client.call('Generate_With_Defaults', {});
          record('Generate_With_Defaults', 'Session ID left at its default (error)', r);
          console.log(`     Generate_With_Defaults said: ${r.text.slice(0, 300)}`);
          assert(r.isError, `a Generate tool at its defaults did not refuse: ${r.text.slice(0, 500)}`);
          assert(/\$fromAI\('sessionId'/.test(r.text), `the error does not say how to let the agent fill sessionId: ${r.text}`);
          const calls = (await emu.admin.requests({ since: seq })).filter((request) => ['session', 'sse', 'upload'].includes(request.route));
          assert(!calls.length, `the refused call still reached the service: ${calls.map((c) => c.route).join(', ')}`);
        } finally {
          await client.close();
        }
      },
    },
    {
      name: 'examples 4 and 5 as shipped import, read back unchanged, every node type and link recognised by n8n',
      fn: async () => {
        const known = await knownNodeTypes(n8n.url);
        const tool = known.get(`${PACKAGE_NAME}.nemoVideoPhotoToVideoTool`);
        assert(tool && tool.outputs.includes('ai_tool'), `n8n lists no tool variant of Photo to Video: ${JSON.stringify(tool)}`);
        // The check itself catches an unknown type and a plain node linked as a tool.
        const wrong = { nodes: [{ name: 'A', type: `${PACKAGE_NAME}.nemoVideoNope`, typeVersion: 1 }, { name: 'B', type: `${PACKAGE_NAME}.nemoVideoCredits`, typeVersion: 1 }], connections: { B: { ai_tool: [[{ node: 'A', type: 'ai_tool', index: 0 }]] } } };
        assert(unknownNodes(wrong, known).length === 2, `the recognition check misses problems: ${JSON.stringify(unknownNodes(wrong, known))}`);
        for (const [file, id] of [[MCP_EXAMPLE, 'e2eExample4Shipped'], [AGENT_EXAMPLE, 'e2eExample5Shipped']]) {
          const example = loadExample(file);
          const problems = unknownNodes(example, known);
          assert(!problems.length, `${file}: ${problems.join('; ')}`);
          assert(await n8n.importWorkflow({ ...example, id }) === id, `${file}: imported under another id`);
          const stored = (await n8n.exportWorkflows()).find((workflow) => workflow.id === id);
          assert(stored && stored.name === example.name, `${file} is not in n8n after the import`);
          const types = (w) => w.nodes.map((node) => `${node.name}:${node.type}@${node.typeVersion}`).sort().join(',');
          assert(types(stored) === types(example), `${file}: nodes stored ${types(stored)}, in the file ${types(example)}`);
          assert(JSON.stringify(stored.connections) === JSON.stringify(example.connections), `${file}: connections changed`);
          console.log(`     ${file}: ${stored.nodes.length} nodes (${[...new Set(stored.nodes.map((node) => node.type))].length} types, all known to n8n), ${Object.keys(stored.connections).length} connections`);
        }
      },
    },
  ],
  {
    afterAll: async () => {
      printSizes();
      if (mcp) await mcp.close().catch(() => undefined);
      if (photos) await photos.stop();
      if (emu) await emu.stop();
      if (n8n) await n8n.dispose();
    },
  },
);

