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

/**
 * A folder holding copies of the sample photos. `variant` gives them other content (a JPEG comment segment
 * after the start marker: the same picture, another photo to a node that knows photos by content), named
 * `<variant>-photo-N.jpg`.
 * @param {string} dir
 * @param {number} [count]
 * @param {{ variant?: string }} [options]
 */
function copySamplePhotos(dir, count = 5, { variant } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  const photos = fs.readdirSync(SAMPLE_PHOTOS).filter((name) => name.endsWith('.jpg')).sort().slice(0, count);
  const written = [];
  for (const name of photos) {
    const bytes = fs.readFileSync(path.join(SAMPLE_PHOTOS, name));
    const target = variant ? `${variant}-${name}` : name;
    const comment = variant ? Buffer.from(`${variant} ${name}`) : undefined;
    const content = comment
      ? Buffer.concat([bytes.subarray(0, 2), Buffer.from([0xff, 0xfe, 0, comment.length + 2]), comment, bytes.subarray(2)])
      : bytes;
    fs.writeFileSync(path.join(dir, target), content);
    written.push(target);
  }
  return written;
}

function videosIn(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith('.mp4')).map((name) => path.join(dir, name)) : [];
}

module.exports = { loadExample, testCopy, copySamplePhotos, videosIn, EXAMPLES_DIR, SAMPLE_PHOTOS };
