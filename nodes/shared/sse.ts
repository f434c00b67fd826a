import type { IDataObject } from 'n8n-workflow';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';

import { runSse } from './transport/api';
import type { NemoVideoClient } from './transport/client';
import { asNodeError, isNemoVideoError } from './transport/errors';
import type { HttpResponse } from './transport/send';
import { createParser } from './vendor';
import type { EventSourceMessage } from './vendor';

export interface EventCounts extends IDataObject {
	text: number;
	toolCalls: number;
	toolResults: number;
	heartbeats: number;
	keepAlives: number;
	other: number;
}

/**
 * How a stream ended: `completed` when the service closed it, `dropped` when the connection broke; `sentEarlier`
 * when there was none, because an earlier try of the node sent the message (generate.ts answerSentEarlier).
 */
export type StreamEnding = 'completed' | 'dropped' | 'sentEarlier';

export interface ConversationResult {
	text: string;
	events: EventCounts;
	ending: StreamEnding;
}

export interface ConversationOptions {
	itemIndex: number;
	/** Whole conversation, from sending the message to the stream's end. */
	timeoutMs: number;
	/** Heartbeats and keep-alives alone for this long = the service is stuck. */
	heartbeatOnlyTimeoutMs: number;
	/**
	 * Called when `stillWorkingEveryMs` (default two minutes) passed with no text and no tool traffic, only
	 * heartbeats: the skill's "Every 2 min: ⏳ Still working..." (docs/nemovideo-api.md, run_sse).
	 */
	onStillWorking?: (elapsedMs: number) => void;
	stillWorkingEveryMs?: number;
	/** Called with each piece of the AI's words as it arrives, pieces of later messages after a blank line. */
	onText?: (piece: string) => void;
}

export class ConversationError extends Error {
	constructor(
		readonly reason: 'inStream' | 'timeout' | 'heartbeatOnly' | 'oversized',
		message: string,
		/** The app code of an answer envelope found inside the stream (`{"code":2001,…}`). */
		readonly appCode?: number,
	) {
		super(message);
	}
}

/** Text kept of one answer; more is cut (the service's replies are short). */
const MAX_TEXT_CHARS = 200_000;
/** An event, or a line still being read, larger than this ends the stream as broken. */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;
/** Longest service error text kept for the node's error message. */
const MAX_ERROR_CHARS = 1000;
/** Between two whole messages of the agent in `text`. */
const MESSAGE_SEPARATOR = '\n\n';

/** The parts of one event, read off either documented shape. */
export interface EventParts {
	texts: string[];
	/** The texts are a streamed piece of the message being said: they join it as they are. */
	partial: boolean;
	/** The event closes the message being said: the next text starts a new message. */
	endsMessage: boolean;
	toolCalls: number;
	toolResults: number;
	heartbeat: boolean;
	/** An empty `data:`: the connection is alive, nothing more. */
	keepAlive: boolean;
	error?: string;
	/** The app code of an error envelope sent as an event (docs/nemovideo-api.md, Envelope): 2001 means no credits. */
	errorCode?: number;
}

function noParts(): EventParts {
	return { texts: [], partial: false, endsMessage: false, toolCalls: 0, toolResults: 0, heartbeat: false, keepAlive: false };
}

/**
 * NemoVideo's own shape: `{type: text|tool_call|tool_result|heartbeat|error, …}` (docs/nemovideo-api.md, run_sse).
 * Where one message ends is not documented for this shape: consecutive `text` events are read as the streamed
 * pieces of one message, and a tool call or result between two texts separates two messages (the agent speaks,
 * works, then speaks again). Heartbeats say nothing about messages.
 */
function readNemoVideoEvent(event: IDataObject): EventParts | undefined {
	const parts = noParts();
	switch (event.type) {
		case 'text':
			if (typeof event.content === 'string') parts.texts.push(event.content);
			else if (typeof event.text === 'string') parts.texts.push(event.text);
			parts.partial = true;
			return parts;
		case 'tool_call':
			return { ...parts, toolCalls: 1, endsMessage: true };
		case 'tool_result':
			return { ...parts, toolResults: 1, endsMessage: true };
		case 'heartbeat':
			return { ...parts, heartbeat: true };
		case 'error':
			return { ...parts, error: String(event.message ?? event.content ?? event.error ?? 'unknown error') };
	}
	return undefined;
}

function readAdkError(event: IDataObject): string | undefined {
	if (typeof event.error === 'string') return event.error;
	if (event.error && typeof event.error === 'object') return JSON.stringify(event.error);
	if (event.errorCode !== undefined || event.errorMessage !== undefined) {
		const code = event.errorCode !== undefined ? ` (${String(event.errorCode)})` : '';
		return `${String(event.errorMessage ?? 'error')}${code}`;
	}
	return undefined;
}

