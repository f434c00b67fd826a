import type { IDataObject } from 'n8n-workflow';
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';

import { APP_NAME } from './constants';
import type { NemoVideoClient } from './transport/client';
import { asNodeError, isNemoVideoError } from './transport/errors';
import { createParser } from './vendor';

export interface EventCounts extends IDataObject {
	text: number;
	toolCalls: number;
	toolResults: number;
	heartbeats: number;
	keepAlives: number;
	other: number;
}

/** How a stream ended: `completed` when the service closed it, `dropped` when the connection broke. */
export type StreamEnding = 'completed' | 'dropped';

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
	/** Called every `stillWorkingEveryMs` while the stream is open (progress for manual runs). */
	onStillWorking?: (elapsedMs: number) => void;
	stillWorkingEveryMs?: number;
}

export class ConversationError extends Error {
	constructor(
		readonly reason: 'inStream' | 'timeout' | 'heartbeatOnly' | 'oversized',
		message: string,
	) {
		super(message);
	}
}

/** Text kept of one answer; more is cut (the service's replies are short). */
const MAX_TEXT_CHARS = 200_000;
/** An event, or a line still being read, larger than this ends the stream as broken. */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;

/** The parts of one event, read off either documented shape. */
interface EventParts {
	texts: string[];
	partial: boolean;
	toolCalls: number;
	toolResults: number;
	heartbeat: boolean;
	error?: string;
}

export function readEvent(data: unknown): EventParts {
	const parts: EventParts = { texts: [], partial: false, toolCalls: 0, toolResults: 0, heartbeat: false };
	if (!data || typeof data !== 'object') return parts;
	const event = data as IDataObject;
	// NemoVideo's own shape: {type: text|tool_call|tool_result|heartbeat|error, ...}
	switch (event.type) {
		case 'text':
			if (typeof event.content === 'string') parts.texts.push(event.content);
			else if (typeof event.text === 'string') parts.texts.push(event.text);
			return parts;
		case 'tool_call':
			parts.toolCalls++;
			return parts;
		case 'tool_result':
			parts.toolResults++;
			return parts;
		case 'heartbeat':
			parts.heartbeat = true;
			return parts;
		case 'error':
			parts.error = String(event.message ?? event.content ?? event.error ?? 'unknown error');
			return parts;
	}
	// ADK's shape: {content:{role, parts:[{text}|{functionCall}|{functionResponse}]}, partial, errorCode, ...}
	if (typeof event.error === 'string' || (event.error && typeof event.error === 'object')) {
		parts.error = typeof event.error === 'string' ? event.error : JSON.stringify(event.error);
		return parts;
	}
	if (event.errorCode !== undefined || event.errorMessage !== undefined) {
		parts.error = `${String(event.errorMessage ?? 'error')}${event.errorCode !== undefined ? ` (${String(event.errorCode)})` : ''}`;
		return parts;
	}
	const content = event.content as IDataObject | undefined;
	if (content && typeof content === 'object' && Array.isArray(content.parts)) {
		if (content.role === 'user') return parts;
		parts.partial = event.partial === true;
		for (const part of content.parts as IDataObject[]) {
			if (typeof part?.text === 'string' && part.thought !== true) parts.texts.push(part.text);
			if (part?.functionCall) parts.toolCalls++;
			if (part?.functionResponse) parts.toolResults++;
		}
	}
	return parts;
}

/**
 * Collects what the service says. ADK streams a reply as `partial` chunks and then repeats it whole in a final
 * event; the final one replaces the chunks so the reply is not doubled.
 */
class TextCollector {
	private done = '';

	private pending = '';

	add(text: string, partial: boolean) {
		if (partial) this.pending += text;
		else {
			this.done += text;
			this.pending = '';
		}
	}

	get text(): string {
		return (this.done + this.pending).slice(0, MAX_TEXT_CHARS).trim();
	}
}

/**
 * Sends one message to /run_sse and reads the stream to its end. The message is sent once: a broken stream is
 * reported as `dropped` for the caller to recover from the session state, never re-sent (that would charge twice).
 */
