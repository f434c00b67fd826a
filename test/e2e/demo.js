#!/usr/bin/env node
'use strict';
// `npm run demo`, the README's main job: sample photos → MP4 through real n8n and the emulator.
// Builds the package, installs Node 24 and n8n 2.41.1 if they are not cached, installs the packed package into a
// throwaway n8n, starts the emulator rendering real slideshows with ffmpeg, runs example 1 (its trigger swapped
// for a manual one) on the five sample photos, and writes out/demo.mp4.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ensureN8n } = require('./lib/install');
const { N8nInstance, packRepo, nodeOutput, REPO_ROOT } = require('./lib/n8n');
const { startEmulator } = require('./lib/emulator');
const { testCopy, copySamplePhotos, videosIn } = require('./lib/examples');
const { probeVideo } = require('./lib/ffprobe');

async function main() {
  const started = Date.now();
  const step = (text) => console.log(`[demo ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${text}`);
  step('building the package');
  execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

  step('Node 24 and n8n 2.41.1 (installed into ~/.cache/n8n-nodes-nemovideo on first use: a few minutes)');
  const install = await ensureN8n();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-demo-'));
  const photosDir = path.join(work, 'photos');
  const outDir = path.join(work, 'videos');
  fs.mkdirSync(outDir, { recursive: true });
  const photos = copySamplePhotos(photosDir);
  const n8n = await N8nInstance.create({ install, env: { N8N_RESTRICT_FILE_ACCESS_TO: work } });
  let emu;
  try {
    step('installing the packed package into n8n the way users do');
    await n8n.installPackage(await packRepo());
    step('starting the NemoVideo emulator (renders real H.264 slideshows with ffmpeg)');
    emu = await startEmulator({ ffmpeg: true, renderMs: 1000 });
    const [credentialId] = await n8n.importCredentials([{ name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: '', baseUrl: emu.baseUrl } }]);
    const workflow = testCopy('01-scheduled-folder-to-video.json', { id: 'nemovideoDemo', photosDir, outDir, credentialId, manualTrigger: true });
    const workflowId = await n8n.importWorkflow(workflow);

    step(`running example 1 in n8n on ${photos.length} photos: ${photos.join(', ')}`);
    const r = await n8n.execute(workflowId);
    if (r.exitCode !== 0) throw new Error(`n8n execute exited ${r.exitCode ?? r.signal}: ${r.errorMessage}\n${r.stdout.slice(-3000)}`);
    const result = nodeOutput(r.result, 'Photo to Video')[0];
    step(`the AI said: "${result.text}"`);
    const [video] = videosIn(outDir);
    if (!video) throw new Error('n8n wrote no MP4');
    const target = path.join(REPO_ROOT, 'out', 'demo.mp4');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(video, target);
    const info = probeVideo(target);
    if (info.codec !== 'h264') throw new Error(`the video is ${info.codec}, not H.264`);
    step(`wrote ${path.relative(REPO_ROOT, target)}: ${info.codec} ${info.width}x${info.height}, ${info.durationSeconds.toFixed(2)} s, ${(info.bytes / 1024).toFixed(0)} KB (render ${result.renderId})`);
  } finally {
    if (emu) await emu.stop();
    await n8n.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  }
  step('done');
}

main().catch((error) => {
  console.error(`demo failed: ${error.stack || error}`);
  process.exit(1);
});
