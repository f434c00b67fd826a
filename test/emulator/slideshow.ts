// A real render: an H.264 yuv420p + AAC slideshow of the session's stored photos, made with @ffmpeg-installer/ffmpeg,
// doing what the emulator's AI says it made (routes/sse.ts): cross-fades between the photos ("smooth transitions"),
// a slow zoom on each photo, the draft's title as text, and a generated Lo-fi music bed ("a Lo-fi soundtrack").
// That ffmpeg is a 2018 build (4.1): it has no xfade filter and its scale filter cannot vary with time, so the
// cross-fade is an alpha fade-in of each photo overlaid on the one before, and the zoom is zoompan on a photo
// scaled to 1.5 times the canvas (which shrinks zoompan's whole-pixel steps).
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import type { NemoVideoEmulator } from './index';
import { ffmpegPath } from './media';
import type { CanvasConfig, Draft, EmulatedFile, EmulatedRender, EmulatedSession } from './types';

export const FPS = 25;
/** Longest cross-fade; shorter slides get 40 % of the shortest slide. */
export const MAX_TRANSITION_SECONDS = 0.8;
/** How much a photo grows (or shrinks) over its time on screen. */
export const ZOOM = 0.08;
/** Formats ffmpeg 4.x of @ffmpeg-installer decodes as a still picture. */
const STILL_FORMATS = new Set(['jpg', 'png', 'gif', 'webp']);
/**
 * x264 preset and quality. Measured on the 15 s 1080p demo (2 cores, CPU seconds of the whole ffmpeg run):
 * ultrafast 10.8 s but 9.9 MB, superfast 10.3 s and 3.7 MB, veryfast 14.2 s and 2.0 MB.
 */
const PRESET = 'superfast';
const CRF = '25';
/**
 * zoompan crops at whole pixels of its input; a photo scaled to 1.5 times the canvas first makes each step a
 * third of an output pixel (no visible shake) for 0.4 s CPU per 100 frames at 1080p (2x: 0.6 s, 1x: 0.2 s).
 */
const ZOOM_SOURCE = 1.5;

interface Slide {
	ms: number;
	file?: EmulatedFile;
}

/** What the draft asks for besides the photos: its title (track type 7) and its music bed (track type 1). */
export interface Extras {
	title?: { text: string; startMs: number; ms: number };
	music?: { file?: EmulatedFile; volume: number };
}

/** One slide placed on the timeline: shown from `start` for `length` seconds, fading in over `fadeIn`. */
export interface Clip {
	slide: Slide;
	start: number;
	length: number;
	fadeIn: number;
	zoomIn: boolean;
}

/** Video-track segments of the draft matched to the session's files by their cdn_url (or hash). */
export function slidesOf(draft: Draft, session: EmulatedSession): Slide[] {
	const slides: Slide[] = [];
	for (const track of draft.t ?? []) {
		if (!track || track.tt !== 0 || !Array.isArray(track.sg)) continue;
		for (const sg of track.sg) slides.push({ ms: Number(sg?.d) > 0 ? Number(sg.d) : 3000, file: fileOf(sg?.m?.src, session) });
	}
	if (slides.length === 0) slides.push({ ms: Number(draft.d) > 0 ? Number(draft.d) : 3000 });
	return slides;
}

function fileOf(src: unknown, session: EmulatedSession): EmulatedFile | undefined {
	if (typeof src !== 'string' || !src) return undefined;
	const hash = src.split('/').pop();
	return session.files.find((f) => f.cdn_url === src || (hash && f.hash === hash));
}

/** The title and music tracks of the draft (as draft.ts writes them: `{tt:7, sg:[{d, m:{text}}]}`, `{tt:1, …}`). */
export function extrasOf(draft: Draft, session: EmulatedSession): Extras {
	const extras: Extras = {};
	for (const track of draft.t ?? []) {
		if (!track || !Array.isArray(track.sg) || track.sg.length === 0) continue;
		const sg = track.sg[0];
		if (track.tt === 7 && typeof sg?.m?.text === 'string' && sg.m.text.trim())
			extras.title = { text: sg.m.text.trim(), startMs: 0, ms: Number(sg.d) > 0 ? Number(sg.d) : 3000 };
		if (track.tt === 1) {
			const file = fileOf(sg?.m?.src, session);
			const volume = Number(sg?.m?.volume);
			extras.music = { file: file?.file_type === 'audio' && file.localPath ? file : undefined, volume: volume > 0 ? volume : 0.35 };
		}
	}
	return extras;
}

