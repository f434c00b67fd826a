'use strict';
// The MCP side of the real-n8n suites: the official MCP SDK client (@modelcontextprotocol/sdk, Streamable HTTP
// transport) against an n8n MCP Server Trigger, the wait for its production endpoint, a static server that gives
// the sample photos public-looking URLs, and test copies of examples/04-mcp-server.json.
//
//   const photos = await servePhotos(SAMPLE_PHOTOS);          // photos.urls: http://127.0.0.1:<port>/photos/photo-1.jpg …
//   const workflow = mcpTestCopy({ id, credentialId, bearerCredentialId, set: { 'NemoVideo Export & Wait': { 'options.toolTimeoutSeconds': 10 } } });
//   await waitForMcpEndpoint(`${n8n.url}/mcp/nemovideo`, { isAlive });
//   const mcp = await connectMcp(url, { token });
//   const r = await mcp.call('NemoVideo_Credits', {});         // { text, bytes, isError, ms, json }
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const { SSEClientTransport } = require('@modelcontextprotocol/sdk/client/sse.js');
const { loadExample } = require('./examples');
const { sleep } = require('./proc');

const MCP_EXAMPLE = '04-mcp-server.json';
const AGENT_EXAMPLE = '05-ai-agent.json';
/** What MCP clients commonly allow a call before giving up (the SDK's own default is the same 60 s). */
const CLIENT_TIMEOUT_MS = 60000;

/**
 * Waits until n8n serves the MCP endpoint of a published workflow: n8n 2.41 answers /healthz/readiness before it has
 * registered the production webhooks, and an unregistered path answers 404. A DELETE without a session touches no
 * session (n8n answers 400, or 403 without the bearer token); anything but 404 means the trigger is listening.
 * `isAlive()` (optional) stops the wait early when n8n has exited.
 * @param {string} url
 * @param {{ timeoutMs?: number, isAlive?: () => boolean }} [options]
 * @returns {Promise<{ status: number, ms: number }>}
 */
