// POST /api/upload-video/nemo_agent/me/<sid>: multipart `files` (streamed through busboy, never buffered)
// or JSON {"urls":[…],"source_type":"url"} (never fetched).
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, pipeline, type Readable } from 'node:stream';
import busboy from 'busboy';
import { randomHex, readJsonOrFail, sendAppError, sendJson, sendOk, type Ctx } from '../http';
import { ACCEPTED_FORMATS, SNIFF_BYTES, detectType, imageSize, typeFromName, type Detected } from '../media';
import type { EmulatedFile, EmulatedSession, RecordedFile } from '../types';
import { requireAuth } from './auth';
import { requireSession } from './session';

/** Files up to this size are kept on disk (for the ffmpeg slideshow and the CDN); bigger ones are only counted. */
export const STORE_LIMIT = 20 * 1024 * 1024;

interface Part {
	field: string;
	filename: string;
	bytes: number;
	sha256: string;
	head: Buffer;
	tooLarge: boolean;
	localPath?: string;
}

export async function handleUpload(ctx: Ctx): Promise<void> {
	const auth = requireAuth(ctx);
	if (!auth) return;
	const session = requireSession(ctx, ctx.param, auth);
	if (!session) return;
	const ct = String(ctx.req.headers['content-type'] ?? '').toLowerCase();
	if (ct.startsWith('multipart/form-data')) await uploadMultipart(ctx, session);
	else if (ct.includes('json')) await uploadUrls(ctx, session);
	else sendJson(ctx, 400, { code: 400, message: 'Expected multipart/form-data (field "files") or JSON {"urls":[…]}' });
}

async function uploadMultipart(ctx: Ctx, session: EmulatedSession): Promise<void> {
	const { emu } = ctx;
	let bb: busboy.Busboy;
	try {
		bb = busboy({ headers: ctx.req.headers, limits: { fieldSize: 1024 * 1024, files: 10_000 } });
	} catch (e) {
		sendJson(ctx, 400, { code: 400, message: `Malformed multipart request: ${(e as Error).message}` });
		return;
	}
	const parts: Part[] = [];
	const pending: Promise<void>[] = [];
	bb.on('file', (field, stream, info) => {
		const part: Part = { field, filename: info.filename || 'upload', bytes: 0, sha256: '', head: Buffer.alloc(0), tooLarge: false };
		parts.push(part);
		pending.push(consumeFile(stream, part, join(emu.uploadsDir(), `${Date.now()}-${randomHex(6)}`), emu.config.maxUploadBytes));
	});
	const counter = new Transform({
		transform(chunk: Buffer, _enc, cb) {
			ctx.rec.bodyBytes += chunk.length;
			cb(null, chunk);
		},
	});
	const error = await new Promise<Error | undefined>((resolve) => {
		pipeline(ctx.req, counter, bb, (err) => resolve(err ?? undefined));
	});
	await Promise.all(pending);
	const cleanup = () => parts.forEach((p) => p.localPath && rmSync(p.localPath, { force: true }));
	const detected = parts.map((p) => (p.bytes > 0 ? detectType(p.head) : null));
	ctx.rec.files = parts.map(
		(p, i): RecordedFile => ({
			field: p.field,
			filename: p.filename,
			bytes: p.bytes,
			detectedType: detected[i]?.format ?? null,
			sha256: p.sha256,
		}),
	);
	if (error) {
		cleanup();
		if (!ctx.req.destroyed && !ctx.res.destroyed)
			sendJson(ctx, 400, { code: 400, message: `Malformed multipart body: ${error.message}` });
		return;
	}
	const used = parts.map((p, i) => ({ p, d: detected[i] })).filter(({ p }) => p.field === 'files');
	if (used.length === 0) {
		cleanup();
		sendJson(ctx, 400, { code: 400, message: 'No files in the multipart field "files"' });
		return;
	}
	for (const { p, d } of used) {
		if (p.tooLarge) {
			cleanup();
			const limitMb = Math.round(emu.config.maxUploadBytes / 1024 / 1024);
			sendAppError(ctx, 4002, `File too large: ${p.filename} (${(p.bytes / 1024 / 1024).toFixed(1)} MB, max ${limitMb} MB)`);
			return;
		}
		if (!d) {
			cleanup();
			sendAppError(ctx, 4001, `Unsupported file type: ${p.filename}. Supported: ${ACCEPTED_FORMATS}`);
			return;
		}
	}
	for (const p of parts) if (p.field !== 'files' && p.localPath) rmSync(p.localPath, { force: true });
	const entries = used.map(({ p, d }) => fileEntry(ctx, p.filename, d as Detected, p.sha256, p.bytes, p.head, p.localPath));
	session.files.push(...entries);
	answer(ctx, entries);
}