/** Each slide's clip: neighbours overlap by one cross-fade, centred on the cut, so the total stays the draft's. */
export function timelineOf(slides: Slide[]): { clips: Clip[]; total: number; transition: number } {
	const secs = slides.map((s) => s.ms / 1000);
	const total = secs.reduce((a, b) => a + b, 0);
	const transition = slides.length > 1 ? Math.min(MAX_TRANSITION_SECONDS, 0.4 * Math.min(...secs)) : 0;
	let cut = 0;
	const clips = slides.map((slide, i) => {
		const start = i === 0 ? 0 : cut - transition / 2;
		cut += secs[i];
		const end = i === slides.length - 1 ? total : cut + transition / 2;
		const fadeIn = i === 0 ? Math.min(0.5, secs[0] / 4) : transition;
		return { slide, start, length: end - start, fadeIn, zoomIn: i % 2 === 0 };
	});
	return { clips, total, transition };
}

const frames = (sec: number) => Math.max(1, Math.round(sec * FPS));
const num = (v: number) => Number(v.toFixed(3)).toString();
const even = (v: number) => 2 * Math.round(v / 2);

/** One clip's filter chain, from its input to a yuva420p stream starting at its place on the timeline. */
function clipFilter(clip: Clip, input: number, canvas: CanvasConfig): string {
	const { width: W, height: H } = canvas;
	const f = clip.slide.file;
	const n = frames(clip.length);
	const fade = `format=yuva420p,fade=t=in:st=0:d=${num(clip.fadeIn)}:alpha=1,setpts=PTS-STARTPTS+${num(clip.start)}/TB`;
	if (f && isStill(f)) {
		// zoompan makes all n frames from the one decoded picture: z goes 1 → 1+ZOOM (or back), centred
		const z = clip.zoomIn ? `1+${ZOOM}*on/${n}` : `${1 + ZOOM}-${ZOOM}*on/${n}`;
		const [sw, sh] = [even(ZOOM_SOURCE * W), even(ZOOM_SOURCE * H)];
		return (
			`[${input}:v]scale=${sw}:${sh}:force_original_aspect_ratio=increase,crop=${sw}:${sh},setsar=1,` +
			`zoompan=z='${z}':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d=${n}:s=${W}x${H}:fps=${FPS},${fade}`
		);
	}
	return (
		`[${input}:v]scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H},setsar=1,fps=${FPS},` +
		`trim=end_frame=${n},${fade}`
	);
}

const isStill = (f: EmulatedFile) => !!f.localPath && f.file_type === 'image' && STILL_FORMATS.has(f.format);

/** The inputs of one clip: a still is read once (zoompan repeats it), a video is looped, a missing file is grey. */
function clipInput(clip: Clip, canvas: CanvasConfig): string[] {
	const f = clip.slide.file;
	if (f && isStill(f)) return ['-i', f.localPath as string];
	const sec = num(clip.length + 1);
	if (f?.localPath && f.file_type === 'video') return ['-stream_loop', '-1', '-t', sec, '-i', f.localPath];
	return ['-f', 'lavfi', '-t', sec, '-i', `color=c=0x404040:s=${canvas.width}x${canvas.height}:r=${FPS}`];
}

// ---- the music bed: a Lo-fi loop at 80 bpm, one bar (3 s) per chord ----

/** Fmaj7, Em7, Dm7, Cmaj7 (Hz), the bass an octave under each root: a common Lo-fi progression. */
const CHORDS = [
	[174.61, 220.0, 261.63, 329.63],
	[164.81, 196.0, 246.94, 293.66],
	[146.83, 174.61, 220.0, 261.63],
	[130.81, 164.81, 196.0, 246.94],
];
const BAR = 3;

/** Picks the value of the current bar's chord (variable 0 holds the bar's index in the progression). */
function perBar(values: number[]): string {
	let expr = `${values[values.length - 1]}`;
	for (let k = values.length - 2; k >= 0; k--) expr = `if(eq(ld(0),${k}),${values[k]},${expr})`;
	return expr;
}

/**
 * An aevalsrc expression (t in seconds): electric-piano chords struck on beat 1 and the "and" of 2, a bass note,
 * a soft kick, snare and hi-hat, and vinyl crackle; every note fades out before the bar ends so chord changes
 * do not click. Variables: 0 bar index, 1 time in bar, 2 time since the chord was struck, 3 beat phase.
 */