export async function converse(
	client: NemoVideoClient,
	sessionId: string,
	prompt: string,
	options: ConversationOptions,
): Promise<ConversationResult> {
	const events: EventCounts = { text: 0, toolCalls: 0, toolResults: 0, heartbeats: 0, keepAlives: 0, other: 0 };
	const collector = new TextCollector();
	const bounds = new AbortController();
	let stopReason: ConversationError | undefined;
	const stop = (error: ConversationError) => {
		stopReason ??= error;
		bounds.abort(error);
	};

	const started = Date.now();
	let lastProgress = started;
	let lastStillWorking = started;
	const deadline = setTimeout(
		() => stop(new ConversationError('timeout', `no end of the answer within ${Math.round(options.timeoutMs / 60_000 * 10) / 10} minutes`)),
		options.timeoutMs,
	);
	const watchdog = setInterval(
		() => {
			const now = Date.now();
			if (now - lastProgress > options.heartbeatOnlyTimeoutMs) {
				stop(new ConversationError('heartbeatOnly', `only heartbeats for ${Math.round(options.heartbeatOnlyTimeoutMs / 1000)} s`));
			}
			if (options.onStillWorking && now - lastStillWorking >= (options.stillWorkingEveryMs ?? 120_000)) {
				lastStillWorking = now;
				options.onStillWorking(now - started);
			}
		},
		Math.max(50, Math.min(1000, options.heartbeatOnlyTimeoutMs / 4)),
	);

	let eventBytes = 0;
	const parser = createParser({
		onEvent(message) {
			eventBytes = 0;
			if (message.data.trim() === '') {
				events.keepAlives++;
				return;
			}
			let data: unknown;
			try {
				data = JSON.parse(message.data);
			} catch {
				events.other++;
				return;
			}
			const parts = readEvent(data);
			if (parts.error !== undefined) {
				stop(new ConversationError('inStream', parts.error));
				return;
			}
			if (parts.heartbeat) {
				events.heartbeats++;
				return;
			}
			if (parts.texts.length) {
				events.text++;
				for (const text of parts.texts) collector.add(text, parts.partial);
			}
			events.toolCalls += parts.toolCalls;
			events.toolResults += parts.toolResults;
			if (parts.texts.length || parts.toolCalls || parts.toolResults) lastProgress = Date.now();
			else events.other++;
		},
		onComment() {
			events.keepAlives++;
		},
	});

	let ending: StreamEnding = 'completed';
	try {
		const opened = await client
			.open({
			method: 'POST',
			path: '/run_sse',
			accept: 'text/event-stream',
			json: {
				app_name: APP_NAME,
				user_id: 'me',
				session_id: sessionId,
				new_message: { role: 'user', parts: [{ text: prompt }] },
			},
			idempotent: false,
			itemIndex: options.itemIndex,
			headersTimeoutMs: 120_000,
			bodyTimeoutMs: 0,
			signal: bounds.signal,
			})
			.catch((error: unknown) => {
				// The connection broke before the answer began: the message may have been taken, so it is
				// handled like a drop (read the state), never sent again.
				if (!stopReason && (isNemoVideoError(error, 'network') || isNemoVideoError(error, 'timeout'))) return undefined;
				throw error;
			});
		if (!opened) {
			ending = 'dropped';
			return { text: '', events, ending };
		}
		const { response } = opened;
		const decoder = new TextDecoder();
		try {
			for await (const chunk of response.body) {
				const text = decoder.decode(chunk as Buffer, { stream: true });
				eventBytes += text.length;
				if (eventBytes > MAX_EVENT_BYTES) {
					stop(new ConversationError('oversized', `an event larger than ${MAX_EVENT_BYTES / 1024 / 1024} MB`));
					break;
				}
				parser.feed(text);
				if (stopReason) break;
			}
		} catch (error) {
			if (!stopReason && !client.cancelSignal?.aborted) ending = 'dropped';
			else if (!stopReason) throw asNodeError(client.node, error, options.itemIndex);
		} finally {
			response.body.destroy();
		}
	} catch (error) {
		if (!stopReason) throw asNodeError(client.node, error, options.itemIndex);
	} finally {
		clearTimeout(deadline);
		clearInterval(watchdog);
	}
	if (stopReason) throw stopReason;
	return { text: collector.text, events, ending };
}
