// Injected faults: a queue of (route, fault, remaining) and the code that plays a fault on a request.
import { APP_MESSAGES, head, sendJson, waitDrain, type Ctx } from './http';
import type { Fault, Route } from './types';

interface Armed {
	route: Route | '*';
	fault: Fault;
	remaining: number;
	/** Requests to the route that pass untouched before the fault plays: the fault lands on a chosen call. */
	skip: number;
}

export class FaultQueue {
	private armed: Armed[] = [];

	add(route: Route | '*', fault: Fault, times = 1, skip = 0): void {
		if (times > 0) this.armed.push({ route, fault, remaining: times, skip: Math.max(0, skip) });
	}

	clear(): void {
		this.armed = [];
	}

	/** The fault for the next request to `route`, consuming one use (first armed, first served). */
	take(route: Route | 'unknown'): Fault | undefined {
		const i = this.armed.findIndex((a) => a.route === '*' || a.route === route);
		if (i < 0) return undefined;
		const a = this.armed[i];
		if (a.skip > 0) {
			a.skip--;
			return undefined;
		}
		a.remaining--;
		if (a.remaining <= 0) this.armed.splice(i, 1);
		return a.fault;
	}

	list(): Array<{ route: Route | '*'; fault: Fault; remaining: number; skip: number }> {
		return this.armed.map((a) => ({ ...a }));
	}
}

const HTML_502 =
	'<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n' +
	'<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n';

/**
 * Plays `fault` on the request. Returns true when the request was answered (or dropped) by the fault,
 * false when normal handling must follow (the 'slow' fault).
 */
export async function playFault(ctx: Ctx, fault: Fault): Promise<boolean> {
	const { res } = ctx;
	ctx.rec.fault = fault.kind;
	const cl = Number(ctx.req.headers['content-length']);
	if (Number.isFinite(cl)) ctx.rec.bodyBytes = cl;
	switch (fault.kind) {
		case 'rateLimit': {
			const extra: Record<string, string> = {};
			if (fault.retryAfterSeconds !== undefined) extra['Retry-After'] = String(fault.retryAfterSeconds);
			sendJson(ctx, 429, { code: 429, message: 'Too many requests' }, extra);
			return true;
		}
		case 'appCode':
			sendJson(ctx, fault.httpStatus ?? 200, { code: fault.code, message: APP_MESSAGES[fault.code] });
			return true;
		case 'unauthorized401':
			sendJson(ctx, 401, { message: 'Unauthorized' });
			return true;
		case 'plan402':
			sendJson(ctx, 402, { code: 402, message: 'Free plan cannot export' });
			return true;
		case 'missingClientId400':
			sendJson(ctx, 400, { code: 400, message: 'Missing X-Client-Id' });
			return true;
		case 'serverError':
			sendJson(ctx, fault.status ?? 500, { code: 500, message: 'Internal error' });
			return true;
		case 'drop':
			ctx.rec.status = undefined;
			ctx.req.socket.destroy();
			return true;
		case 'malformedJson': {
			const body = '{"code":0,"data":{';
			head(ctx, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
			res.end(body);
			return true;
		}
		case 'slow':
			await ctx.emu.sleep(fault.delayMs);
			return fault.then ? await playFault(ctx, fault.then) : false;
		case 'html':
			head(ctx, 502, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(HTML_502) });
			res.end(HTML_502);
			return true;
		case 'hugeBody':
			await streamJunk(ctx, fault.bytes);
			return true;
		case 'jsonOk':
			sendJson(ctx, 200, { code: 0, data: fault.data ?? { id: ctx.param, status: 'completed' } });
			return true;
		case 'cdnRedirect':
			head(ctx, fault.status ?? 302, { Location: fault.location, 'Content-Length': 0 });
			res.end();
			return true;
		case 'sseHugeLine':
			await streamHugeSseLine(ctx, fault.bytes);
			return true;
		case 'sseEndless':
			await streamEndless(ctx);
			return true;
		case 'sseDrop':
			// Played by the /run_sse route itself: the message is taken, then the stream breaks.
			return false;
		case 'hold':
			await holdUntilClientLeaves(ctx);
			return true;
		case 'resetMidBody':
			await resetAfterBodyBytes(ctx, fault.afterBytes);
			return true;
		case 'cutBody':
			await cutBodyAfter(ctx, fault.afterBytes);
			return true;
		case 'answerLost':
			// Played by the dispatcher: the request is handled, then its JSON answer is lost (see sendJson).
			return false;
		case 'lyingContentLength': {
			const body = '{"code":0,"data":{"partial":';
			head(ctx, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length + 4096 });
			res.write(body, () => ctx.req.socket.end());
			return true;
		}
	}
}

