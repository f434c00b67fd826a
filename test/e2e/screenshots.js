#!/usr/bin/env node
'use strict';
// The n8n editor with the package installed: example 3 on the canvas and the Export & Wait parameter panel, saved
// into docs/ for the README. Fails when a node icon or the panel does not render.
const path = require('node:path');
const { runEditorCheck } = require('./editor');
const { testCopy, loadExample } = require('./lib/examples');
const { REPO_ROOT } = require('./lib/n8n');
const { runTests, assert } = require('./lib/runner');

const CREDENTIAL_ID = 'nemovideoEditor01';

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
        canvasScreenshot: path.join(REPO_ROOT, 'docs', 'editor-workflow.png'),
        panelScreenshot: path.join(REPO_ROOT, 'docs', 'editor-node-panel.png'),
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
      console.log(`     n8n start ${(result.timings.n8nStartMs / 1000).toFixed(1)} s, total ${(result.timings.totalMs / 1000).toFixed(1)} s; screenshots in docs/`);
    },
  },
]);
