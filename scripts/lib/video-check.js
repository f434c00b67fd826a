'use strict';
// Checks that a slideshow MP4 is worth showing, by measurement rather than by eye: ffprobe for the streams and the
// duration, and frames decoded to small RGB pictures for the rest: no test pattern (a frame dominated by a few
// flat colours, as the old sample cards with their colour bars were), a cross-fade (a frame at a cut is a blend of
// the photos either side of it) and a slow zoom (two frames of one photo differ by a scale factor).
// Used by scripts/demo.js on out/demo.mp4 and by test/slideshow.test.ts on a short render.
const { execFileSync } = require('node:child_process');
const { ffprobePath } = require('../../test/e2e/lib/ffprobe');

function ffmpegPath() {
  return require('@ffmpeg-installer/ffmpeg').path;
}

/** The streams of a file: `{ durationSeconds, video: {codec, width, height, pixFmt}, audio?: {codec, channels, sampleRate} }`. */
function probeStreams(file) {
  const out = execFileSync(ffprobePath(), ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,width,height,pix_fmt,channels,sample_rate:format=duration', '-of', 'json', file]);
  const info = JSON.parse(out.toString());
  const streams = info.streams || [];
  const v = streams.find((s) => s.codec_type === 'video');
  const a = streams.find((s) => s.codec_type === 'audio');
  return {
    durationSeconds: Number(info.format && info.format.duration),
    video: v && { codec: v.codec_name, width: v.width, height: v.height, pixFmt: v.pix_fmt },
    audio: a && { codec: a.codec_name, channels: a.channels, sampleRate: Number(a.sample_rate) },
  };
}

/** Mean and peak loudness of the audio (dBFS), from ffmpeg's volumedetect. */
function audioLevel(file) {
  const r = require('node:child_process').spawnSync(ffmpegPath(), ['-hide_banner', '-i', file, '-map', '0:a:0', '-af', 'volumedetect', '-f', 'null', '-'], { encoding: 'utf8' });
  const mean = /mean_volume: (-?[\d.]+|-inf) dB/.exec(r.stderr || '');
  const max = /max_volume: (-?[\d.]+|-inf) dB/.exec(r.stderr || '');
  if (!mean || !max) throw new Error(`${file}: ffmpeg measured no audio level (${(r.stderr || '').trim().slice(-300)})`);
  return { meanDb: Number(mean[1].replace('-inf', '-Infinity')), maxDb: Number(max[1].replace('-inf', '-Infinity')) };
}

/** The frame at `seconds` as `{width, height, data}` (RGB, 3 bytes a pixel), scaled to `width` x `height`. */
function frameAt(file, seconds, width = 192, height = 108) {
  // no -ss for 0: ffmpeg 4.1 seeking a still picture to 0 yields no frame
  const seek = seconds > 0 ? ['-ss', seconds.toFixed(3)] : [];
  const data = execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', ...seek, '-i', file, '-frames:v', '1', '-vf', `scale=${width}:${height}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: width * height * 3 + 1024 });
  if (data.length !== width * height * 3) throw new Error(`${file}: no frame at ${seconds} s (got ${data.length} bytes)`);
  return { width, height, data };
}

/** Frames per second of the first video stream (ffprobe's r_frame_rate, e.g. "25/1"). */
function frameRate(file) {
  const out = execFileSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=r_frame_rate', '-of', 'csv=p=0', file]).toString().trim();
  const [n, d] = out.split('/').map(Number);
  if (!(n > 0)) throw new Error(`${file}: no frame rate (ffprobe said "${out}")`);
  return n / (d || 1);
}

/**
 * The frames at several `times` in one decoding pass (each seek of frameAt decodes from the key frame before it:
 * up to 10 s of 1080p video a frame). Returns a Map from each time to its frame.
 */
function framesAt(file, times, width = 192, height = 108) {
  const fps = frameRate(file);
  const index = new Map(times.map((t) => [t, Math.round(t * fps)]));
  const wanted = [...new Set(index.values())].sort((a, b) => a - b);
  const select = `select='${wanted.map((n) => `eq(n,${n})`).join('+')}'`;
  const size = width * height * 3;
  const data = execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-i', file, '-t', ((wanted[wanted.length - 1] + 2) / fps).toFixed(3), '-vf', `${select},scale=${width}:${height}:flags=area`, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { maxBuffer: size * wanted.length + 1024 });
  if (data.length !== size * wanted.length) throw new Error(`${file}: got ${data.length / size} of the ${wanted.length} frames at ${times.join(', ')} s`);
  const byNumber = new Map(wanted.map((n, i) => [n, { width, height, data: data.subarray(i * size, (i + 1) * size) }]));
  return new Map(times.map((t) => [t, byNumber.get(index.get(t))]));
}

/**
 * How much a frame looks like a test card: `flat` is the share of pixels in its 8 most common colours (each
 * channel cut to 32 levels), `saturatedFlat` the share in those of them that are saturated. Photos spread over
 * hundreds of colours; a flat card with colour bars puts most pixels in a handful, several of them saturated.
 */
function flatness(frame) {
  const counts = new Map();
  const { data } = frame;
  const pixels = data.length / 3;
  for (let i = 0; i < data.length; i += 3) {
    const key = ((data[i] >> 3) << 10) | ((data[i + 1] >> 3) << 5) | (data[i + 2] >> 3);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  let flat = 0;
  let saturatedFlat = 0;
  for (const [key, n] of top) {
    flat += n;
    const [r, g, b] = [(key >> 10) & 31, (key >> 5) & 31, key & 31];
    if (Math.max(r, g, b) - Math.min(r, g, b) >= 16) saturatedFlat += n;
  }
  return { flat: flat / pixels, saturatedFlat: saturatedFlat / pixels, colours: counts.size };
}

/**
 * Limits of `flatness` for a frame that is a picture, not a card. Measured at 192x108: the old sample cards
 * (flat colour, caption, colour bars) had flat 0.92-0.93 and saturatedFlat up to 0.82; the painted photos
 * 0.11-0.38 and 0 (the night scene is the flattest). test/slideshow.test.ts checks both sides.
 */
const PICTURE_LIMITS = { flat: 0.6, saturatedFlat: 0.1 };

function looksLikeTestPattern(frame) {
  const f = flatness(frame);
  return f.flat > PICTURE_LIMITS.flat || f.saturatedFlat > PICTURE_LIMITS.saturatedFlat;
}

/**
 * Fits `mid` as `alpha * a + (1 - alpha) * b` (least squares over every channel of every pixel); `residual` is the
 * misfit relative to the difference between a and b (0: an exact blend, about 1 or more: no blend of the two).
 */
function blendFit(a, b, mid) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < mid.data.length; i++) {
    const d = a.data[i] - b.data[i];
    num += (mid.data[i] - b.data[i]) * d;
    den += d * d;
  }
  const alpha = den > 0 ? num / den : 0;
  let miss = 0;
  for (let i = 0; i < mid.data.length; i++) {
    const fit = alpha * a.data[i] + (1 - alpha) * b.data[i];
    miss += (mid.data[i] - fit) ** 2;
  }
  return { alpha, residual: den > 0 ? Math.sqrt(miss / den) : Infinity, distance: Math.sqrt(den / mid.data.length) };
}

