// A real render: an H.264 yuv420p slideshow of the session's stored photos, made with @ffmpeg-installer/ffmpeg.
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import type { NemoVideoEmulator } from './index';
import { ffmpegPath } from './media';
import type { CanvasConfig, Draft, EmulatedFile, EmulatedRender, EmulatedSession } from './types';

const FPS = 25;
/** Formats ffmpeg 4.x of @ffmpeg-installer decodes as a still picture. */
const STILL_FORMATS = new Set(['jpg', 'png', 'gif', 'webp']);

interface Slide {
	ms: number;
	file?: EmulatedFile;
}

/** Video-track segments of the draft matched to the session's files by their cdn_url (or hash). */
export function slidesOf(draft: Draft, session: EmulatedSession): Slide[] {
	const slides: Slide[] = [];
	for (const track of draft.t ?? []) {
		if (!track || track.tt !== 0 || !Array.isArray(track.sg)) continue;
		for (const sg of track.sg) {
			const ms = Number(sg?.d) > 0 ? Number(sg.d) : 3000;
			const src = typeof sg?.m?.src === 'string' ? sg.m.src : '';
			const hash = src.split('/').pop();
			const file = session.files.find((f) => f.cdn_url === src || (hash && f.hash === hash));
			slides.push({ ms, file });
		}
	}
	if (slides.length === 0) slides.push({ ms: Number(draft.d) > 0 ? Number(draft.d) : 3000 });
	return slides;
}

export function buildArgs(slides: Slide[], canvas: CanvasConfig, out: string): string[] {
	const { width: W, height: H } = canvas;
	const args = ['-hide_banner', '-loglevel', 'error', '-y'];
	const filters: string[] = [];
	slides.forEach((s, i) => {
		const sec = (s.ms / 1000).toFixed(3);
		const f = s.file;
		// Stills are read at 1 fps (a few frames to decode and scale), then duplicated to 25 fps and trimmed exactly.
		if (f?.localPath && f.file_type === 'image' && STILL_FORMATS.has(f.format))
			args.push('-loop', '1', '-framerate', '1', '-t', String(Math.ceil(s.ms / 1000) + 1), '-i', f.localPath);
		else if (f?.localPath && f.file_type === 'video') args.push('-stream_loop', '-1', '-t', sec, '-i', f.localPath);
		else args.push('-f', 'lavfi', '-t', sec, '-i', `color=c=0x404040:s=${W}x${H}:r=${FPS}`);
		filters.push(
			`[${i}:v]scale=${W}:${H}:force_original_aspect_ratio=decrease,pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2,` +
				`setsar=1,fps=${FPS},trim=duration=${sec},setpts=PTS-STARTPTS,format=yuv420p[v${i}]`,
		);
	});
	const concat = slides.map((_, i) => `[v${i}]`).join('') + `concat=n=${slides.length}:v=1:a=0[out]`;
	args.push(
		'-filter_complex',
		`${filters.join(';')};${concat}`,
		'-map',
		'[out]',
		'-c:v',
		'libx264',
		'-preset',
		'ultrafast',
		'-crf',
		'30',
		'-pix_fmt',
		'yuv420p',
		'-r',
		String(FPS),
		'-movflags',
		'+faststart',
		out,
	);
	return args;
}

/** Starts ffmpeg for the render; updates `render.ffmpeg`, `bytes` and `duration` when it ends. */
export function startSlideshow(emu: NemoVideoEmulator, render: EmulatedRender, session: EmulatedSession, out: string): void {
	const bin = ffmpegPath();
	if (!bin) throw new Error('ffmpeg is not available');
	const slides = slidesOf(render.draft, session);
	const args = buildArgs(slides, session.canvas, out);
	const started = Date.now();
	render.ffmpeg = { state: 'running' };
	render.outputPath = out;
	render.duration = slides.reduce((a, s) => a + s.ms, 0) / 1000;
	const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
	emu.children.add(child);
	let stderr = '';
	child.stderr?.on('data', (d: Buffer) => {
		if (stderr.length < 8192) stderr += d.toString();
	});
	child.on('error', (e) => {
		emu.children.delete(child);
		render.ffmpeg = { state: 'error', ms: Date.now() - started, error: e.message };
	});
	child.on('close', (code) => {
		emu.children.delete(child);
		if (render.ffmpeg?.state !== 'running') return;
		if (code === 0) {
			render.ffmpeg = { state: 'done', ms: Date.now() - started };
			try {
				render.bytes = statSync(out).size;
			} catch {
				render.ffmpeg = { state: 'error', ms: Date.now() - started, error: 'output missing' };
			}
		} else render.ffmpeg = { state: 'error', ms: Date.now() - started, error: stderr.trim() || `exit ${code}` };
	});
}