async function waitForMcpEndpoint(url, { timeoutMs = 60000, isAlive = () => true } = {}) {
  const t0 = Date.now();
  let last = 'no answer';
  while (Date.now() - t0 < timeoutMs) {
    if (!isAlive()) throw new Error(`n8n exited while waiting for ${url} (last: ${last})`);
    try {
      const res = await fetch(url, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status !== 404) return { status: res.status, ms: Date.now() - t0 };
      last = 'HTTP 404';
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`${url} still not registered after ${timeoutMs} ms (last: ${last})`);
}

/** Activates a workflow the way its n8n line does it: `publish:workflow` on 2.x, `update:workflow --active=true` on 1.x. */
async function publishWorkflow(n8n, workflowId) {
  const oneX = /^1\./.test(String(n8n.install.version));
  await n8n.cliOk(oneX ? ['update:workflow', `--id=${workflowId}`, '--active=true'] : ['publish:workflow', `--id=${workflowId}`]);
}

/**
 * An MCP client session on `url`; `token` goes in as `Authorization: Bearer …` (the trigger's Bearer Auth).
 * `sse: true` uses the older HTTP+SSE transport (GET opens the stream) that some clients still speak.
 * @param {string} url
 * @param {{ token?: string, name?: string, sse?: boolean }} [options]
 */
async function connectMcp(url, { token, name = 'nemovideo-e2e', sse = false } = {}) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const Transport = sse ? SSEClientTransport : StreamableHTTPClientTransport;
  const transport = new Transport(new URL(url), { requestInit: { headers } });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    /** tools/list: [{ name, description, inputSchema }] */
    listTools: async () => (await client.listTools()).tools,
    /**
     * tools/call with the client's usual 60 s limit. Returns the single text block n8n answers with, its size in
     * UTF-8 bytes (what the agent's context pays for), isError, the call's time and the text parsed as JSON if it is.
     */
    call: async (tool, args, { timeoutMs = CLIENT_TIMEOUT_MS } = {}) => {
      const t0 = Date.now();
      // n8n answers with content blocks (the current protocol's result), not the pre-2024 `toolResult` shape.
      const result = /** @type {import('@modelcontextprotocol/sdk/types.js').CallToolResult} */ (
        await client.callTool({ name: tool, arguments: args }, undefined, { timeout: timeoutMs })
      );
      const ms = Date.now() - t0;
      const texts = (result.content || []).filter((c) => c.type === 'text').map((c) => c.text);
      const text = texts.join('\n');
      return { text, bytes: Buffer.byteLength(text, 'utf8'), isError: result.isError === true, ms, json: parseJson(text), blocks: (result.content || []).length };
    },
    close: async () => {
      if ('terminateSession' in transport) await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The first output item of a tool call: n8n answers a tool call with the node's output items as JSON (an array of
 * items, or one object). Undefined when the text is not JSON (an error message).
 */
function firstItem(json) {
  if (Array.isArray(json)) return json[0] && json[0].json !== undefined ? json[0].json : json[0];
  if (json && typeof json === 'object' && json.json !== undefined) return json.json;
  return json;
}

/**
 * Serves the files of `dir` at http://127.0.0.1:<port>/photos/<name> (the URLs an agent would pass: public,
 * ending in the file's extension). Records every request, so a test can tell whether anyone fetched them.
 */
async function servePhotos(dir, { count = 5 } = {}) {
  const names = fs.readdirSync(dir).filter((name) => /\.(jpe?g|png)$/i.test(name)).sort().slice(0, count);
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method, url: req.url });
    const name = decodeURIComponent((req.url || '').replace(/^\/photos\//, '').split('?')[0]);
    if (!names.includes(name)) {
      res.writeHead(404).end();
      return;
    }
    const file = path.join(dir, name);
    res.writeHead(200, { 'content-type': name.endsWith('.png') ? 'image/png' : 'image/jpeg', 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  return {
    urls: names.map((name) => `${base}/photos/${encodeURIComponent(name)}`),
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Sets `value` at a dotted parameter path (`options.toolTimeoutSeconds`). */
function setParameter(parameters, dotted, value) {
  const keys = dotted.split('.');
  let at = parameters;
  for (const key of keys.slice(0, -1)) at = at[key] = at[key] && typeof at[key] === 'object' ? at[key] : {};
  at[keys[keys.length - 1]] = value;
}

/**
 * A runnable copy of example 4: the NemoVideo credential and the trigger's bearer credential replaced, an own
 * webhook path if given, and fixed (not $fromAI) parameters set per node name, e.g. a short tool bound.
 * @param {{ id: string, credentialId: string, bearerCredentialId: string, mcpPath?: string,
 *   set?: Record<string, Record<string, unknown>> }} options
 */
function mcpTestCopy({ id, credentialId, bearerCredentialId, mcpPath, set = {} }) {
  const text = JSON.stringify(loadExample(MCP_EXAMPLE))
    .replaceAll('REPLACE_WITH_CREDENTIAL_ID', credentialId)
    .replaceAll('REPLACE_WITH_MCP_TOKEN_CREDENTIAL_ID', bearerCredentialId);
  const workflow = JSON.parse(text);
  workflow.id = id;
  const trigger = workflow.nodes.find((node) => node.type === '@n8n/n8n-nodes-langchain.mcpTrigger');
  if (mcpPath) trigger.parameters.path = mcpPath;
  for (const [nodeName, values] of Object.entries(set)) {
    const node = workflow.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`${MCP_EXAMPLE} has no node "${nodeName}"`);
    for (const [dotted, value] of Object.entries(values)) setParameter(node.parameters, dotted, value);
  }
  return { workflow, path: trigger.parameters.path };
}

const OWNER = { email: 'mcp-owner@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-Passw0rd!' };

/** The auth cookie of the instance owner: sets the owner up on a fresh instance, else signs in. */
async function ownerCookie(baseUrl) {
  const post = (p, body) => fetch(`${baseUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30000) });
  let res = await post('/rest/owner/setup', OWNER);
  if (!res.ok) res = await post('/rest/login', { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
  const cookie = (res.headers.getSetCookie() || []).map((c) => c.split(';')[0]).find((c) => c.startsWith('n8n-auth='));
  if (!res.ok || !cookie) throw new Error(`could not sign in to ${baseUrl} as the owner: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
  return cookie;
}

/**
 * Node types n8n knows, read from the types file its editor loads (`/types/nodes.json`, written at start with the
 * community packages and the generated `…Tool` variants; signed-in users only). Map: type -> { versions, inputs, outputs, description, toolDescription (its default) }.
 */
async function knownNodeTypes(baseUrl) {
  const res = await fetch(`${baseUrl}/types/nodes.json`, { headers: { cookie: await ownerCookie(baseUrl) }, signal: AbortSignal.timeout(30000) });
  if (res.status !== 200) throw new Error(`GET ${baseUrl}/types/nodes.json -> HTTP ${res.status}`);
  const known = new Map();
  for (const type of await res.json()) {
    const versions = Array.isArray(type.version) ? type.version : [type.version];
    const toolDescription = (type.properties || []).find((property) => property.name === 'toolDescription');
    const entry = known.get(type.name) || { versions: [], outputs: [], inputs: [], description: type.description, toolDescription: toolDescription && toolDescription.default };
    entry.versions.push(...versions);
    entry.outputs.push(...[].concat(type.outputs || []).map(connectionType));
    entry.inputs.push(...[].concat(type.inputs || []).map(connectionType));
    known.set(type.name, entry);
  }
  return known;
}

function connectionType(c) {
  return typeof c === 'string' ? c : c && c.type ? c.type : String(c);
}

/**
 * Problems n8n would have with a workflow's nodes: a type it does not know, a version the type does not have, a
 * connection out of a node whose type has no such output (an `ai_tool` link from a node that is not a tool).
 * Outputs written as expressions (e.g. the AI Agent's) cannot be checked this way and are skipped.
 */
function unknownNodes(workflow, known) {
  const problems = [];
  const byName = new Map(workflow.nodes.map((node) => [node.name, node]));
  for (const node of workflow.nodes) {
    const type = known.get(node.type);
    if (!type) problems.push(`${node.name}: unknown node type ${node.type}`);
    else if (!type.versions.includes(node.typeVersion)) problems.push(`${node.name}: ${node.type} has no version ${node.typeVersion} (has ${type.versions.join(', ')})`);
  }
  for (const [from, outputs] of Object.entries(workflow.connections)) {
    const node = byName.get(from);
    if (!node) {
      problems.push(`connection from a node that is not in the workflow: ${from}`);
      continue;
    }
    const type = known.get(node.type);
    for (const [kind, lists] of Object.entries(outputs)) {
      for (const link of lists.flat()) {
        if (!byName.has(link.node)) problems.push(`${from} -> ${link.node}: no such node`);
        if (link.type !== kind) problems.push(`${from} -> ${link.node}: link type ${link.type} under ${kind}`);
      }
      const staticOutputs = type && type.outputs.filter((o) => !o.startsWith('='));
      if (type && staticOutputs.length && !staticOutputs.includes(kind)) problems.push(`${from} (${node.type}) has no ${kind} output (has ${staticOutputs.join(', ')})`);
    }
  }
  return problems;
}

module.exports = {
  MCP_EXAMPLE,
  AGENT_EXAMPLE,
  CLIENT_TIMEOUT_MS,
  waitForMcpEndpoint,
  publishWorkflow,
  connectMcp,
  firstItem,
  servePhotos,
  mcpTestCopy,
  knownNodeTypes,
  unknownNodes,
};
