// Export: start, poll, cancel and the authenticated download of a render.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { NemoVideoEmulator } from '../index';
import { readJsonOrFail, sendJson, sendOk, type Ctx } from '../http';
import { draftHasSegments } from '../draft';
import { SAMPLE_MP4, SAMPLE_MP4_DURATION, ffmpegPath, streamMedia } from '../media';
import { startSlideshow } from '../slideshow';
import type { Draft, EmulatedRender, TokenRecord } from '../types';
import { requireAuth } from './auth';
import { requireSession } from './session';

const ATTRIBUTION = ['x-skill-source', 'x-skill-version', 'x-skill-platform'];

let sampleSize = -1;
function sampleBytes(): number {
	if (sampleSize < 0) sampleSize = statSync(SAMPLE_MP4).size;
	return sampleSize;
}

export async function handleRenderStart(ctx: Ctx): Promise<void> {
	const { emu } = ctx;
	const auth = requireAuth(ctx);
	if (!auth) return;
	if (emu.config.requireAttribution && ATTRIBUTION.some((h) => !String(ctx.req.headers[h] ?? '').trim())) {
		sendJson(ctx, 402, { code: 402, message: 'Free plan cannot export' });
		return;
	}
	const body = await readJsonOrFail(ctx);
	if (!body) return;
	const id = typeof body.id === 'string' ? body.id.trim() : '';
	if (id) ctx.rec.renderId = id;
	const sessionId = typeof body.sessionId === 'string' ? body.sessionId : undefined;
	if (!id) {
		sendJson(ctx, 400, { code: 400, message: 'Missing render id' });
		return;
	}
	if (emu.renders.has(id)) {
		sendJson(ctx, 409, { code: 409, message: 'Render id already used' });
		return;
	}
	const session = requireSession(ctx, sessionId, auth);
	if (!session) return;
	if (!draftHasSegments(body.draft)) {
		sendJson(ctx, 400, { code: 4000, message: 'Draft is empty' });
		return;
	}
	const output = (body.output && typeof body.output === 'object' ? body.output : {}) as Record<string, unknown>;
	const cfg = emu.config;
	const willFail = cfg.renderFailTimes > 0;
	if (willFail) cfg.renderFailTimes--;
	const draft = body.draft as Draft;
	const render: EmulatedRender = {
		id,
		sessionId: session.id,
		userId: auth.userId,
		status: 'pending',
		progress: 0,
		startedAt: Date.now(),
		cancelled: false,
		bytes: 0,
		duration: SAMPLE_MP4_DURATION,
		format: typeof output.format === 'string' ? output.format : 'mp4',
		quality: typeof output.quality === 'string' ? output.quality : 'high',
		output: 'sample',
		willFail,
		draft,
	};
	const draftSeconds = Number(draft.d) > 0 ? Number(draft.d) / 1000 : undefined;
	if (cfg.outputSizeBytes > 0) {
		render.output = 'synthetic';
		render.bytes = cfg.outputSizeBytes;
		render.duration = draftSeconds ?? SAMPLE_MP4_DURATION;
	} else if (cfg.useFfmpeg && ffmpegPath() && !willFail) {
		render.output = 'ffmpeg';
		startSlideshow(emu, render, session, join(emu.rendersDir(), `${safeName(id)}.mp4`));
	} else render.bytes = sampleBytes();
	emu.renders.set(id, render);
	session.renders.push(id);
	const data = { id, status: render.status };
	if (cfg.renderStartShape === 'success') sendJson(ctx, 200, { success: true, data });
	else sendOk(ctx, data);
}

