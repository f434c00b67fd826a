#!/usr/bin/env node
'use strict';
// `npm run demo`, the README's main job: sample photos → MP4 through real n8n and the emulator.
// Builds the package, installs Node 24 and n8n 2.41.1 if they are not cached, installs the packed package into a
// throwaway n8n, starts the emulator rendering real slideshows with ffmpeg (cross-fades, slow zoom, title, Lo-fi
// music bed: test/emulator/slideshow.ts), runs example 1 (its trigger swapped for a manual one) on the five sample
// photos, writes out/demo.mp4 and a frame strip out/demo-strip.jpg, and checks the video is what the AI says it
// made (scripts/lib/video-check.js). `npm run demo -- --docs` also copies the strip to docs/demo-strip.jpg.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { ensureN8n } = require('../test/e2e/lib/install');
const { N8nInstance, packRepo, nodeOutput, REPO_ROOT } = require('../test/e2e/lib/n8n');
const { startEmulator } = require('../test/e2e/lib/emulator');
const { testCopy, copySamplePhotos, videosIn } = require('../test/e2e/lib/examples');
const { checkSlideshow, frameStrip } = require('./lib/video-check');

const OUT_VIDEO = path.join(REPO_ROOT, 'out', 'demo.mp4');
const OUT_STRIP = path.join(REPO_ROOT, 'out', 'demo-strip.jpg');
const DOCS_STRIP = path.join(REPO_ROOT, 'docs', 'demo-strip.jpg');
/** The emulator's cross-fade: 0.8 s, or 40 % of a slide when slides are shorter (timelineOf in test/emulator/slideshow.ts). */
const transitionFor = (slideSeconds) => Math.min(0.8, 0.4 * slideSeconds);

/** `npm run build`, quiet when it works; tsc prints its errors on stdout, so a failure shows that output's tail. */
function buildPackage() {
  try {
    execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const output = `${error.stdout || ''}${error.stderr || ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(`npm run build failed (fix the errors below, then run npm run demo again):\n${output}`);
  }
}

async function main() {
  const started = Date.now();
  const since = (t) => ((Date.now() - t) / 1000).toFixed(1);
  const step = (text) => console.log(`[demo ${since(started).padStart(6)} s] ${text}`);
  step('building the package');
  buildPackage();

  step('Node and n8n (installed into ~/.cache/n8n-nodes-nemovideo on first use: a few minutes)');
  const installStarted = Date.now();
  const install = await ensureN8n();
  const installSeconds = since(installStarted);
  step(`n8n ${install.version} on Node ${install.nodeVersion || '24'} ready`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-demo-'));
  const photosDir = path.join(work, 'photos');
  const outDir = path.join(work, 'videos');
  fs.mkdirSync(outDir, { recursive: true });
  const photos = copySamplePhotos(photosDir);
  const n8n = await N8nInstance.create({ install, env: { N8N_RESTRICT_FILE_ACCESS_TO: work } });
  let emu;
  let summary;
  try {
    step('installing the packed package into n8n the way users do');
    await n8n.installPackage(await packRepo());
    step('starting the NemoVideo emulator (renders real slideshows with ffmpeg)');
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
    if (!video) throw new Error(`n8n wrote no MP4 into ${outDir}: see the Write Files node of example 1`);
    fs.mkdirSync(path.dirname(OUT_VIDEO), { recursive: true });
    fs.copyFileSync(video, OUT_VIDEO);
    if (result.photoCount !== photos.length) throw new Error(`a video of ${result.photoCount} photos, expected ${photos.length}`);
    // The emulator's render records carry their id as `id` (EmulatedRender in test/emulator/types.ts).
    /** @type {Partial<import('../test/e2e/lib/emulator').EmulatedRender>} */
    const render = (await emu.admin.renders()).find((x) => x.id === result.renderId) || {};
    const expectedSeconds = Number(render.duration ?? result.durationSeconds);
    const renderSeconds = render.ffmpeg && render.ffmpeg.ms ? (render.ffmpeg.ms / 1000).toFixed(1) : '?';
    summary = { expectedSeconds, renderSeconds, renderId: result.renderId };
  } finally {
    if (emu) await emu.stop();
    await n8n.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  }
  step(`checking ${path.relative(REPO_ROOT, OUT_VIDEO)}: streams, duration, no test pattern, cross-fade, zoom`);
  const each = summary.expectedSeconds / photos.length;
  const check = checkSlideshow(OUT_VIDEO, { expectedSeconds: summary.expectedSeconds, slides: photos.length, transition: transitionFor(each) });
  const { video: v, audio: a } = check.streams;
  step(
    `${path.relative(REPO_ROOT, OUT_VIDEO)}: ${v.codec} ${v.width}x${v.height} + ${a.codec} ${a.channels} ch, ${check.streams.durationSeconds.toFixed(2)} s, ` +
      `${(fs.statSync(OUT_VIDEO).size / 1024).toFixed(0)} KB (render ${summary.renderId}, ffmpeg ${summary.renderSeconds} s); ` +
      `music ${check.level.meanDb} dB mean; cross-fade blend ${check.blend.alpha.toFixed(2)} (residual ${check.blend.residual.toFixed(2)}); zoom x${check.zoom.scale}`,
  );
  // the title on the first photo, the middle of the first cross-fade, then the middle of each other photo
  const times = [0.5 * each, each, 1.5 * each, 2.5 * each, 3.5 * each, 4.5 * each].map((t) => Math.min(t, summary.expectedSeconds - 0.7));
  frameStrip(OUT_VIDEO, OUT_STRIP, times);
  if (process.argv.includes('--docs')) fs.copyFileSync(OUT_STRIP, DOCS_STRIP);
  step(`frame strip at ${times.map((t) => t.toFixed(1)).join(', ')} s: ${path.relative(REPO_ROOT, OUT_STRIP)}${process.argv.includes('--docs') ? ` and ${path.relative(REPO_ROOT, DOCS_STRIP)}` : ''}`);
  const ownSeconds = (Date.now() - started) / 1000 - Number(installSeconds);
  step(`done in ${since(started)} s (n8n install ${installSeconds} s, the demo's own part ${ownSeconds.toFixed(1)} s): open out/demo.mp4`);
}

main().catch((error) => {
  console.error(`demo failed: ${error.stack || error}`);
  process.exit(1);
});
