'use strict';
// ffprobe from the @ffprobe-installer/ffprobe dev dependency (its binary ships in the package; installs run
// with --ignore-scripts, so its executable bit is set here).
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

function ffprobePath() {
  const bin = require('@ffprobe-installer/ffprobe').path;
  fs.chmodSync(bin, 0o755);
  return bin;
}

/** Codec, size and duration of the first video stream of a file. Throws when it is not a readable video. */
function probeVideo(file) {
  const out = execFileSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height:format=duration,size', '-of', 'json', file]);
  const info = JSON.parse(out.toString());
  const stream = (info.streams || [])[0];
  if (!stream) throw new Error(`${file} has no video stream`);
  return { codec: stream.codec_name, width: stream.width, height: stream.height, durationSeconds: Number(info.format.duration), bytes: Number(info.format.size) };
}

module.exports = { ffprobePath, probeVideo };
