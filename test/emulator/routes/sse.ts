// POST /run_sse: the agent's event stream, in NemoVideo's {type:…} shape or ADK's {content:{parts}} shape.
import { randomUUID } from 'node:crypto';
import { head, readJsonOrFail, sendAppError, sendJson, type Ctx } from '../http';
import { applyPrompt, formatSeconds } from '../draft';
import type { EmulatedSession, EmulatorConfig } from '../types';
import { requireAuth } from './auth';
import { requireSession } from './session';

const AUTHOR = 'nemo_agent';

/** Writes events of one shape; every write is skipped once the client has gone. */
class EventWriter {
	closed = false;
	private readonly invocationId = `e-${randomUUID()}`;
	/** The blank line that ends the previous event, when the framing writes it only before the next one. */
	private owedBlankLine = '';

	constructor(
		private readonly ctx: Ctx,
		private readonly shape: 'nemo' | 'adk',
		private readonly framing: EmulatorConfig['sseFraming'] = 'standard',
	) {
		ctx.res.on('close', () => {
			this.closed = true;
		});
	}

	private raw(text: string): void {
		if (!this.closed && !this.ctx.res.destroyed) this.ctx.res.write(text);
	}

	/** One event of `data:` (and `event:`) lines, ended by a blank line as the framing says. */
	private frame(lines: string): void {
		if (this.framing === 'standard') this.raw(`${lines}\n\n`);
		else {
			this.raw(`${this.owedBlankLine}${lines}\n`);
			this.owedBlankLine = this.framing === 'noFinalBlankLine' ? '\n' : '';
		}
	}

	private event(obj: unknown): void {
		this.frame(`data: ${JSON.stringify(obj)}`);
	}

	private adk(extra: Record<string, unknown>): void {
		this.event({
			id: randomUUID(),
			invocationId: this.invocationId,
			author: AUTHOR,
			timestamp: Date.now() / 1000,
			...extra,
		});
	}

	keepAlive(): void {
		this.frame('data:');
	}

	heartbeat(): void {
		if (this.shape === 'nemo') this.event({ type: 'heartbeat' });
		else this.keepAlive();
	}

	toolCall(name: string, args: Record<string, unknown>, callId: string): void {
		if (this.shape === 'nemo') this.event({ type: 'tool_call', name, args });
		else this.adk({ content: { role: 'model', parts: [{ functionCall: { id: callId, name, args } }] }, partial: false });
	}

	toolResult(name: string, result: Record<string, unknown>, callId: string): void {
		if (this.shape === 'nemo') this.event({ type: 'tool_result', name, result });
		else this.adk({ content: { role: 'user', parts: [{ functionResponse: { id: callId, name, response: result } }] }, partial: false });
	}

	/**
	 * Streams one message as `chunks`; in ADK shape they are partial events followed by one final full-text event
	 * (`turnComplete` only on the message that ends the turn).
	 */
	async text(chunks: string[], pause: () => Promise<void>, endsTurn = true): Promise<void> {
		for (const c of chunks) {
			if (this.closed) return;
			if (this.shape === 'nemo') this.event({ type: 'text', content: c });
			else this.adk({ content: { role: 'model', parts: [{ text: c }] }, partial: true });
			await pause();
		}
		if (this.shape === 'adk')
			this.adk({ content: { role: 'model', parts: [{ text: chunks.join('') }] }, partial: false, ...(endsTurn ? { turnComplete: true } : {}) });
	}

	error(): void {
		if (this.shape === 'nemo')
			this.event({ errorCode: 'AGENT_ERROR', errorMessage: 'The agent failed to process this request. Please try again.' });
		else this.event({ error: 'Model overloaded: the agent failed to process this request' });
	}

	/** An answer envelope as an event of the stream (`{code, message}`), as a gateway may put it there. */
	envelope(body: { code: number; message: string }): void {
		this.event(body);
	}

	/** An SSE `error` event whose data is plain text, not JSON. */
	plainTextError(): void {
		this.frame('event: error\ndata: The agent failed to process this request: the model is overloaded. Please try again later.');
	}

	end(): void {
		if (!this.closed && !this.ctx.res.destroyed) this.ctx.res.end();
	}
}

function messageText(body: Record<string, unknown>): string | undefined {
	const msg = body.new_message as { parts?: unknown } | undefined;
	if (!msg || typeof msg !== 'object' || !Array.isArray(msg.parts)) return undefined;
	const texts = msg.parts
		.map((p: unknown) => (p && typeof p === 'object' ? (p as { text?: unknown }).text : undefined))
		.filter((t): t is string => typeof t === 'string');
	return texts.length ? texts.join('\n') : undefined;
}

