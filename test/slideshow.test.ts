// The emulator's ffmpeg slideshow does what its AI says it made (test/emulator/routes/sse.ts: "smooth transitions
// and a Lo-fi soundtrack") and what the demo shows: cross-fades, a slow zoom, the title as text, a music bed, and
// photos rather than a test card. One short render of three sample photos, measured with scripts/lib/video-check.js
// (the same checks `npm run demo` runs on out/demo.mp4).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CANVASES, applyPrompt } from './emulator/draft';
import { FIXTURES_DIR, ffmpegPath } from './emulator/media';
import { FPS, ZOOM, extrasOf, planSlideshow, slidesOf, timelineOf, titleFont, type Clip, type Extras } from './emulator/slideshow';
import type { CanvasConfig, EmulatedFile, EmulatedSession } from './emulator/types';

interface Frame {
	width: number;
	height: number;
	data: Buffer;
}
interface VideoCheck {
	probeStreams(file: string): {
		durationSeconds: number;
		video?: { codec: string; width: number; height: number; pixFmt: string };
		audio?: { codec: string; channels: number; sampleRate: number };
	};
	audioLevel(file: string): { meanDb: number; maxDb: number };
	frameAt(file: string, seconds: number, width?: number, height?: number): Frame;
	looksLikeTestPattern(frame: Frame): boolean;
	blendFit(a: Frame, b: Frame, mid: Frame): { alpha: number; residual: number };
	zoomBetween(a: Frame, b: Frame): { scale: number; error: number; errorAtOne: number };
	checkSlideshow(file: string, expected: { expectedSeconds: number; slides: number; transition: number }): unknown;
}
// plain CommonJS shared with scripts/demo.js, outside the TypeScript project
const check = require('../scripts/lib/video-check') as VideoCheck;

const PHOTOS = [1, 2, 3].map((n) => join(FIXTURES_DIR, 'photos', `photo-${n}.jpg`));
const CANVAS: CanvasConfig = { width: 640, height: 360, ratio: '16:9' };
const SECONDS = 9;
const EACH = 3; // three photos of 3 s each; the draft's title lasts 3 s, over the first photo
const CUT = 2 * EACH; // the second cut
const RENDER_BOUND_MS = 15000;

function sessionOf(photos: string[]): EmulatedSession {
	const files: EmulatedFile[] = photos.map((path, i) => ({
		filename: basename(path),
		file_type: 'image',
		cdn_url: `http://127.0.0.1:1/uploads/hash${i}`,
		duration: 0,
		width: 1280,
		height: 720,
		fps: 0,
		hash: `hash${i}`,
		format: 'jpg',
		bytes: statSync(path).size,
		source: 'upload',
		localPath: path,
	}));
	const session: EmulatedSession = {
		id: 'session',
		taskId: 'task',
		userId: 'user',
		taskName: 'test',
		language: 'en',
		files,
		draft: { t: [] },
		canvas: CANVASES['16:9'],
		messages: [],
		renders: [],
		wanted: {},
		createdAt: Date.now(),
	};
	applyPrompt(session, `a ${SECONDS} seconds slideshow titled "Summer trip"`);
	return session;
}

/** Runs ffmpeg on a plan and resolves when it exits 0; rejects with its stderr, or after RENDER_BOUND_MS. */
function render(extras: Extras, session: EmulatedSession, out: string): Promise<void> {
	const plan = planSlideshow(slidesOf(session.draft, session), extras, CANVAS, out);
	if (plan.titleFile) writeFileSync(plan.titleFile.path, plan.titleFile.text);
	return new Promise((resolve, reject) => {
		const child = spawn(ffmpegPath() as string, plan.args, { stdio: ['ignore', 'ignore', 'pipe'] });
		let stderr = '';
		child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
		const timer = setTimeout(() => child.kill('SIGKILL'), RENDER_BOUND_MS);
		child.on('close', (code, signal) => {
			clearTimeout(timer);
			if (code === 0) resolve();
			else reject(new Error(`ffmpeg for ${out} ended with ${code ?? signal}: ${stderr.trim()}`));
		});
	});
}

/** The zoom of a clip at `t` seconds of the video, as zoompan computes it (slideshow.ts: z from on, the frame number). */
function zoomAt(clip: Clip, t: number): number {
	const n = Math.max(1, Math.round(clip.length * FPS));
	const on = Math.round((t - clip.start) * FPS);
	return clip.zoomIn ? 1 + (ZOOM * on) / n : 1 + ZOOM - (ZOOM * on) / n;
}

let dir: string;
let video: string;
let untitled: string;
let session: EmulatedSession;
let clips: Clip[];
let transition: number;

beforeAll(async () => {
	expect(ffmpegPath()).toBeDefined(); // the dev dependency ships it: no skipping
	dir = mkdtempSync(join(tmpdir(), 'nemovideo-slideshow-test-'));
	session = sessionOf(PHOTOS);
	({ clips, transition } = timelineOf(slidesOf(session.draft, session)));
	video = join(dir, 'slideshow.mp4');
	untitled = join(dir, 'untitled.mp4');
	const extras = extrasOf(session.draft, session);
	await Promise.all([render(extras, session, video), render({ ...extras, title: undefined }, session, untitled)]);
}, 30000);

afterAll(() => {
	if (dir) rmSync(dir, { recursive: true, force: true });
});

