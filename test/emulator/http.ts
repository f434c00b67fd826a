// Small HTTP helpers shared by the routes: the per-request context, JSON answers, bounded body reading.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { NemoVideoEmulator } from './index';
import type { RecordedRequest } from './types';

export interface Ctx {
	emu: NemoVideoEmulator;
	req: IncomingMessage;
	res: ServerResponse;
	rec: RecordedRequest;
	path: string;
	query: Record<string, string>;
	/** Path parameter (session id, render id, hash) when the route has one. */
	param?: string;
	/** The `answerLost` fault: the request is handled, then its JSON answer is replaced (or the connection dropped). */
	loseAnswer?: { status?: number };
}

/** Largest JSON body the emulator parses. */
export const MAX_JSON_BODY = 8 * 1024 * 1024;
/** Larger JSON bodies are recorded as a marker instead of the parsed value. */
export const MAX_RECORDED_JSON = 256 * 1024;

export const APP_MESSAGES: Record<number, string> = {
	1001: 'Token expired or invalid',
	1002: 'Session not found',
	2001: 'Insufficient credits',
	4001: 'Unsupported file type',
	4002: 'File too large (max 200 MB)',
};

export function randomHex(bytes: number): string {
	return randomBytes(bytes).toString('hex');
}

export function randomDigits(n: number): string {
	const b = randomBytes(n);
	let s = '';
	for (let i = 0; i < n; i++) s += String(b[i] % 10);
	return s;
}

export function head(ctx: Ctx, status: number, headers: Record<string, string | number>): void {
	ctx.rec.status = status;
	ctx.res.writeHead(status, headers);
}

export function sendJson(
	ctx: Ctx,
	status: number,
	body: unknown,
	extraHeaders: Record<string, string | number> = {},
): void {
	if (ctx.res.headersSent || ctx.res.destroyed) return;
	if (ctx.loseAnswer) {
		const lost = ctx.loseAnswer;
		ctx.loseAnswer = undefined;
		ctx.rec.answerLost = true;
		if (lost.status === undefined) {
			ctx.rec.status = undefined;
			ctx.req.socket.destroy();
			return;
		}
		sendJson(ctx, lost.status, { code: lost.status, message: 'Bad gateway' });
		return;
	}
	const text = JSON.stringify(body);
	head(ctx, status, {
		'Content-Type': 'application/json; charset=utf-8',
		'Content-Length': Buffer.byteLength(text),
		...extraHeaders,
	});
	ctx.res.end(text);
}

export function sendOk(ctx: Ctx, data: unknown): void {
	sendJson(ctx, 200, { code: 0, data });
}

/** An application error in the `{code, message}` envelope (HTTP 200 unless told). */
export function sendAppError(ctx: Ctx, code: number, message?: string, httpStatus = 200): void {
	sendJson(ctx, httpStatus, { code, message: message ?? APP_MESSAGES[code] ?? 'Error' });
}

export function sendAuthFailure(ctx: Ctx): void {
	sendAppError(ctx, 1001, APP_MESSAGES[1001], ctx.emu.config.tokenExpiredHttpStatus);
}

export class BodyTooLarge extends Error {}

/** Reads the whole request body, at most `limit` bytes (then throws BodyTooLarge after draining). */
export function readBody(ctx: Ctx, limit = MAX_JSON_BODY): Promise<Buffer> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		let tooLarge = false;
		ctx.req.on('data', (chunk: Buffer) => {
			size += chunk.length;
			ctx.rec.bodyBytes = size;
			if (size > limit) {
				tooLarge = true;
				chunks.length = 0;
			} else if (!tooLarge) chunks.push(chunk);
		});
		ctx.req.on('end', () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks))));
		ctx.req.on('error', reject);
		ctx.req.on('aborted', () => reject(new Error('aborted')));
	});
}

export type JsonRead = { ok: true; value: unknown } | { ok: false; reason: 'empty' | 'invalid' | 'tooLarge' };

/** Reads a JSON body and records it (capped) in the request log. */
export async function readJson(ctx: Ctx): Promise<JsonRead> {
	let buf: Buffer;
	try {
		buf = await readBody(ctx);
	} catch (e) {
		if (e instanceof BodyTooLarge) {
			ctx.rec.json = { truncated: true, bytes: ctx.rec.bodyBytes };
			return { ok: false, reason: 'tooLarge' };
		}
		throw e;
	}
	if (buf.length === 0) return { ok: false, reason: 'empty' };
	try {
		const value: unknown = JSON.parse(buf.toString('utf8'));
		ctx.rec.json = buf.length <= MAX_RECORDED_JSON ? value : { truncated: true, bytes: buf.length };
		return { ok: true, value };
	} catch {
		ctx.rec.json = { invalid: true, text: buf.subarray(0, 1024).toString('utf8') };
		return { ok: false, reason: 'invalid' };
	}
}

/** Reads a JSON body and answers 400/413 itself when it is unusable. Empty bodies give `{}`. */
export async function readJsonOrFail(ctx: Ctx): Promise<Record<string, unknown> | undefined> {
	const r = await readJson(ctx);
	if (r.ok) {
		if (r.value && typeof r.value === 'object' && !Array.isArray(r.value)) return r.value as Record<string, unknown>;
		sendJson(ctx, 400, { code: 400, message: 'Request body must be a JSON object' });
		return undefined;
	}
	if (r.reason === 'empty') return {};
	if (r.reason === 'tooLarge') sendJson(ctx, 413, { code: 413, message: 'Request body too large' });
	else sendJson(ctx, 400, { code: 400, message: 'Invalid JSON body' });
	return undefined;
}

export function bearerToken(req: IncomingMessage): string | undefined {
	const h = req.headers.authorization;
	if (!h) return undefined;
	const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
	return m ? m[1] : undefined;
}

export function flatHeaders(req: IncomingMessage): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [k, v] of Object.entries(req.headers)) {
		if (v === undefined) continue;
		out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
	}
	return out;
}

export function str(v: unknown): string | undefined {
	return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Resolves true on 'drain', false when the response closes first. */
export function waitDrain(res: ServerResponse): Promise<boolean> {
	if (res.destroyed) return Promise.resolve(false);
	return new Promise((resolve) => {
		const done = (ok: boolean) => {
			res.off('drain', onDrain);
			res.off('close', onClose);
			resolve(ok);
		};
		const onDrain = () => done(true);
		const onClose = () => done(false);
		res.on('drain', onDrain);
		res.on('close', onClose);
	});
}
