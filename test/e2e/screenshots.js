#!/usr/bin/env node
'use strict';
// The n8n editor with the package installed: example 3 on the canvas and the Export & Wait parameter panel. Fails
// when a node icon or the panel does not render. The pictures go to a temporary folder, so a test run leaves the
// tree as it was (PNG bytes differ run to run); NEMOVIDEO_E2E_UPDATE_SCREENSHOTS=1 writes them into docs/ for the README.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { runEditorCheck } = require('./editor');
const { testCopy, loadExample } = require('./lib/examples');
const { REPO_ROOT } = require('./lib/n8n');
const { runTests, assert } = require('./lib/runner');

const CREDENTIAL_ID = 'nemovideoEditor01';
const UPDATE = process.env.NEMOVIDEO_E2E_UPDATE_SCREENSHOTS === '1';
const OUT_DIR = UPDATE ? path.join(REPO_ROOT, 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'nemovideo-screenshots-'));
if (!UPDATE) process.once('exit', () => fs.rmSync(OUT_DIR, { recursive: true, force: true }));

runTests('real n8n editor: example 3 and a NemoVideo parameter panel', [
  {
    name: 'the canvas shows every node icon and Export & Wait opens its parameters; examples 1 and 2 render too',
    fn: async () => {
      const result = await runEditorCheck({
        workflow: testCopy('03-step-by-step.json', { id: 'nemovideoEditor3', photosDir: '/data/photos', outDir: '/data/videos', credentialId: CREDENTIAL_ID }),
        credentials: [{ id: CREDENTIAL_ID, name: 'NemoVideo account', type: 'nemoVideoApi', data: { accessToken: '', baseUrl: 'https://mega-api-prod.nemovideo.ai' } }],
        installPackage: true,
        nodeType: 'n8n-nodes-nemovideo.nemoVideoExport',
        parameterLabel: 'Poll Interval (Seconds)',
        canvasScreenshot: path.join(OUT_DIR, 'editor-workflow.png'),
        panelScreenshot: path.join(OUT_DIR, 'editor-node-panel.png'),
        canvasViewport: { width: 1600, height: 560 },
        // As shipped: the Schedule Trigger, the Google Drive Trigger and Google Drive nodes at their typeVersions.
        moreWorkflows: [
          { ...loadExample('01-scheduled-folder-to-video.json'), id: 'nemovideoEditor1' },
          { ...loadExample('02-cloud-upload-to-vertical-clip.json'), id: 'nemovideoEditor2' },
        ],
      });
      const ours = result.canvasIcons.filter((icon) => String(icon.type).startsWith('n8n-nodes-nemovideo.'));
      assert(ours.length === 5, `${ours.length} NemoVideo nodes on the canvas, expected 5`);
      for (const { name, icons } of result.more) console.log(`     "${name}": ${icons.length} nodes, every icon rendered (${icons.map((icon) => icon.type.replace(/^n8n-nodes-(base|nemovideo)\./, '')).join(', ')})`);
      console.log(`     n8n start ${(result.timings.n8nStartMs / 1000).toFixed(1)} s, total ${(result.timings.totalMs / 1000).toFixed(1)} s; ${UPDATE ? 'screenshots written to docs/' : 'screenshots checked (NEMOVIDEO_E2E_UPDATE_SCREENSHOTS=1 writes them to docs/)'}`);
    },
  },
]);
