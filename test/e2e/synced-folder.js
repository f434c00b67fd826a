#!/usr/bin/env node
'use strict';
// Example 06 in real n8n (`n8n start`, the line of NEMOVIDEO_N8N_LINE): a Local File Trigger on a synced cloud
// folder and a Schedule Trigger into Photo to Video with a quiet period. Three photos dropped into the watched
// folder 20 s apart make one video after the quiet period: one session, three uploads, one AI message, one render.
// The test copy only shortens the timings (quiet period 45 s, the schedule every 10 s) and points the paths at
// temporary folders. n8n 2.x leaves the Local File Trigger out unless NODES_EXCLUDE says otherwise (@n8n/config
// nodes.config.js: executeCommand and localFileTrigger by default): set here as a user must.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ensureN8n } = require('./lib/install');
const { N8nInstance, packageTarball } = require('./lib/n8n');
const { startEmulator } = require('./lib/emulator');
const { runTests, assert } = require('./lib/runner');
const { copySamplePhotos, loadExample, videosIn } = require('./lib/examples');
const { publishWorkflow } = require('./lib/mcp');
const { probeVideo } = require('./lib/ffprobe');
const { sleep } = require('./lib/proc');

const OWN_TOKEN = 'nmv_usr_own_e2e_synced_folder';
const QUIET_MINUTES = 0.75;
const DROP_GAP_MS = 20_000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-e2e-synced-'));
process.once('exit', () => fs.rmSync(work, { recursive: true, force: true }));
const watched = path.join(work, 'cloud', 'Photos');
const album = path.join(watched, '2026-07 Italy');
const outDir = path.join(work, 'videos');
const staging = path.join(work, 'staging');
let n8n;
let emu;

/** Example 06 pointed at the temporary folders and the credential, with test timings; nothing else changed. */
function testCopy(credentialId) {
  const text = JSON.stringify(loadExample('06-synced-folder-to-album-videos.json'))
    .replaceAll('/data/cloud/Photos', watched)
    .replaceAll('/data/videos', outDir)
    .replaceAll('REPLACE_WITH_CREDENTIAL_ID', credentialId);
  const workflow = JSON.parse(text);
  workflow.id = 'e2eExample6';
  const schedule = workflow.nodes.find((node) => node.type === 'n8n-nodes-base.scheduleTrigger');
  schedule.parameters.rule.interval = [{ field: 'seconds', secondsInterval: 10 }];
  const photoToVideo = workflow.nodes.find((node) => node.type === 'n8n-nodes-nemovideo.nemoVideoPhotoToVideo');
  photoToVideo.parameters.options.quietPeriodMinutes = QUIET_MINUTES;
  photoToVideo.parameters.pollIntervalSeconds = 2;
  return workflow;
}