export async function handleSse(ctx: Ctx): Promise<void> {
	const { emu } = ctx;
	const auth = requireAuth(ctx);
	if (!auth) return;
	const accept = String(ctx.req.headers.accept ?? '');
	if (!accept.includes('text/event-stream')) {
		sendJson(ctx, 406, { code: 406, message: 'Accept: text/event-stream required' });
		return;
	}
	const body = await readJsonOrFail(ctx);
	if (!body) return;
	const sessionId = typeof body.session_id === 'string' ? body.session_id : undefined;
	const text = messageText(body);
	if (!sessionId || text === undefined) {
		sendJson(ctx, 400, { code: 400, message: 'session_id and new_message.parts[].text are required' });
		return;
	}
	const session = requireSession(ctx, sessionId, auth);
	if (!session) return;
	session.messages.push(text);

	const cfg = emu.config;
	const account = emu.account(auth.userId);
	const cost = cfg.sseCost;
	if (account.available < cost) {
		sendAppError(ctx, 2001, 'Insufficient credits');
		return;
	}
	// Credits are frozen while the agent works and spent when the turn ends (refunded on an in-stream error).
	account.available -= cost;
	account.frozen += cost;
	let settled = false;
	const settle = (refund: boolean) => {
		if (settled) return;
		settled = true;
		account.frozen -= cost;
		if (refund) account.available += cost;
	};

	head(ctx, 200, {
		'Content-Type': 'text/event-stream; charset=utf-8',
		'Cache-Control': 'no-cache',
		Connection: 'keep-alive',
		'X-Accel-Buffering': 'no',
	});
	ctx.res.flushHeaders();
	const w = new EventWriter(ctx, cfg.sseShape, cfg.sseFraming);
	const pause = () => emu.sleep(cfg.sseEventDelayMs);

	switch (ctx.rec.fault === 'sseDrop' ? 'drop' : cfg.sseScenario) {
		case 'silent':
			settle(true);
			w.end();
			return;
		case 'envelopeError':
			w.envelope({ code: 2001, message: 'Insufficient credits' });
			settle(true);
			w.end();
			return;
		case 'heartbeatsOnly':
			while (!w.closed && !emu.isStopped) {
				w.heartbeat();
				await emu.sleep(cfg.sseHeartbeatMs);
			}
			settle(false);
			return;
		case 'inStreamError':
		case 'plainTextError':
			w.toolCall('analyze_media', { file_count: session.files.length }, 'call_1');
			await pause();
			if (cfg.sseScenario === 'plainTextError') w.plainTextError();
			else w.error();
			settle(true);
			w.end();
			return;
		case 'drop':
			w.toolCall('analyze_media', { file_count: session.files.length }, 'call_1');
			await pause();
			ctx.req.socket.destroy();
			emu.later(cfg.sseDropApplyDelayMs, () => {
				applyPrompt(session, text);
				settle(false);
			});
			return;
		case 'noText':
		case 'text':
			await runGeneration(w, session, text, pause, cfg.sseScenario === 'noText' ? 'none' : cfg.sseIntroMessage ? 'introAndReply' : 'reply');
			settle(false);
			w.end();
			return;
	}
}

async function runGeneration(
	w: EventWriter,
	session: EmulatedSession,
	text: string,
	pause: () => Promise<void>,
	texts: 'none' | 'reply' | 'introAndReply',
): Promise<void> {
	const files = session.files;
	if (texts === 'introAndReply') {
		// A whole message of its own before the tool calls, as agents say what they are about to do.
		await w.text(["Sure! I'll turn your photos into a slideshow ", 'with smooth transitions.'], pause, false);
	}
	w.toolCall('analyze_media', { file_count: files.length }, 'call_1');
	await pause();
	w.heartbeat();
	await pause();
	w.toolResult(
		'analyze_media',
		{ files: files.map((f) => ({ filename: f.filename, type: f.file_type, width: f.width, height: f.height })) },
		'call_1',
	);
	await pause();
	w.keepAlive();
	await pause();
	const { visual, totalMs } = applyPrompt(session, text);
	w.toolCall(
		'create_slideshow',
		// what test/emulator/slideshow.ts renders for this draft
		{ aspect_ratio: session.canvas.ratio, duration_ms: totalMs, transition: 'crossfade', motion: 'slow zoom', title: session.draft.m?.title, music: 'Lo-fi' },
		'call_2',
	);
	await pause();
	w.heartbeat();
	await pause();
	w.toolResult(
		'create_slideshow',
		{ ok: visual.length > 0, segments: visual.length, duration_ms: totalMs, canvas: session.canvas },
		'call_2',
	);
	await pause();
	if (texts === 'none' || w.closed) return;
	let chunks: string[];
	if (visual.length === 0) {
		chunks = ["I don't see any photos in this project yet. ", 'Click Upload to add your photos and I will turn them into a video.'];
	} else {
		const n = visual.length;
		const what = visual.every((f) => f.file_type === 'image') ? `${n} photo${n === 1 ? '' : 's'}` : `${n} clip${n === 1 ? '' : 's'}`;
		chunks = [
			`I've turned your ${what} into a ${formatSeconds(totalMs)} second `,
			`${session.canvas.ratio} slideshow with smooth transitions and a Lo-fi soundtrack. `,
			'Preview it in the timeline. Click Export to download it.',
		];
	}
	await w.text(chunks, pause);
}