function luma(frame) {
  const out = new Float32Array(frame.width * frame.height);
  for (let p = 0; p < out.length; p++) out[p] = 0.299 * frame.data[3 * p] + 0.587 * frame.data[3 * p + 1] + 0.114 * frame.data[3 * p + 2];
  return out;
}

/** Mean absolute difference between `later` and `earlier` scaled by `s` about the centre (inner 80 % only). */
function zoomError(earlier, later, w, h, s) {
  let sum = 0;
  let n = 0;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  for (let y = Math.round(h * 0.1); y < h * 0.9; y++) {
    for (let x = Math.round(w * 0.1); x < w * 0.9; x++) {
      const sx = cx + (x - cx) / s;
      const sy = cy + (y - cy) / s;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const at = (xx, yy) => earlier[yy * w + xx];
      const v = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
      sum += Math.abs(later[y * w + x] - v);
      n++;
    }
  }
  return sum / n;
}

/**
 * The scale factor that best maps frame `a` onto the later frame `b` of the same photo (> 1: zooming in), searched
 * from 0.85 to 1.15 in steps of 0.01, then to 0.001 around the best; `errorAtOne` and `error` tell how much better
 * than "no zoom" it is.
 */
function zoomBetween(a, b) {
  const la = luma(a);
  const lb = luma(b);
  const errorOf = (s) => zoomError(la, lb, a.width, a.height, s);
  let best = { scale: 1, error: Infinity };
  const search = (from, to, step) => {
    for (let i = 0; from + i * step <= to + 1e-9; i++) {
      const s = from + i * step;
      const error = errorOf(s);
      if (error < best.error) best = { scale: Number(s.toFixed(4)), error };
    }
  };
  search(0.85, 1.15, 0.01);
  search(best.scale - 0.01, best.scale + 0.01, 0.001);
  return { ...best, errorAtOne: errorOf(1) };
}