/** Waits for `check()` to give a value, polling `everyMs` (the emulator's request log and the output folder have no push), up to `timeoutMs`. */
async function waitFor(what, check, { timeoutMs, everyMs = 500 }) {
  const t0 = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

const routeCount = async (route) => (await emu.admin.requests({ route })).length;

/** Puts a photo into the watched album as a sync client does: written beside, then renamed into place. */
function drop(name) {
  fs.copyFileSync(path.join(staging, name), path.join(work, `.${name}.part`));
  fs.renameSync(path.join(work, `.${name}.part`), path.join(album, name));
}

/**
 * The first photo, dropped again until its upload shows the trigger fired. n8n logs the trigger's activation when
 * it has started its folder watcher (chokidar), not when the watcher is ready: a file added before then counts as
 * already there and fires nothing (seen on a loaded machine). A photo that fired late as well as again is not
 * uploaded twice: the node leaves out a photo already in its album's session. Bounded: 120 s.
 */
async function dropUntilTriggered(name) {
  const t0 = Date.now();
  for (let attempt = 1; ; attempt++) {
    drop(name);
    try {
      await waitFor('the upload of photo 1', async () => (await routeCount('upload')) >= 1, { timeoutMs: 15_000 });
      if (attempt > 1) console.log(`     photo 1 fired the trigger after ${attempt} drops`);
      return;
    } catch (error) {
      if (Date.now() - t0 > 120_000) throw error;
      fs.rmSync(path.join(album, name), { force: true });
    }
  }
}

runTests(
  'real n8n: example 06, a synced folder into album videos after a quiet period',
  [
    {
      name: 'set up: n8n start with the Local File Trigger allowed, example 06 published, the emulator with ffmpeg',
      fn: async () => {
        fs.mkdirSync(album, { recursive: true });
        fs.mkdirSync(outDir, { recursive: true });
        copySamplePhotos(staging, 3);
        const install = await ensureN8n();
        n8n = await N8nInstance.create({
          install,
          // debug: n8n 2.41 logs a trigger's activation only at debug level (active-workflow-triggers.js).
          env: { N8N_RESTRICT_FILE_ACCESS_TO: work, NODES_EXCLUDE: '["n8n-nodes-base.executeCommand"]', N8N_LOG_LEVEL: 'debug' },
        });
        await n8n.installPackage(await packageTarball());
        emu = await startEmulator({ ffmpeg: true, renderMs: 1000 });
        await emu.admin.addToken({ token: OWN_TOKEN, credits: 10000, anonymous: false });
        const [credentialId] = await n8n.importCredentials([{ name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: OWN_TOKEN, baseUrl: emu.baseUrl } }]);
        const workflowId = await n8n.importWorkflow(testCopy(credentialId));
        await publishWorkflow(n8n, workflowId);
        await n8n.start();
        // The trigger watches the folder once n8n has published the workflow's triggers (2.41: a publication
        // outbox processed after start; it logs 'Activated trigger node "…"' per trigger, at debug level).
        const activated = /Activated trigger node "New Photo in Synced Folder"/;
        await waitFor('n8n activating the Local File Trigger of example 06', () => activated.test(fs.readFileSync(n8n.mainProcess.logFile, 'utf8')), { timeoutMs: 120_000 });
      },
    },
    {
      name: 'three photos dropped 20 s apart: uploaded as they come, one video after the quiet period, one session, one AI message',
      fn: async () => {
        const photos = fs.readdirSync(staging).sort();
        const t0 = Date.now();
        for (const [index, name] of photos.entries()) {
          if (index > 0) await waitFor(`the gap before photo ${index + 1}`, () => Date.now() - t0 >= index * DROP_GAP_MS, { timeoutMs: DROP_GAP_MS * 3, everyMs: 200 });
          if (index === 0) await dropUntilTriggered(name);
          else {
            drop(name);
            await waitFor(`the upload of photo ${index + 1}`, async () => (await routeCount('upload')) === index + 1, { timeoutMs: 60_000 });
          }
          assert((await routeCount('sse')) === 0, `an AI message after photo ${index + 1}, before the quiet period`);
        }
        const lastUpload = Date.now();
        const video = await waitFor('the video in the output folder', () => videosIn(outDir)[0], { timeoutMs: 240_000, everyMs: 1000 });
        console.log(`     video ${path.basename(video)} ${((Date.now() - lastUpload) / 1000).toFixed(0)} s after the last upload (quiet period ${QUIET_MINUTES * 60} s)`);
        // n8n's Write node may still be writing it: wait until its size stays the same over a poll, then probe it.
        let lastSize = -1;
        await waitFor('the video written whole', () => {
          const size = fs.statSync(video).size;
          const settled = size > 0 && size === lastSize;
          lastSize = size;
          return settled;
        }, { timeoutMs: 60_000 });
        const info = probeVideo(video);
        assert(info.codec === 'h264' && info.durationSeconds > 0, `the video: ${JSON.stringify(info)}`);
        const counts = {
          sessions: await routeCount('session'),
          uploads: await routeCount('upload'),
          messages: await routeCount('sse'),
          renders: await routeCount('renderStart'),
        };
        assert(JSON.stringify(counts) === JSON.stringify({ sessions: 1, uploads: 3, messages: 1, renders: 1 }), `the service was asked ${JSON.stringify(counts)}`);
        assert(path.basename(video).startsWith('2026-07 Italy '), `the video is named ${path.basename(video)}, expected the album's name first`);
        const [message] = await emu.admin.requests({ route: 'sse' });
        assert(message.at - lastUpload >= QUIET_MINUTES * 60_000 - 2000, `the AI message came ${((message.at - lastUpload) / 1000).toFixed(0)} s after the last upload`);
      },
    },
  ],
  {
    afterAll: async () => {
      if (n8n) await n8n.dispose();
      if (emu) await emu.stop();
    },
  },
);