export function lofiExpression(): string {
	const beat = BAR / 4;
	const notes = [0, 1, 2, 3].map((k) => `sin(2*PI*${perBar(CHORDS.map((c) => c[k]))}*t)`).join('+');
	const bell = `0.25*sin(4*PI*${perBar(CHORDS.map((c) => c[3]))}*t)*exp(-4*ld(2))`;
	const chordEnv = `min(1,ld(2)*80)*exp(-1.3*ld(2))*min(1,(${BAR}-ld(1))*8)`;
	const bass = `0.9*sin(PI*${perBar(CHORDS.map((c) => c[0]))}*t)*min(1,ld(1)*60)*min(1,(${BAR}-ld(1))*6)*(0.6+0.4*exp(-2*ld(3)))`;
	const kickT = `mod(t,${2 * beat})`;
	const kick = `0.9*sin(2*PI*(48*${kickT}+2.7*(1-exp(-30*${kickT}))))*exp(-9*${kickT})`;
	const snareT = `mod(t+${beat},${2 * beat})`;
	const snare = `(0.35*(random(4)*2-1)+0.3*sin(2*PI*190*${snareT}))*exp(-16*${snareT})`;
	const hat = `0.07*(random(5)*2-1)*exp(-70*mod(t,${beat / 2}))`;
	const crackle = `if(gt(random(6),0.9993),0.35*(random(7)-0.5),0)`;
	return [
		`st(0,mod(floor(t/${BAR}),4))`,
		`st(1,mod(t,${BAR}))`,
		`st(2,if(lt(ld(1),${1.5 * beat}),ld(1),ld(1)-${1.5 * beat}))`,
		`st(3,mod(t,${beat}))`,
		`0.12*((${notes})*${chordEnv}+${bell})+0.16*${bass}+0.22*${kick}+0.1*${snare}+${hat}+${crackle}`,
	].join(';');
}

/** The music chain: the draft's uploaded audio when it has one, otherwise the generated Lo-fi bed; faded at both ends. */
function musicFilter(music: Extras['music'], total: number, input: number | undefined): string {
	const fadeOut = Math.min(2, total / 3);
	const ends = `afade=t=in:d=${num(Math.min(1, total / 4))},afade=t=out:st=${num(total - fadeOut)}:d=${num(fadeOut)}`;
	const stereo = 'aformat=sample_fmts=fltp:sample_rates=44100:channel_layouts=stereo';
	if (music?.file && input !== undefined)
		return `[${input}:a]atrim=duration=${num(total)},asetpts=PTS-STARTPTS,volume=${num(music.volume)},${ends},${stereo}[a]`;
	// 22.05 kHz then a 3.2 kHz low-pass: half the expression evaluations, and the muffled sound of the genre
	// volume: the mix peaks at about -8 dBFS; +4 dB brings it near -18 dB mean, background music loudness
	return `aevalsrc='${lofiExpression()}':s=22050:d=${num(total)},lowpass=f=3200,volume=1.6,${ends},aresample=44100,${stereo}[a]`;
}

// ---- the title ----

/** Bold sans fonts found on common systems; NEMOVIDEO_EMULATOR_FONT names another. */
const FONT_CANDIDATES = [
	'/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
	'/usr/share/fonts/TTF/DejaVuSans-Bold.ttf',
	'/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf',
	'/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf',
	'/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf',
	'/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf',
	'/usr/share/fonts/truetype/freefont/FreeSansBold.ttf',
	'/usr/share/fonts/noto/NotoSans-Bold.ttf',
	'/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf',
	'/System/Library/Fonts/Supplemental/Arial Bold.ttf',
	'/Library/Fonts/Arial Bold.ttf',
	'C:\\Windows\\Fonts\\arialbd.ttf',
];