function isAdkEvent(event: IDataObject): boolean {
	return ['content', 'partial', 'turnComplete', 'author', 'invocationId'].some((key) => key in event);
}

/**
 * ADK's shape: `{content:{role, parts:[{text}|{functionCall}|{functionResponse}]}, partial, turnComplete, …}`.
 * ADK streams a message as `partial` events and then sends it whole in one non-partial event; so a non-partial
 * event, or `turnComplete`, ends the message. Tool results come back with role `user` (ADK puts the function's
 * answer in the user's turn): they are counted, and no text is ever taken from a user-role event.
 */
function readAdkEvent(event: IDataObject): EventParts {
	const parts = noParts();
	parts.partial = event.partial === true;
	parts.endsMessage = isAdkEvent(event) && (!parts.partial || event.turnComplete === true);
	const content = event.content as IDataObject | undefined;
	if (!content || typeof content !== 'object' || !Array.isArray(content.parts)) return parts;
	const fromModel = content.role !== 'user';
	for (const part of content.parts as IDataObject[]) {
		if (fromModel && typeof part?.text === 'string' && part.thought !== true) parts.texts.push(part.text);
		if (part?.functionCall) parts.toolCalls++;
		if (part?.functionResponse) parts.toolResults++;
	}
	return parts;
}

/**
 * The service's answer envelope (`{code, message}` with a non-zero code) sent as an event of the stream, as a
 * gateway or the service may do when it refuses the message once the stream has begun: an error with its code.
 */
function readEnvelopeEvent(event: IDataObject): EventParts | undefined {
	const code = typeof event.code === 'number' ? event.code : typeof event.code === 'string' && /^\d+$/.test(event.code) ? Number(event.code) : undefined;
	if (code === undefined || code === 0 || 'type' in event || 'content' in event) return undefined;
	const said = [event.message, event.msg, event.detail].find((value) => typeof value === 'string' && value.trim());
	return { ...noParts(), error: String(said ?? `the service answered code ${code}`).slice(0, MAX_ERROR_CHARS), errorCode: code };
}

/** One JSON event of either documented shape. */
export function readEvent(data: unknown): EventParts {
	if (!data || typeof data !== 'object' || Array.isArray(data)) return noParts();
	const event = data as IDataObject;
	const envelope = readEnvelopeEvent(event);
	if (envelope) return envelope;
	const own = readNemoVideoEvent(event);
	if (own) return own;
	const error = readAdkError(event);
	if (error !== undefined) return { ...noParts(), error };
	return readAdkEvent(event);
}

function parsed(text: string): { ok: true; value: unknown } | { ok: false } {
	try {
		return { ok: true, value: JSON.parse(text) as unknown };
	} catch {
		return { ok: false };
	}
}

/** The text of an SSE `error` event: its data as plain text, or the message inside it when it is JSON. */
function readErrorEvent(data: string): EventParts {
	const json = parsed(data);
	let text = data.trim();
	if (json.ok && typeof json.value === 'string') text = json.value;
	else if (json.ok && json.value && typeof json.value === 'object') {
		const body = json.value as IDataObject;
		const inside = readEvent(body).error ?? body.message ?? body.detail;
		text = typeof inside === 'string' ? inside : data.trim();
	}
	return { ...noParts(), error: (text || 'the service sent an error event with no message').slice(0, MAX_ERROR_CHARS) };
}

function readDataLine(line: string): EventParts {
	if (line.trim() === '') return { ...noParts(), keepAlive: true };
	const json = parsed(line);
	return json.ok ? readEvent(json.value) : noParts();
}

/**
 * One SSE message as the service frames it. Its events are `data: <json>` lines (docs/nemovideo-api.md, run_sse):
 * a message is normally one JSON value (possibly over several `data:` lines); when the service leaves out the
 * blank lines between events, the parser hands over many lines at once, and each line is then its own event.
 * An `event: error` is an in-stream error whatever its data, JSON or plain text.
 */
export function readMessage(message: Pick<EventSourceMessage, 'event' | 'data'>): EventParts[] {
	if (message.event === 'error') return [readErrorEvent(message.data)];
	if (message.data.trim() === '') return [{ ...noParts(), keepAlive: true }];
	const whole = parsed(message.data);
	if (whole.ok) return [readEvent(whole.value)];
	return message.data.split('\n').map(readDataLine);
}

/**
 * The SSE framing, ended properly. The service ends an answer by closing the stream (no done event), and
 * eventsource-parser only delivers an event at a blank line, so the last event of a stream that closed without
 * one would be lost. `finish` feeds two line ends: whether the stream stopped inside a line or after a line
 * with no blank line, they end it and deliver the pending event. On a stream that ended with its blank line
 * nothing is pending and nothing is delivered twice (eventsource-parser 3.1.1 dispatches only an event it has
 * read a `data:` line for). Its `reset({consume: true})` parses a half line but drops the pending event.
 */