test('H.264 video with an AAC stereo music bed, lasting what the draft says', () => {
	expect(session.draft.d).toBe(SECONDS * 1000);
	const streams = check.probeStreams(video);
	expect(streams.video).toEqual({ codec: 'h264', width: 640, height: 360, pixFmt: 'yuv420p' });
	expect(streams.audio).toEqual({ codec: 'aac', channels: 2, sampleRate: 44100 });
	expect(Math.abs(streams.durationSeconds - SECONDS)).toBeLessThan(0.1);
	const level = check.audioLevel(video);
	expect(level.meanDb).toBeGreaterThan(-35); // audible
	expect(level.maxDb).toBeLessThan(-1); // not clipped
});

test('a frame at a cut is a blend of the photos either side of it (a cross-fade, not a hard cut)', () => {
	expect(transition).toBeCloseTo(0.8, 5);
	const margin = transition / 2 + 0.12;
	const before = check.frameAt(video, CUT - margin);
	const after = check.frameAt(video, CUT + margin);
	const mid = check.blendFit(before, after, check.frameAt(video, CUT));
	expect(mid.alpha).toBeGreaterThan(0.3);
	expect(mid.alpha).toBeLessThan(0.7);
	expect(mid.residual).toBeLessThan(0.3);
	// a quarter into the fade, the old photo still dominates: the blend moves with time
	const early = check.blendFit(before, after, check.frameAt(video, CUT - transition / 4));
	expect(early.alpha).toBeGreaterThan(mid.alpha + 0.1);
	expect(early.residual).toBeLessThan(0.3);
});

test('each photo zooms slowly: out on the second, in on the third, by the factor zoompan was given', () => {
	const margin = transition / 2 + 0.12;
	const spans: Array<[Clip, number, number]> = [
		[clips[1], EACH + margin, CUT - margin],
		[clips[2], CUT + margin, SECONDS - 0.8],
	];
	const [second, third] = spans.map(([clip, from, to]) => ({
		expected: zoomAt(clip, to) / zoomAt(clip, from),
		found: check.zoomBetween(check.frameAt(video, from), check.frameAt(video, to)),
	}));
	expect(second.expected).toBeLessThan(0.98);
	expect(third.expected).toBeGreaterThan(1.02);
	for (const { expected, found } of [second, third]) {
		expect(Math.abs(found.scale - expected)).toBeLessThan(0.006);
		expect(found.error).toBeLessThan(0.5 * found.errorAtOne);
	}
});

test('the title is drawn as text over the first photo, in the lower middle, and gone after it', () => {
	expect(titleFont()).toBeDefined(); // DejaVu or Liberation is on every machine this suite runs on
	const [w, h] = [320, 180];
	const diff = (t: number) => {
		const a = check.frameAt(video, t, w, h).data;
		const b = check.frameAt(untitled, t, w, h).data;
		let inside = 0;
		let outside = 0;
		for (let p = 0; p < w * h; p++) {
			const d = Math.abs(a[3 * p] - b[3 * p]) + Math.abs(a[3 * p + 1] - b[3 * p + 1]) + Math.abs(a[3 * p + 2] - b[3 * p + 2]);
			if (d < 60) continue;
			const [x, y] = [p % w, Math.floor(p / w)];
			if (x > w * 0.1 && x < w * 0.9 && y > h * 0.5 && y < h * 0.86) inside++;
			else outside++;
		}
		return { inside, outside };
	};
	const shown = diff(1.2);
	expect(shown.inside).toBeGreaterThan(w * h * 0.01);
	expect(shown.outside).toBeLessThan(shown.inside * 0.02);
	// after it, only the encoder's own differences remain (each video was encoded on its own)
	const after = diff(CUT + 0.6);
	expect(after.inside + after.outside).toBeLessThan(w * h * 0.002);
});

test('frames look like photos, not a test card; a card with colour bars is caught', () => {
	for (const t of [1.5, 4.5, 7.5]) expect(check.looksLikeTestPattern(check.frameAt(video, t))).toBe(false);
	for (let n = 1; n <= 5; n++) expect(check.looksLikeTestPattern(check.frameAt(join(FIXTURES_DIR, 'photos', `photo-${n}.jpg`), 0))).toBe(false);
	// what the old sample photos were: a flat colour card, colour bars in the corner, a caption
	const card = join(dir, 'card.png');
	const made = spawnSync(ffmpegPath() as string, [
		...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=0x2e86ab:s=1280x720', '-f', 'lavfi', '-i', 'smptebars=s=320x180'],
		...['-filter_complex', '[0][1]overlay=60:60,drawbox=x=400:y=420:w=480:h=60:color=white:t=fill', '-frames:v', '1', card],
	]);
	expect(made.status).toBe(0);
	expect(check.looksLikeTestPattern(check.frameAt(card, 0))).toBe(true);
});

test('checkSlideshow, the demo check, passes this render and names what is missing from a silent hard-cut one', () => {
	expect(() => check.checkSlideshow(video, { expectedSeconds: SECONDS, slides: 3, transition })).not.toThrow();
	const bare = join(dir, 'bare.mp4');
	const inputs = PHOTOS.flatMap((p) => ['-loop', '1', '-framerate', '25', '-t', String(EACH), '-i', p]);
	const made = spawnSync(ffmpegPath() as string, [
		...['-hide_banner', '-loglevel', 'error', '-y', ...inputs],
		...['-filter_complex', '[0][1][2]concat=n=3:v=1:a=0,scale=640:360,format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', bare],
	]);
	expect(made.status).toBe(0);
	expect(() => check.checkSlideshow(bare, { expectedSeconds: SECONDS, slides: 3, transition })).toThrow(/no audio stream.*no cross-fade.*no zoom/);
});