/** Characters that would need two levels of filtergraph escaping; a path holding one is not used. */
const UNSAFE_IN_FILTER = /[\\':,;[\]]/;

/** The font drawtext uses for the title, or undefined (then the video has no title, and `describe` says so). */
export function titleFont(): string | undefined {
	const wanted = process.env.NEMOVIDEO_EMULATOR_FONT;
	const all = wanted ? [wanted, ...FONT_CANDIDATES] : FONT_CANDIDATES;
	return all.find((f) => !UNSAFE_IN_FILTER.test(f) && existsSync(f));
}

/** drawtext of the title, read from a file (no escaping of the user's text), fading in and out. */
function titleFilter(title: NonNullable<Extras['title']>, textFile: string, font: string, canvas: CanvasConfig): string {
	const a = num(title.startMs / 1000 + 0.3);
	const b = num((title.startMs + title.ms) / 1000);
	// drawtext does not wrap: a long title gets smaller to fit (DejaVu Sans Bold averages about 0.62 em a character)
	const size = Math.round(Math.min(Math.min(canvas.width, canvas.height) / 10, (1.35 * canvas.width) / title.text.length));
	const alpha = `if(lt(t,${a}+0.6),(t-${a})/0.6,if(gt(t,${b}-0.6),(${b}-t)/0.6,1))`;
	return (
		`drawtext=fontfile=${font}:textfile=${textFile}:expansion=none:fontsize=${size}:fontcolor=white:` +
		`shadowcolor=black@0.55:shadowx=${Math.ceil(size / 18)}:shadowy=${Math.ceil(size / 18)}:` +
		`box=1:boxcolor=black@0.25:boxborderw=${Math.round(size / 2.5)}:x=(w-text_w)/2:y=h*0.68-text_h/2:` +
		`enable='between(t,${a},${b})':alpha='${alpha}'`
	);
}

// ---- the whole command ----

export interface SlideshowPlan {
	args: string[];
	total: number;
	transition: number;
	/** The title file drawtext reads; the caller writes it before starting ffmpeg. */
	titleFile?: { path: string; text: string };
	/** What the video has, for logs and the demo: e.g. "5 photos, 0.8 s cross-fades, slow zoom, title, Lo-fi bed". */
	describe: string;
}

export function planSlideshow(slides: Slide[], extras: Extras, canvas: CanvasConfig, out: string, font = titleFont()): SlideshowPlan {
	const { width: W, height: H } = canvas;
	const { clips, total, transition } = timelineOf(slides);
	const args = ['-hide_banner', '-loglevel', 'error', '-y'];
	const filters: string[] = [`color=c=black:s=${W}x${H}:r=${FPS}:d=${num(total)}[base]`];
	clips.forEach((clip, i) => {
		args.push(...clipInput(clip, canvas));
		filters.push(`${clipFilter(clip, i, canvas)}[c${i}]`);
	});
	let last = 'base';
	clips.forEach((_, i) => {
		filters.push(`[${last}][c${i}]overlay=eof_action=pass[o${i}]`);
		last = `o${i}`;
	});
	const titleOk = extras.title && font && !UNSAFE_IN_FILTER.test(out);
	const titleFile = titleOk ? { path: `${out}.title.txt`, text: (extras.title as { text: string }).text } : undefined;
	const finish = [`fade=t=out:st=${num(Math.max(0, total - 0.6))}:d=${num(Math.min(0.6, total))}`, 'format=yuv420p'];
	if (titleFile && extras.title && font) finish.unshift(titleFilter(extras.title, titleFile.path, font, canvas));
	filters.push(`[${last}]${finish.join(',')}[v]`);
	let musicInput: number | undefined;
	if (extras.music?.file?.localPath) {
		musicInput = clips.length;
		args.push('-stream_loop', '-1', '-i', extras.music.file.localPath);
	}
	filters.push(musicFilter(extras.music, total, musicInput));
	args.push('-filter_complex', filters.join(';'), '-map', '[v]', '-map', '[a]');
	args.push('-c:v', 'libx264', '-preset', PRESET, '-crf', CRF, '-pix_fmt', 'yuv420p', '-r', String(FPS));
	args.push('-c:a', 'aac', '-b:a', '128k', '-t', num(total), '-movflags', '+faststart', out);
	const what = [
		`${slides.length} slide${slides.length === 1 ? '' : 's'}`,
		transition > 0 ? `${num(transition)} s cross-fades` : 'no transition (one slide)',
		'slow zoom',
		titleFile ? `title "${titleFile.text}"` : extras.title ? 'no title (no usable font: set NEMOVIDEO_EMULATOR_FONT)' : 'no title',
		extras.music?.file ? `music ${extras.music.file.filename}` : 'generated Lo-fi music bed',
	];
	return { args, total, transition, titleFile, describe: what.join(', ') };
}

/** The ffmpeg arguments of a slideshow (kept for callers that only need the command). */
export function buildArgs(slides: Slide[], canvas: CanvasConfig, out: string, extras: Extras = {}): string[] {
	return planSlideshow(slides, extras, canvas, out).args;
}

/** Starts ffmpeg for the render; updates `render.ffmpeg`, `bytes` and `duration` when it ends. */
export function startSlideshow(emu: NemoVideoEmulator, render: EmulatedRender, session: EmulatedSession, out: string): void {
	const bin = ffmpegPath();
	if (!bin) throw new Error('ffmpeg is not available');
	const slides = slidesOf(render.draft, session);
	const plan = planSlideshow(slides, extrasOf(render.draft, session), session.canvas, out);
	if (plan.titleFile) writeFileSync(plan.titleFile.path, plan.titleFile.text);
	const started = Date.now();
	render.ffmpeg = { state: 'running' };
	render.outputPath = out;
	render.duration = slides.reduce((a, s) => a + s.ms, 0) / 1000;
	const child = spawn(bin, plan.args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
