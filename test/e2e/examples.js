#!/usr/bin/env node
'use strict';
// The example workflows in real n8n (the line of NEMOVIDEO_N8N_LINE: 2.41 or 1.123, lib/install.js), with the package
// installed from its tarball as users install it, against the emulator rendering real H.264 slideshows (ffmpeg):
// example 1 (its trigger swapped for a manual one) and example 3 end to end with the MP4 on disk checked by ffprobe;
// a no-credits failure; the anonymous token kept in the credential across executions; examples 1 and 2 imported.
// N8N_DEFAULT_BINARY_DATA_MODE (memory `default` or `filesystem`) passes through to n8n; the suite checks n8n used it.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n } = require('./lib/install');
const { N8nInstance, packageTarball, nodeOutput } = require('./lib/n8n');
const { startEmulator } = require('./lib/emulator');
const { runTests, assert } = require('./lib/runner');
const { testCopy, copySamplePhotos, videosIn, loadExample } = require('./lib/examples');
const { probeVideo } = require('./lib/ffprobe');

const OWN_TOKEN = 'nmv_usr_own_e2e_examples';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-e2e-examples-'));
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const photosDir = path.join(work, 'photos');
let n8n;
let emu;
let ownCredential;
/** The binary data mode n8n runs in: as set, else n8n's default (1.x: in memory, 2.x: the filesystem). */
let binaryMode;

/** The binary property `data` of a node's first output item in a parsed run. */
function binaryOf(result, nodeName) {
  const runs = result && result.data && result.data.resultData && result.data.resultData.runData[nodeName];
  const item = runs && runs[0] && runs[0].data && runs[0].data.main && runs[0].data.main[0] && runs[0].data.main[0][0];
  return (item && item.binary && item.binary.data) || {};
}

/** A clean emulator with the own token holding `credits`. */
async function resetEmulator(credits) {
  await emu.admin.reset();
  await emu.admin.addToken({ token: OWN_TOKEN, credits, anonymous: false });
}

async function runExample(file, id, outName, credentialId = ownCredential) {
  const outDir = path.join(work, outName);
  fs.mkdirSync(outDir, { recursive: true });
  const workflow = testCopy(file, { id, photosDir, outDir, credentialId, manualTrigger: file.startsWith('01') });
  const workflowId = await n8n.importWorkflow(workflow);
  const r = await n8n.execute(workflowId);
  console.log(`     n8n execute ${file}: exit ${r.exitCode ?? r.signal} in ${(r.durationMs / 1000).toFixed(1)} s`);
  return { r, outDir };
}

function checkVideo(outDir, renders) {
  const videos = videosIn(outDir);
  assert(videos.length === 1, `expected one MP4 in ${outDir}, found ${videos.length}`);
  const info = probeVideo(videos[0]);
  const render = renders[renders.length - 1];
  console.log(`     ${path.basename(videos[0])}: ${info.codec} ${info.width}x${info.height}, ${info.durationSeconds.toFixed(2)} s, ${info.bytes} bytes (render said ${render.duration} s)`);
  assert(info.codec === 'h264', `codec ${info.codec}, expected h264`);
  assert(Math.abs(info.durationSeconds - render.duration) < 0.5, `duration ${info.durationSeconds} s, the render said ${render.duration} s`);
  return info;
}

