// The "AI": reads a prompt for an aspect ratio, a length and a title, and (re)builds the session's draft.
import type { CanvasConfig, Draft, EmulatedFile, EmulatedSession } from './types';

export const CANVASES: Record<CanvasConfig['ratio'], CanvasConfig> = {
	'16:9': { width: 1920, height: 1080, ratio: '16:9' },
	'9:16': { width: 1080, height: 1920, ratio: '9:16' },
	'1:1': { width: 1080, height: 1080, ratio: '1:1' },
};

export const DEFAULT_SEGMENT_MS = 3000;
export const DEFAULT_TITLE = 'My Photos';

export interface PromptWishes {
	ratio?: CanvasConfig['ratio'];
	totalMs?: number;
	title?: string;
	/** File names in the order the photos should be shown ("… in this order: a.jpg, b.jpg."). */
	order?: string[];
}

export function parsePrompt(text: string): PromptWishes {
	const w: PromptWishes = {};
	const r = /(?:^|[^\d])(16\s*:\s*9|9\s*:\s*16|1\s*:\s*1)(?![\d])/.exec(text);
	if (r) w.ratio = r[1].replace(/\s+/g, '') as CanvasConfig['ratio'];
	else if (/\b(vertical|portrait|tiktok|reels?|shorts|stories)\b/i.test(text)) w.ratio = '9:16';
	else if (/\bsquare\b/i.test(text)) w.ratio = '1:1';
	else if (/\b(landscape|widescreen|horizontal|youtube)\b/i.test(text)) w.ratio = '16:9';
	const len = /(\d+(?:\.\d+)?)[\s-]*(?:seconds?|secs?|s)\b/i.exec(text);
	if (len) {
		const ms = Math.round(Number(len[1]) * 1000);
		if (ms > 0 && ms <= 3600_000) w.totalMs = ms;
	}
	const minutes = /(\d+(?:\.\d+)?)[\s-]*(?:minutes?|mins?)\b/i.exec(text);
	if (!w.totalMs && minutes) {
		const ms = Math.round(Number(minutes[1]) * 60_000);
		if (ms > 0 && ms <= 3600_000) w.totalMs = ms;
	}
	const title = /\btitled?\s*[:]?\s*["“'‘]([^"”'’]{1,80})["”'’]/i.exec(text);
	if (title) w.title = title[1].trim();
	const order = /\bin this order:\s*(.+?)\.?\s*$/i.exec(text);
	if (order) w.order = order[1].split(/,\s*/).map((name) => name.trim()).filter(Boolean);
	return w;
}

export function emptyDraft(): Draft {
	return { t: [] };
}

/** True when some track has segments (what "ready to export" means). */
export function draftHasSegments(draft: unknown): boolean {
	if (!draft || typeof draft !== 'object') return false;
	const t = (draft as { t?: unknown }).t;
	if (!Array.isArray(t)) return false;
	return t.some((tr) => tr && typeof tr === 'object' && Array.isArray((tr as { sg?: unknown }).sg) && (tr as { sg: unknown[] }).sg.length > 0);
}

/** Applies a prompt to the session: remembers its wishes and rebuilds the draft from the uploaded files. */
export function applyPrompt(session: EmulatedSession, text: string): { visual: EmulatedFile[]; totalMs: number } {
	const w = parsePrompt(text);
	if (w.ratio) session.wanted.ratio = w.ratio;
	if (w.totalMs) session.wanted.totalMs = w.totalMs;
	if (w.title) session.wanted.title = w.title;
	session.canvas = { ...CANVASES[session.wanted.ratio ?? '16:9'] };
	const uploaded = session.files.filter((f) => f.file_type !== 'audio');
	// Photos named in the wanted order come first, in that order; the others after, as uploaded.
	const rank = (f: EmulatedFile) => {
		const at = w.order?.indexOf(f.filename) ?? -1;
		return at < 0 ? Infinity : at;
	};
	const visual = uploaded.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
	const audio = session.files.find((f) => f.file_type === 'audio');
	if (visual.length === 0) return { visual, totalMs: 0 };
	const totalMs = session.wanted.totalMs ?? visual.length * DEFAULT_SEGMENT_MS;
	const each = Math.max(1, Math.floor(totalMs / visual.length));
	const title = session.wanted.title ?? DEFAULT_TITLE;
	const segments = visual.map((f, i) => ({
		d: i === visual.length - 1 ? totalMs - each * (visual.length - 1) : each,
		m: { src: f.cdn_url, name: f.filename, type: f.file_type, transition: 'crossfade' },
	}));
	const bgm = audio
		? { d: totalMs, m: { src: audio.cdn_url, name: audio.filename, volume: 0.35 } }
		: { d: totalMs, m: { name: 'Lo-fi', volume: 0.35 } };
	session.draft = {
		t: [
			{ tt: 0, sg: segments },
			{ tt: 1, sg: [bgm] },
			{ tt: 7, sg: [{ d: Math.min(3000, totalMs), m: { text: title } }] },
		],
		d: totalMs,
		m: { title },
	};
	return { visual, totalMs };
}

export function formatSeconds(ms: number): string {
	const s = ms / 1000;
	return Number.isInteger(s) ? String(s) : s.toFixed(1);
}
