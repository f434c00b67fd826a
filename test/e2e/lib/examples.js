'use strict';
// The example workflows of examples/, turned into test copies: placeholders pointed at real folders and the
// imported credential, and (for example 1) the Schedule Trigger swapped for a Manual Trigger, nothing else changed.
const fs = require('node:fs');
const path = require('node:path');
const { REPO_ROOT } = require('./n8n');

const EXAMPLES_DIR = path.join(REPO_ROOT, 'examples');
const SAMPLE_PHOTOS = path.join(REPO_ROOT, 'test', 'emulator', 'fixtures', 'photos');

function loadExample(file) {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8'));
}

/** A runnable copy of an example: photos from `photosDir`, videos into `outDir`, our nodes on `credentialId`. */
function testCopy(file, { id, photosDir, outDir, credentialId, manualTrigger = false }) {
  const text = fs
    .readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')
    .replaceAll('/data/photos', photosDir)
    .replaceAll('/data/videos', outDir)
    .replaceAll('REPLACE_WITH_CREDENTIAL_ID', credentialId);
  const workflow = JSON.parse(text);
  workflow.id = id;
  if (manualTrigger) {
    const trigger = workflow.nodes.find((node) => /Trigger$/.test(node.type));
    trigger.type = 'n8n-nodes-base.manualTrigger';
    trigger.typeVersion = 1;
    trigger.parameters = {};
  }
  return workflow;
}

/** A fresh folder holding copies of the sample photos. */
function copySamplePhotos(dir, count = 5) {
  fs.mkdirSync(dir, { recursive: true });
  const photos = fs.readdirSync(SAMPLE_PHOTOS).filter((name) => name.endsWith('.jpg')).sort().slice(0, count);
  for (const name of photos) fs.copyFileSync(path.join(SAMPLE_PHOTOS, name), path.join(dir, name));
  return photos;
}

function videosIn(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.mp4')).map((name) => path.join(dir, name)) : [];
}

module.exports = { loadExample, testCopy, copySamplePhotos, videosIn, EXAMPLES_DIR, SAMPLE_PHOTOS };