/**
 * Everything the demo promises, measured on `file`: H.264 video and an audible audio stream of
 * `expectedSeconds`, no test pattern in the middle of each photo, a cross-fade at the last cut and a zoom on the
 * photo before it. `slides` and `transition` (seconds) say where the cuts are. Returns a summary; throws naming what failed.
 */
function checkSlideshow(file, { expectedSeconds, slides, transition }) {
  const problems = [];
  const s = probeStreams(file);
  if (!s.video || s.video.codec !== 'h264') problems.push(`video is ${s.video ? s.video.codec : 'missing'}, not H.264`);
  if (!s.audio) problems.push('no audio stream');
  if (!(Math.abs(s.durationSeconds - expectedSeconds) <= 0.25)) problems.push(`lasts ${s.durationSeconds} s, not ${expectedSeconds} s`);
  const level = s.audio ? audioLevel(file) : undefined;
  if (level && !(level.meanDb > -40)) problems.push(`audio is silent (mean ${level.meanDb} dB)`);
  const each = expectedSeconds / slides;
  const points = Array.from({ length: slides }, (_, i) => i * each + each / 2);
  // the last cut and the photo before it: away from the title (on the first photo) and the fade to black
  const cut = (slides - 1) * each;
  const margin = transition / 2 + 0.12;
  const from = slides > 2 ? cut - each + margin : cut + margin;
  const to = slides > 2 ? cut - margin : expectedSeconds - 0.8;
  const frames = framesAt(file, slides > 1 ? [...points, cut - margin, cut, cut + margin, from, to] : points);
  const patterned = points.filter((t) => looksLikeTestPattern(frames.get(t)));
  if (patterned.length) problems.push(`frames at ${patterned.map((t) => t.toFixed(1)).join(', ')} s look like a test pattern`);
  let blend;
  let zoom;
  if (slides > 1) {
    blend = blendFit(frames.get(cut - margin), frames.get(cut + margin), frames.get(cut));
    if (!(blend.alpha > 0.2 && blend.alpha < 0.8 && blend.residual < 0.35)) problems.push(`no cross-fade at ${cut.toFixed(2)} s (blend alpha ${blend.alpha.toFixed(2)}, residual ${blend.residual.toFixed(2)})`);
    zoom = zoomBetween(frames.get(from), frames.get(to));
    if (!(Math.abs(zoom.scale - 1) >= 0.01 && zoom.error < 0.8 * zoom.errorAtOne)) problems.push(`no zoom between ${from.toFixed(2)} and ${to.toFixed(2)} s (best scale ${zoom.scale}, error ${zoom.error.toFixed(2)} vs ${zoom.errorAtOne.toFixed(2)} unscaled)`);
  }
  if (problems.length) throw new Error(`${file} is not the slideshow the demo promises: ${problems.join('; ')}`);
  return { streams: s, level, blend, zoom };
}

/** Frames at `times` (seconds), each `width` px wide, in rows of `columns`, as one JPEG at `out` (for the README). */
function frameStrip(file, out, times, { width = 480, columns = 3 } = {}) {
  const height = Math.round((width * 9) / 16 / 2) * 2;
  const fps = frameRate(file);
  const wanted = [...new Set(times.map((t) => Math.round(t * fps)))].sort((a, b) => a - b);
  const rows = Math.ceil(wanted.length / columns);
  const vf = `select='${wanted.map((n) => `eq(n,${n})`).join('+')}',scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1,tile=${columns}x${rows}`;
  execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', '-i', file, '-vf', vf, '-vsync', '0', '-frames:v', '1', '-q:v', '4', out]);
}

module.exports = { probeStreams, audioLevel, frameAt, framesAt, flatness, looksLikeTestPattern, PICTURE_LIMITS, blendFit, zoomBetween, checkSlideshow, frameStrip };