/** Takes the request and never answers it, until the client gives up or the emulator stops (a hung call). */
async function holdUntilClientLeaves(ctx: Ctx): Promise<void> {
	ctx.rec.status = undefined;
	ctx.req.resume();
	await new Promise<void>((resolve) => {
		ctx.res.on('close', () => resolve());
		ctx.emu.onStop(resolve);
	});
}

/** Reads `afterBytes` of the request body, then resets the connection: a network failure in mid-upload. */
async function resetAfterBodyBytes(ctx: Ctx, afterBytes: number): Promise<void> {
	ctx.rec.status = undefined;
	await new Promise<void>((resolve) => {
		let received = 0;
		const reset = () => {
			ctx.req.off('data', onData);
			ctx.req.socket.resetAndDestroy();
			resolve();
		};
		const onData = (chunk: Buffer) => {
			received += chunk.length;
			ctx.rec.bodyBytes = received;
			if (received >= afterBytes) reset();
		};
		ctx.req.on('data', onData);
		ctx.req.on('end', reset);
		ctx.req.on('close', () => resolve());
	});
}

/** A file answer broken in the middle: 200 video/mp4 announcing twice `afterBytes`, that many sent, then a reset. */
async function cutBodyAfter(ctx: Ctx, afterBytes: number): Promise<void> {
	const { res } = ctx;
	head(ctx, 200, { 'Content-Type': 'video/mp4', 'Content-Length': afterBytes * 2 });
	const block = Buffer.alloc(64 * 1024, 0);
	for (let sent = 0; sent < afterBytes && !res.destroyed; ) {
		const chunk = block.subarray(0, Math.min(block.length, afterBytes - sent));
		sent += chunk.length;
		if (!res.write(chunk) && !(await waitDrain(res))) return;
	}
	await new Promise<void>((resolve) => res.write('', () => resolve()));
	ctx.req.socket.resetAndDestroy();
}

/** 200 JSON with `bytes` bytes of junk, streamed with backpressure. */
async function streamJunk(ctx: Ctx, bytes: number): Promise<void> {
	const { res } = ctx;
	head(ctx, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes });
	const prefix = Buffer.from('{"code":0,"data":"');
	const block = Buffer.alloc(64 * 1024, 'x');
	let sent = 0;
	while (sent < bytes && !res.destroyed) {
		let chunk: Buffer;
		if (sent === 0) chunk = Buffer.concat([prefix, block]).subarray(0, Math.min(bytes, prefix.length + block.length));
		else chunk = block.subarray(0, Math.min(block.length, bytes - sent));
		sent += chunk.length;
		if (!res.write(chunk) && !(await waitDrain(res))) return;
	}
	if (!res.destroyed) res.end();
}

const SSE_HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' };

/** One `data:` text event whose line is `bytes` long, streamed with backpressure, then the end of the stream. */
async function streamHugeSseLine(ctx: Ctx, bytes: number): Promise<void> {
	const { res } = ctx;
	head(ctx, 200, SSE_HEADERS);
	if (!res.write('data: {"type":"text","content":"') && !(await waitDrain(res))) return;
	const block = Buffer.alloc(64 * 1024, 'x');
	let sent = 0;
	while (sent < bytes && !res.destroyed) {
		const chunk = block.subarray(0, Math.min(block.length, bytes - sent));
		sent += chunk.length;
		if (!res.write(chunk) && !(await waitDrain(res))) return;
	}
	if (!res.destroyed) res.end('"}\n\n');
}

/** Heartbeats (in the configured SSE shape) every sseHeartbeatMs until the client goes away or the emulator stops. */
async function streamEndless(ctx: Ctx): Promise<void> {
	const { res, emu } = ctx;
	let closed = false;
	res.on('close', () => (closed = true));
	head(ctx, 200, SSE_HEADERS);
	res.flushHeaders();
	while (!closed && !res.destroyed && !emu.isStopped) {
		res.write(emu.config.sseShape === 'nemo' ? 'data: {"type":"heartbeat"}\n\n' : 'data:\n\n');
		await emu.sleep(emu.config.sseHeartbeatMs);
	}
}