function consumeFile(stream: Readable, part: Part, storePath: string, maxBytes: number): Promise<void> {
	return new Promise((resolve) => {
		const hash = createHash('sha256');
		const headChunks: Buffer[] = [];
		let headLen = 0;
		let ws: WriteStream | undefined = createWriteStream(storePath);
		const stopStoring = () => {
			if (!ws) return;
			ws.destroy();
			ws = undefined;
			rmSync(storePath, { force: true });
			stream.resume();
		};
		ws.on('error', stopStoring);
		stream.on('data', (chunk: Buffer) => {
			part.bytes += chunk.length;
			hash.update(chunk);
			if (headLen < SNIFF_BYTES) {
				const piece = Buffer.from(chunk.subarray(0, SNIFF_BYTES - headLen));
				headChunks.push(piece);
				headLen += piece.length;
			}
			if (part.bytes > maxBytes) part.tooLarge = true;
			if (!ws) return;
			if (part.bytes > STORE_LIMIT) stopStoring();
			else if (!ws.write(chunk)) {
				stream.pause();
				ws.once('drain', () => stream.resume());
			}
		});
		let done = false;
		const finish = (ok: boolean) => {
			if (done) return;
			done = true;
			part.sha256 = hash.digest('hex');
			part.head = Buffer.concat(headChunks);
			const w = ws;
			if (ok && w) {
				part.localPath = storePath;
				w.end(() => resolve());
				w.once('error', () => resolve());
			} else {
				stopStoring();
				resolve();
			}
		};
		stream.on('end', () => finish(true));
		stream.on('error', () => finish(false));
		stream.on('close', () => finish(false));
	});
}

async function uploadUrls(ctx: Ctx, session: EmulatedSession): Promise<void> {
	const body = await readJsonOrFail(ctx);
	if (!body) return;
	const urls = body.urls;
	if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string')) {
		sendJson(ctx, 400, { code: 400, message: '"urls" must be a non-empty array of strings' });
		return;
	}
	const entries: EmulatedFile[] = [];
	for (const url of urls as string[]) {
		let name: string;
		try {
			const u = new URL(url);
			if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
			name = decodeURIComponent(u.pathname.split('/').pop() || '') || 'file';
		} catch {
			sendJson(ctx, 400, { code: 400, message: `Invalid URL: ${url}` });
			return;
		}
		const d = typeFromName(name);
		if (!d) {
			sendAppError(ctx, 4001, `Unsupported file type: ${name}. Supported: ${ACCEPTED_FORMATS}`);
			return;
		}
		const hash = createHash('sha256').update(url).digest('hex');
		const e = fileEntry(ctx, name, d, hash, 0, Buffer.alloc(0), undefined);
		e.source = 'url';
		e.url = url;
		entries.push(e);
	}
	session.files.push(...entries);
	answer(ctx, entries);
}

function fileEntry(
	ctx: Ctx,
	filename: string,
	d: Detected,
	hash: string,
	bytes: number,
	headBytes: Buffer,
	localPath: string | undefined,
): EmulatedFile {
	const dims = d.fileType === 'image' ? imageSize(headBytes, d.format) : undefined;
	const isVideo = d.fileType === 'video';
	const isAudio = d.fileType === 'audio';
	return {
		filename,
		file_type: d.fileType,
		cdn_url: `${ctx.emu.cdnUrl}/uploads/${hash}`,
		duration: isVideo ? 10 : isAudio ? 30 : 0,
		width: isAudio ? 0 : (dims?.width ?? 1920),
		height: isAudio ? 0 : (dims?.height ?? 1080),
		fps: isVideo ? 30 : 0,
		hash,
		format: d.format,
		bytes,
		source: 'upload',
		localPath,
	};
}

function answer(ctx: Ctx, entries: EmulatedFile[]): void {
	sendOk(ctx, {
		files: entries.map((e) => ({
			filename: e.filename,
			file_type: e.file_type,
			cdn_url: e.cdn_url,
			duration: e.duration,
			width: e.width,
			height: e.height,
			fps: e.fps,
			hash: e.hash,
		})),
		session_state_applied: true,
	});
}
