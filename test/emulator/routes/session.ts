// Session creation, the session state and the credit balance.
import { head, randomDigits, randomHex, readJsonOrFail, sendAppError, sendOk, str, type Ctx } from '../http';
import { CANVASES, emptyDraft } from '../draft';
import type { EmulatedSession, TokenRecord } from '../types';
import { requireAuth } from './auth';

export async function handleCreateSession(ctx: Ctx): Promise<void> {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const body = await readJsonOrFail(ctx);
	if (!body) return;
	let id: string;
	do id = `5${randomDigits(18)}`;
	while (ctx.emu.sessions.has(id));
	const session: EmulatedSession = {
		id,
		taskId: `task_${randomHex(12)}`,
		userId: auth.userId,
		taskName: str(body.task_name) ?? 'project',
		language: str(body.language) ?? 'en',
		files: [],
		draft: emptyDraft(),
		canvas: { ...CANVASES['16:9'] },
		messages: [],
		renders: [],
		wanted: {},
		createdAt: Date.now(),
	};
	ctx.emu.sessions.set(id, session);
	ctx.rec.sessionId = id;
	sendWithSessionId(ctx, { task_id: session.taskId, session_id: id, user_id: auth.userId });
}

/**
 * A success answer; with `sessionIdsAsNumbers` its `session_id` is written as a bare JSON number (a JS number
 * cannot hold a 19-digit id, so the digits go into the text as they are).
 */
function sendWithSessionId(ctx: Ctx, data: { session_id: string } & Record<string, unknown>): void {
	if (!ctx.emu.config.sessionIdsAsNumbers) {
		sendOk(ctx, data);
		return;
	}
	const quoted = JSON.stringify({ code: 0, data });
	const marker = `"session_id":${JSON.stringify(data.session_id)}`;
	const text = quoted.replace(marker, `"session_id":${data.session_id}`);
	head(ctx, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
	ctx.res.end(text);
}

/** The session named `id` owned by the caller, or undefined after answering 1002. */
export function requireSession(ctx: Ctx, id: string | undefined, auth: TokenRecord): EmulatedSession | undefined {
	if (id) ctx.rec.sessionId = id;
	const s = id ? ctx.emu.sessions.get(id) : undefined;
	if (!s || s.userId !== auth.userId) {
		sendAppError(ctx, 1002, 'Session not found');
		return undefined;
	}
	return s;
}

export function handleCredits(ctx: Ctx): void {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const a = ctx.emu.account(auth.userId);
	sendOk(ctx, { available: a.available, frozen: a.frozen, total: a.available + a.frozen });
}

export function handleState(ctx: Ctx): void {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const s = requireSession(ctx, ctx.param, auth);
	if (!s) return;
	sendWithSessionId(ctx, {
		session_id: s.id,
		task_id: s.taskId,
		task_name: s.taskName,
		user_id: s.userId,
		state: {
			draft: s.draft,
			video_infos: s.files.map((f) => ({
				filename: f.filename,
				file_type: f.file_type,
				cdn_url: f.cdn_url,
				duration: f.duration,
				width: f.width,
				height: f.height,
				fps: f.fps,
				hash: f.hash,
			})),
			generated_media: [],
			canvas_config: s.canvas,
		},
	});
}