export class SseReader {
	private readonly parser: ReturnType<typeof createParser>;

	private finished = false;

	constructor(handlers: { onMessage: (message: EventSourceMessage) => void; onComment?: (comment: string) => void }) {
		this.parser = createParser({ onEvent: handlers.onMessage, onComment: handlers.onComment });
	}

	feed(text: string): void {
		if (this.finished) throw new Error('SseReader: the stream is finished, no more text can be read');
		this.parser.feed(text);
	}

	finish(): void {
		if (this.finished) return;
		this.parser.feed('\n\n');
		this.finished = true;
	}
}

/**
 * What the service says, message by message. The streamed pieces of one message join as they are; ADK's final,
 * whole copy of a message replaces its pieces (so it is not doubled); whole messages are kept apart by a blank
 * line (they used to run together: "…smooth transitions.Your slideshow is ready…").
 */
export class TextCollector {
	private readonly messages: string[] = [];

	private current = '';

	private kept = 0;

	/** How much of the current message `onText` was given (the untrimmed prefix of `current`). */
	private told = 0;

	/** Whether `onText` was given any words yet: later messages begin with the separator. */
	private toldAny = false;

	/** `onText` receives what each event adds to the text, as it comes (streaming the reply on). */
	constructor(private readonly onText?: (piece: string) => void) {}

	add(parts: Pick<EventParts, 'texts' | 'partial' | 'endsMessage'>): void {
		if (parts.texts.length) {
			const text = parts.texts.join('');
			this.current = (parts.partial ? this.current + text : text).slice(0, MAX_TEXT_CHARS);
			this.tell();
		}
		if (parts.endsMessage) this.endMessage();
	}

	/**
	 * Hands on what the current message gained since the last call. ADK's final whole copy of a message equals
	 * its pieces and adds nothing; a final copy that differs from them cannot be unsaid, and only its new end is
	 * handed on (the complete text is in `text`).
	 */
	private tell(): void {
		if (!this.onText) return;
		const start = this.current.length - this.current.trimStart().length;
		const from = Math.max(this.told, start);
		if (this.current.length <= from) return;
		const piece = this.current.slice(from);
		this.told = this.current.length;
		const first = from === start;
		this.onText(first && this.toldAny ? `${MESSAGE_SEPARATOR}${piece}` : piece);
		this.toldAny = true;
	}

	private endMessage(): void {
		const message = this.current.trim();
		this.current = '';
		this.told = 0;
		if (!message || this.kept >= MAX_TEXT_CHARS) return;
		this.messages.push(message);
		this.kept += message.length;
	}

	get text(): string {
		return [...this.messages, this.current.trim()].filter(Boolean).join(MESSAGE_SEPARATOR).slice(0, MAX_TEXT_CHARS);
	}
}

/** The conversation's time bounds: the whole-answer deadline, the heartbeats-only watchdog, progress reports. */
class TimeBounds {
	readonly controller = new AbortController();

	reason?: ConversationError;

	private readonly started = Date.now();

	private lastProgress = this.started;

	private lastStillWorking = this.started;

	private readonly deadline: ReturnType<typeof setTimeout>;

	private readonly watchdog: ReturnType<typeof setInterval>;

	constructor(private readonly options: ConversationOptions) {
		const minutes = Math.round((options.timeoutMs / 60_000) * 10) / 10;
		this.deadline = setTimeout(
			() => this.stop(new ConversationError('timeout', `no end of the answer within ${minutes} minutes`)),
			options.timeoutMs,
		);
		const every = Math.min(options.heartbeatOnlyTimeoutMs, options.stillWorkingEveryMs ?? Infinity);
		this.watchdog = setInterval(() => this.check(), Math.max(50, Math.min(1000, every / 4)));
	}

	get signal(): AbortSignal {
		return this.controller.signal;
	}

	stop(error: ConversationError): void {
		this.reason ??= error;
		this.controller.abort(error);
	}

	/** Words or tool traffic came: the service is working, and the still-working notice counts from now. */
	progressed(): void {
		this.lastProgress = Date.now();
		this.lastStillWorking = this.lastProgress;
	}

	clear(): void {
		clearTimeout(this.deadline);
		clearInterval(this.watchdog);
	}