runTests(
  'real n8n: example workflows',
  [
    {
      name: 'set up: n8n, the packed package, the emulator with ffmpeg',
      fn: async () => {
        copySamplePhotos(photosDir);
        const install = await ensureN8n();
        binaryMode = process.env.N8N_DEFAULT_BINARY_DATA_MODE || (install.version.startsWith('1.') ? 'default' : 'filesystem');
        console.log(`     n8n ${install.version} on Node ${install.nodeVersion}, binary data mode ${binaryMode}${process.env.N8N_DEFAULT_BINARY_DATA_MODE ? '' : " (n8n's default)"}`);
        n8n = await N8nInstance.create({ install, env: { N8N_RESTRICT_FILE_ACCESS_TO: work } });
        await n8n.installPackage(await packageTarball());
        emu = await startEmulator({ ffmpeg: true, renderMs: 1000 });
        await emu.admin.addToken({ token: OWN_TOKEN, credits: 10000, anonymous: false });
        [ownCredential] = await n8n.importCredentials([{ name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: OWN_TOKEN, baseUrl: emu.baseUrl } }]);
      },
    },
    {
      name: 'example 1 (manual trigger): a folder of photos becomes one H.264 MP4 on disk',
      fn: async () => {
        await resetEmulator(10000);
        const { r, outDir } = await runExample('01-scheduled-folder-to-video.json', 'e2eExample1', 'out-1');
        assert(r.exitCode === 0, `exit ${r.exitCode}: ${r.errorMessage}\n${r.stdout.slice(-3000)}`);
        const out = nodeOutput(r.result, 'Photo to Video');
        assert(out.length === 1 && out[0].status === 'completed', `Photo to Video output: ${JSON.stringify(out).slice(0, 500)}`);
        assert(out[0].photoCount === 5 && out[0].album === path.basename(photosDir), `album ${out[0].album} of ${out[0].photoCount} photos, expected ${path.basename(photosDir)} of 5`);
        const info = checkVideo(outDir, await emu.admin.renders());
        assert(info.width === 1920 && info.height === 1080, `size ${info.width}x${info.height}, expected 1920x1080 (16:9)`);
        assert(Math.abs(info.durationSeconds - 15) < 0.5, `duration ${info.durationSeconds}, the example asks for 15 s`);
        const sessions = await emu.admin.sessions();
        assert(sessions.length === 1, `${sessions.length} sessions for one folder, expected 1`);
        // The MP4 went through n8n's binary data store in the mode asked for: a reference in filesystem mode
        // ("filesystem-v2:…"), the bytes in the item in memory mode (n8n-core BinaryDataService.store).
        const video = binaryOf(r.result, 'Photo to Video');
        const inline = Boolean(video.data && video.data.length > 1000);
        console.log(`     binary data mode ${binaryMode}: the MP4 item's binary data is ${video.id ? `stored as ${video.id.split(':')[0]}:…` : inline ? 'in the item (base64)' : 'missing'}`);
        if (binaryMode === 'default') assert(!video.id && inline, `in-memory mode, yet the MP4 item holds ${JSON.stringify({ id: video.id, inline })}`);
        else assert(String(video.id).startsWith(`${binaryMode}`), `${binaryMode} mode, yet the MP4 item's binary id is ${video.id}`);
      },
    },
    {
      name: 'example 1, nights 2 and 3 in the same database: nothing new, nothing charged; 5 new photos, one video of them',
      fn: async () => {
        const before = async () => Math.max(0, ...(await emu.admin.requests()).map((request) => request.seq));
        const charged = async (since) => {
          const routes = (await emu.admin.requests({ since })).map((request) => request.route);
          const count = (route) => routes.filter((r) => r === route).length;
          return { sessions: count('session'), uploads: count('upload'), messages: count('sse'), renders: count('renderStart') };
        };
        const outDir = path.join(work, 'out-1');
        const videosBefore = videosIn(outDir).length;
        const night2 = await before();
        const two = await n8n.execute('e2eExample1');
        console.log(`     night 2: exit ${two.exitCode ?? two.signal} in ${(two.durationMs / 1000).toFixed(1)} s`);
        assert(two.exitCode === 0, `night 2 exit ${two.exitCode}: ${two.errorMessage}`);
        assert(nodeOutput(two.result, 'Photo to Video').length === 0, `night 2 output: ${JSON.stringify(nodeOutput(two.result, 'Photo to Video')).slice(0, 300)}`);
        const nothing = await charged(night2);
        assert(JSON.stringify(nothing) === JSON.stringify({ sessions: 0, uploads: 0, messages: 0, renders: 0 }), `night 2 asked the service: ${JSON.stringify(nothing)}`);
        assert(videosIn(outDir).length === videosBefore, 'night 2 wrote a video');

        const fresh = copySamplePhotos(photosDir, 5, { variant: 'night3' });
        const night3 = await before();
        const three = await n8n.execute('e2eExample1');
        console.log(`     night 3: exit ${three.exitCode ?? three.signal} in ${(three.durationMs / 1000).toFixed(1)} s`);
        assert(three.exitCode === 0, `night 3 exit ${three.exitCode}: ${three.errorMessage}`);
        const out = nodeOutput(three.result, 'Photo to Video');
        assert(out.length === 1 && out[0].photoCount === 5, `night 3 output: ${JSON.stringify(out).slice(0, 500)}`);
        assert(JSON.stringify([...out[0].photos].sort()) === JSON.stringify([...fresh].sort()), `night 3 video of ${out[0].photos}, expected the new ${fresh}`);
        const once = await charged(night3);
        assert(JSON.stringify(once) === JSON.stringify({ sessions: 1, uploads: 1, messages: 1, renders: 1 }), `night 3 asked the service: ${JSON.stringify(once)}`);
        assert(videosIn(outDir).length === videosBefore + 1, `night 3 wrote ${videosIn(outDir).length - videosBefore} videos`);
      },
    },
    {
      name: 'example 3: Credits → Upload → Generate → Get State → Export & Wait → an MP4 on disk',
      fn: async () => {
        await resetEmulator(10000);
        const { r, outDir } = await runExample('03-step-by-step.json', 'e2eExample3', 'out-3');
        assert(r.exitCode === 0, `exit ${r.exitCode}: ${r.errorMessage}\n${r.stdout.slice(-3000)}`);
        assert(nodeOutput(r.result, 'NemoVideo Credits')[0].available === 10000, 'Credits output');
        const state = nodeOutput(r.result, 'NemoVideo Get State')[0];
        assert(state.readyToExport === true && state.timeline.tracks.length > 0, `Get State output: ${JSON.stringify(state).slice(0, 300)}`);
        const generated = nodeOutput(r.result, 'NemoVideo Generate')[0];
        assert(generated.text && generated.suggestedNextStep === 'export', `Generate output: ${JSON.stringify(generated).slice(0, 300)}`);
        checkVideo(outDir, await emu.admin.renders());
      },
    },
    {
      name: 'no credits: the execution fails with the mapped message',
      fn: async () => {
        await resetEmulator(0);
        const { r, outDir } = await runExample('01-scheduled-folder-to-video.json', 'e2eNoCredits', 'out-none');
        assert(r.exitCode !== 0, 'exit 0 without credits');
        assert(/No NemoVideo credits left/.test(r.errorMessage || ''), `error message: ${r.errorMessage}`);
        assert(/No NemoVideo credits left/.test(r.stdout), 'the mapped message is not in n8n\'s output');
        console.log(`     n8n said: ${r.errorMessage}`);
        assert(/Top up credits/.test(r.stdout), 'the description (what to do) is not in the output');
        assert(videosIn(outDir).length === 0, 'a video was written');
        assert(!r.stdout.includes(OWN_TOKEN) && !r.stderr.includes(OWN_TOKEN), 'the token appears in n8n\'s output');
      },
    },
    {
      name: 'an anonymous credential: the token is fetched once, kept in the credential, reused by the next execution',
      fn: async () => {
        await emu.admin.reset();
        const [anonymous] = await n8n.importCredentials([{ name: 'NemoVideo anonymous', type: 'nemoVideoApi', data: { accessToken: '', baseUrl: emu.baseUrl } }]);
        const workflow = { id: 'e2eAnonCredits', name: 'anonymous credits', settings: { executionOrder: 'v1' }, connections: { Start: { main: [[{ node: 'Credits', type: 'main', index: 0 }]] } },
          nodes: [
            { id: 'a1', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
            { id: 'a2', name: 'Credits', type: 'n8n-nodes-nemovideo.nemoVideoCredits', typeVersion: 1, position: [240, 0], parameters: {}, credentials: { nemoVideoApi: { id: anonymous, name: 'NemoVideo anonymous' } } },
          ] };
        const id = await n8n.importWorkflow(workflow);
        const first = await n8n.execute(id);
        const afterFirst = Math.max(0, ...(await emu.admin.requests()).map((request) => request.seq));
        const second = await n8n.execute(id);
        assert(first.exitCode === 0 && second.exitCode === 0, `exits ${first.exitCode ?? first.signal}, ${second.exitCode ?? second.signal}: ${first.errorMessage || second.errorMessage}`);
        const tokens = await emu.admin.tokens();
        assert(tokens.length === 1, `${tokens.length} anonymous tokens issued, expected 1`);
        const tokenCalls = await emu.admin.requests({ route: 'token' });
        assert(tokenCalls.length === 1, `${tokenCalls.length} calls for an anonymous token over two executions, expected 1`);
        // The first execution: the token call, n8n's check call right after it (the credential's test request),
        // the node's call. The second: the node's call with the stored token, no token call.
        const creditCalls = await emu.admin.requests({ route: 'credits' });
        assert(creditCalls.every((c) => c.status === 200 && c.token === tokens[0].token),
          `credits calls: ${JSON.stringify(creditCalls.map((c) => ({ status: c.status, sameToken: c.token === tokens[0].token })))}`);
        const secondRun = (await emu.admin.requests({ since: afterFirst })).filter((request) => request.route !== 'admin');
        assert(secondRun.length === 1 && secondRun[0].route === 'credits' && secondRun[0].token === tokens[0].token,
          `the second execution's calls: ${JSON.stringify(secondRun.map((request) => request.route))}`);
        const stored = (await n8n.exportCredentials()).find((credential) => credential.id === anonymous);
        assert(stored.data.sessionToken === tokens[0].token, 'n8n did not keep the fetched token in the credential');
        assert(stored.data.clientId === tokens[0].clientId, 'n8n did not keep the generated client id');
        for (const r of [first, second]) assert(!r.stdout.includes(tokens[0].token), 'the token appears in n8n\'s output');
      },
    },
    {
      name: 'examples 2 (cloud storage trigger) and 1 (schedule trigger), as shipped, import cleanly',
      fn: async () => {
        for (const [file, id] of [['02-cloud-upload-to-vertical-clip.json', 'e2eExample2'], ['01-scheduled-folder-to-video.json', 'e2eExample1Shipped']]) {
          const example = loadExample(file);
          assert(await n8n.importWorkflow({ ...example, id }) === id, `${file}: imported under another id`);
          const stored = (await n8n.exportWorkflows()).find((workflow) => workflow.id === id);
          assert(stored, `${file} is not in n8n after the import`);
          assert(stored.name === example.name, `${file}: stored as "${stored.name}"`);
          const types = (w) => w.nodes.map((node) => `${node.name}:${node.type}@${node.typeVersion}`).sort().join(',');
          assert(types(stored) === types(example), `${file}: nodes stored ${types(stored)}, in the file ${types(example)}`);
          assert(JSON.stringify(stored.connections) === JSON.stringify(example.connections), `${file}: connections changed`);
          console.log(`     ${file}: ${stored.nodes.length} nodes, ${Object.keys(stored.connections).length} connections, listed by n8n export:workflow`);
        }
      },
    },
  ],
  {
    afterAll: async () => {
      if (emu) await emu.stop();
      if (n8n) await n8n.dispose();
    },
  },
);