function safeName(id: string): string {
	return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Brings a render's status up to date from the clock (renders have no timers of their own). */
export function refreshRender(emu: NemoVideoEmulator, r: EmulatedRender, now = Date.now()): void {
	if (r.status === 'completed' || r.status === 'failed' || r.status === 'cancelled') return;
	const R = Math.max(0, emu.config.renderMs);
	const elapsed = now - r.startedAt;
	const processing = (p: number) => {
		r.status = 'processing';
		r.progress = Math.max(r.progress, Math.min(99, Math.floor(p)));
	};
	if (elapsed < R * 0.1) {
		r.status = 'pending';
		r.progress = 0;
		return;
	}
	if (emu.config.renderNeverFinishes || elapsed < R) {
		processing(R > 0 ? ((elapsed - R * 0.1) / (R * 0.9)) * 100 : 99);
		return;
	}
	if (r.willFail) {
		r.status = 'failed';
		r.completedAt = r.startedAt + R;
		r.error = 'Render failed: the render node crashed';
		return;
	}
	if (r.output === 'ffmpeg') {
		if (r.ffmpeg?.state === 'running') return processing(99);
		if (r.ffmpeg?.state === 'error') {
			r.status = 'failed';
			r.completedAt = now;
			r.error = `Render failed: ${r.ffmpeg.error ?? 'ffmpeg error'}`;
			return;
		}
		r.completedAt = Math.max(r.startedAt + R, r.startedAt + (r.ffmpeg?.ms ?? 0));
	} else r.completedAt = r.startedAt + R;
	r.status = 'completed';
	r.progress = 100;
}

/** The caller's render named in the path, or undefined after answering 404. */
function findRender(ctx: Ctx, auth: TokenRecord): EmulatedRender | undefined {
	const id = ctx.param ?? '';
	ctx.rec.renderId = id;
	const r = ctx.emu.renders.get(id);
	if (!r || r.userId !== auth.userId) {
		sendJson(ctx, 404, { code: 404, message: 'Render not found' });
		return undefined;
	}
	ctx.rec.sessionId = r.sessionId;
	refreshRender(ctx.emu, r);
	return r;
}

export function outputUrl(emu: NemoVideoEmulator, r: EmulatedRender): string {
	return `${emu.cdnUrl}/renders/${encodeURIComponent(r.id)}.mp4`;
}

export function handlePoll(ctx: Ctx): void {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const r = findRender(ctx, auth);
	if (!r) return;
	const done = r.status === 'completed';
	const progress = ctx.emu.config.renderReportsProgress ? { progress: r.progress } : {};
	if (ctx.emu.config.renderPollShape === 'wrapped') {
		const data: Record<string, unknown> = { id: r.id, status: r.status, ...progress };
		if (done) Object.assign(data, { outputUrl: outputUrl(ctx.emu, r), duration: r.duration, size: r.bytes });
		if (r.error) data.error = r.error;
		sendJson(ctx, 200, { success: true, data });
	} else {
		const body: Record<string, unknown> = { id: r.id, status: r.status, ...progress };
		if (done) body.output = { url: outputUrl(ctx.emu, r), duration: r.duration, size: r.bytes };
		if (r.error) body.error = r.error;
		sendJson(ctx, 200, body);
	}
}

export function handleCancel(ctx: Ctx): void {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const r = findRender(ctx, auth);
	if (!r) return;
	if (r.status === 'pending' || r.status === 'processing') {
		r.status = 'cancelled';
		r.cancelled = true;
		r.completedAt = Date.now();
		for (const c of ctx.emu.children) if (r.ffmpeg?.state === 'running' && c.spawnargs.includes(r.outputPath ?? '\0')) ctx.emu.killChild(c);
	}
	sendOk(ctx, { id: r.id, status: r.status });
}

/** Streams a completed render's MP4 (shared by the authenticated download and the CDN). */
export function serveRender(ctx: Ctx, r: EmulatedRender, attachment: boolean): void {
	if (r.status !== 'completed') {
		sendJson(ctx, 409, { code: 409, message: `Render is ${r.status}` });
		return;
	}
	const extra: Record<string, string> = {};
	if (attachment) extra['Content-Disposition'] = `attachment; filename="${safeName(r.id)}.mp4"`;
	if (r.output === 'synthetic') streamMedia(ctx, { synthetic: r.bytes }, 'video/mp4', extra);
	else if (r.output === 'ffmpeg' && r.outputPath) streamMedia(ctx, { path: r.outputPath, size: r.bytes }, 'video/mp4', extra);
	else streamMedia(ctx, { path: SAMPLE_MP4, size: sampleBytes() }, 'video/mp4', extra);
}

export function handleDownload(ctx: Ctx): void {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const r = findRender(ctx, auth);
	if (r) serveRender(ctx, r, true);
}