	private check(): void {
		const now = Date.now();
		const { heartbeatOnlyTimeoutMs, onStillWorking, stillWorkingEveryMs } = this.options;
		if (now - this.lastProgress > heartbeatOnlyTimeoutMs) {
			this.stop(new ConversationError('heartbeatOnly', `only heartbeats for ${Math.round(heartbeatOnlyTimeoutMs / 1000)} s`));
		}
		if (onStillWorking && now - this.lastStillWorking >= (stillWorkingEveryMs ?? 120_000)) {
			this.lastStillWorking = now;
			onStillWorking(now - this.started);
		}
	}
}

/** What the events of one answer add up to: the counts, the text, and the in-stream error that ends it. */
class AnswerTally {
	readonly events: EventCounts = { text: 0, toolCalls: 0, toolResults: 0, heartbeats: 0, keepAlives: 0, other: 0 };

	readonly collector: TextCollector;

	constructor(
		private readonly bounds: TimeBounds,
		onText?: (piece: string) => void,
	) {
		this.collector = new TextCollector(onText);
	}

	take(message: EventSourceMessage): void {
		for (const parts of readMessage(message)) {
			if (this.bounds.reason) return;
			this.count(parts);
		}
	}

	keepAlive(): void {
		this.events.keepAlives++;
	}

	private count(parts: EventParts): void {
		const { events } = this;
		if (parts.error !== undefined) {
			this.bounds.stop(new ConversationError('inStream', parts.error, parts.errorCode));
			return;
		}
		if (parts.keepAlive) events.keepAlives++;
		else if (parts.heartbeat) events.heartbeats++;
		else {
			if (parts.texts.length) events.text++;
			events.toolCalls += parts.toolCalls;
			events.toolResults += parts.toolResults;
			if (parts.texts.length || parts.toolCalls || parts.toolResults) this.bounds.progressed();
			else events.other++;
		}
		this.collector.add(parts);
	}
}

/**
 * Sends the message. Undefined when the connection broke before the answer began: the message may have been
 * taken, so it is handled like a drop (read the state), never sent again.
 */
async function openStream(
	client: NemoVideoClient,
	sessionId: string,
	prompt: string,
	itemIndex: number,
	bounds: TimeBounds,
): Promise<HttpResponse | undefined> {
	try {
		return await runSse(client, { sessionId, prompt }, { itemIndex, signal: bounds.signal });
	} catch (error) {
		if (!bounds.reason && (isNemoVideoError(error, 'network') || isNemoVideoError(error, 'timeout'))) return undefined;
		throw asNodeError(client.node, error, itemIndex);
	}
}

/** Reads the answer to its end, or until a bound stops it (then `bounds.reason` says why). */
async function readStream(
	client: NemoVideoClient,
	response: HttpResponse,
	bounds: TimeBounds,
	tally: AnswerTally,
	itemIndex: number,
): Promise<StreamEnding> {
	let eventBytes = 0;
	const reader = new SseReader({
		onMessage(message) {
			eventBytes = 0;
			tally.take(message);
		},
		onComment: () => tally.keepAlive(),
	});
	const decoder = new TextDecoder();
	try {
		for await (const chunk of response.body) {
			const text = decoder.decode(chunk as Buffer, { stream: true });
			eventBytes += text.length;
			if (eventBytes > MAX_EVENT_BYTES) {
				bounds.stop(new ConversationError('oversized', `an event larger than ${MAX_EVENT_BYTES / 1024 / 1024} MB`));
				return 'completed';
			}
			reader.feed(text);
			if (bounds.reason) return 'completed';
		}
		// The service closed the stream: that is how an answer ends. What the parser still holds is its last event.
		reader.feed(decoder.decode());
		reader.finish();
		return 'completed';
	} catch (error) {
		if (!bounds.reason && !client.cancelSignal?.aborted) return 'dropped';
		if (!bounds.reason) throw asNodeError(client.node, error, itemIndex);
		return 'completed';
	} finally {
		response.body.destroy();
	}
}

/**
 * Sends one message to the AI (runSse) and reads the stream to its end. The message is sent once: a broken stream is
 * reported as `dropped` for the caller to recover from the session state, never re-sent (that would charge twice).
 */
export async function sendMessageAndReadReply(
	client: NemoVideoClient,
	sessionId: string,
	prompt: string,
	options: ConversationOptions,
): Promise<ConversationResult> {
	const bounds = new TimeBounds(options);
	const tally = new AnswerTally(bounds, options.onText);
	let ending: StreamEnding = 'dropped';
	try {
		const response = await openStream(client, sessionId, prompt, options.itemIndex, bounds);
		if (response) ending = await readStream(client, response, bounds, tally, options.itemIndex);
	} catch (error) {
		if (!bounds.reason) throw asNodeError(client.node, error, options.itemIndex);
	} finally {
		bounds.clear();
	}
	if (bounds.reason) throw bounds.reason;
	return { text: tally.collector.text, events: tally.events, ending };
}
