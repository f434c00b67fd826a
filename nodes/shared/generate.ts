import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { SessionState } from './session';
import { describeStateChange, readSessionState } from './session';
import { ConversationError, sendMessageAndReadReply } from './sse';
import type { ConversationOptions, ConversationResult, EventCounts, StreamEnding } from './sse';
import type { NemoVideoClient } from './transport/client';
import { afterCharge } from './chargedWork';
import { asNodeError, classifyAnswer } from './transport/errors';
import { sleepUnlessCancelled } from './transport/wait';

export type NextStep = 'export' | 'upload' | 'state' | 'none';

/** The conversation's own bounds, and how to recover after a dropped stream. */
export interface GenerateOptions
	extends Pick<ConversationOptions, 'itemIndex' | 'timeoutMs' | 'heartbeatOnlyTimeoutMs' | 'onText' | 'onStillWorking' | 'stillWorkingEveryMs'> {
	/** After a dropped stream: first state read after this, then one every `recoveryIntervalMs`. */
	recoveryFirstWaitMs: number;
	recoveryIntervalMs: number;
	/** Unchanged state reads after a drop before giving up. */
	recoveryReads: number;
}

export interface GenerateResult extends IDataObject {
	sessionId: string;
	text: string;
	summary: string;
	events: EventCounts;
	stateChanged: boolean;
	streamEnding: StreamEnding;
	suggestedNextStep: NextStep;
	readyToExport: boolean;
	timeline: SessionState['timeline'];
}

/**
 * The service answers as if the user had its web editor. Its phrasing, mapped per the skill's GUI-translation
 * table (docs/nemovideo-api.md) to the node a workflow should run next.
 */
export function suggestNextStep(text: string): NextStep {
	if (/\bexport\b|导出|\bdownload\b|下载/i.test(text)) return 'export';
	if (/\bupload\b|上传/i.test(text)) return 'upload';
	if (/\bopen\b|打开|\bpreview\b|预览|\btimeline\b|时间线/i.test(text)) return 'state';
	return 'none';
}

/** Reads the state until any part of it differs from `before`, giving up after `reads` reads that show no change. */
async function recoverAfterDrop(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	sessionId: string,
	before: SessionState,
	options: GenerateOptions,
): Promise<SessionState | undefined> {
	const signal = ctx.getExecutionCancelSignal();
	await sleepUnlessCancelled(options.recoveryFirstWaitMs, signal);
	for (let read = 1; ; read++) {
		const now = await readSessionState(client, sessionId, options.itemIndex);
		if (describeStateChange(before, now).changed) return now;
		if (read >= options.recoveryReads) return undefined;
		await sleepUnlessCancelled(options.recoveryIntervalMs, signal);
	}
}

/** The conversation, or the error that says what happened to the message: sent once, never re-sent. */
async function sendMessageOnce(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	sessionId: string,
	prompt: string,
	options: GenerateOptions,
): Promise<ConversationResult> {
	const { itemIndex } = options;
	const manual = ctx.getMode() === 'manual';
	try {
		return await sendMessageAndReadReply(client, sessionId, prompt, {
			itemIndex,
			timeoutMs: options.timeoutMs,
			heartbeatOnlyTimeoutMs: options.heartbeatOnlyTimeoutMs,
			onText: options.onText,
			stillWorkingEveryMs: options.stillWorkingEveryMs,
			onStillWorking:
				options.onStillWorking ??
				(manual ? (elapsed) => ctx.sendMessageToUI(`NemoVideo: still working… (${Math.round(elapsed / 60_000)} min)`) : undefined),
		});
	} catch (error) {
		if (!(error instanceof ConversationError)) throw asNodeError(ctx.getNode(), error, itemIndex);
		if (error.reason === 'inStream' && error.appCode !== undefined) throw await inStreamEnvelopeError(client, error, itemIndex);
		if (error.reason === 'inStream') {
			throw new NodeApiError(ctx.getNode(), { message: error.message }, {
				itemIndex,
				message: `NemoVideo reported an error: ${error.message}`,
				description: `The AI stopped with this error in session ${sessionId}. The message was not sent again (that could charge twice); check the session with NemoVideo Get State, then rephrase the prompt or try later.`,
			});
		}
		const unfinished = new NodeOperationError(ctx.getNode(), `NemoVideo did not finish: ${error.message}`, {
			itemIndex,
			description: `The message was sent once and not re-sent (that would charge twice). The work may still complete: read the session ${sessionId} with NemoVideo Get State later, or raise "Timeout (Minutes)".`,
		});
		throw afterCharge(ctx.getNode(), unfinished, { sessionId });
	}
}

/**
 * An answer envelope inside the stream (`{"code":2001,…}`): the failure its code means, as if the call had been
 * refused with it, so that 2001 says "no credits" with the way on, not "the AI said nothing" (issue 16).
 */
async function inStreamEnvelopeError(client: NemoVideoClient, error: ConversationError, itemIndex: number): Promise<Error> {
	const operation = 'POST /run_sse';
	const kind = classifyAnswer(200, error.appCode, error.message);
	return client.toError({ kind, appCode: error.appCode, serviceMessage: error.message, operation }, await client.tokens.get(), {
		method: 'POST',
		path: '/run_sse',
		itemIndex,
	});
}

/** The session after the answer: read once, or after a dropped stream until it shows a change. */
async function stateAfter(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	sessionId: string,
	before: SessionState,
	ending: StreamEnding,
	options: GenerateOptions,
): Promise<SessionState> {
	if (ending !== 'dropped') return await readSessionState(client, sessionId, options.itemIndex);
	const after = await recoverAfterDrop(ctx, client, sessionId, before, options);
	if (after) return after;
	const unchanged = new NodeOperationError(ctx.getNode(), 'The connection to NemoVideo dropped and the session did not change', {
		itemIndex: options.itemIndex,
		description: `The stream broke before the answer ended; the message was not re-sent (that would charge twice). The session (timeline, canvas, media) did not change in ${options.recoveryReads} reads. The message may still have been taken: check session ${sessionId} later with NemoVideo Get State before sending it again.`,
	});
	throw afterCharge(ctx.getNode(), unchanged, { sessionId }, { adviseExport: false });
}

/** Whether an answer said or did anything this node can read: text, or a tool call or result. */
function answered(events: EventCounts): boolean {
	return events.text + events.toolCalls + events.toolResults > 0;
}

/**
 * An answer that ended cleanly but held nothing readable (no event at all, or only events of unknown shape) and
 * changed nothing: a failure, not "did not change" reported as success (issue 16, unknown shapes).
 */
function emptyAnswerError(ctx: IExecuteFunctions, sessionId: string, events: EventCounts, itemIndex: number): Error {
	const held = events.other + events.heartbeats + events.keepAlives === 0 ? 'no event at all' : `only ${events.other} event(s) of a shape this node does not know, ${events.heartbeats} heartbeat(s) and ${events.keepAlives} keep-alive(s)`;
	return new NodeOperationError(ctx.getNode(), 'NemoVideo ended its answer without a word, and the session did not change', {
		itemIndex,
		description: `The answer held ${held}. The message was sent once and may have been taken: check session ${sessionId} with NemoVideo Get State before sending it again.`,
	});
}

/**
 * The answer to a message an earlier try of the node already sent in this execution (n8n's Retry On Fail): the
 * session as it is now. The message is not sent again: that would charge twice (issue 16 §1).
 */
export async function answerSentEarlier(client: NemoVideoClient, sessionId: string, itemIndex: number): Promise<GenerateResult> {
	const now = await readSessionState(client, sessionId, itemIndex);
	const summary = `An earlier try of this node (n8n retried it) already sent this message to session ${sessionId}; it was not sent again. ${now.timeline.summary}`;
	return {
		sessionId,
		text: '',
		summary,
		events: { text: 0, toolCalls: 0, toolResults: 0, heartbeats: 0, keepAlives: 0, other: 0 },
		stateChanged: false,
		changeSummary: summary,
		streamEnding: 'sentEarlier',
		suggestedNextStep: now.readyToExport ? 'export' : 'state',
		readyToExport: now.readyToExport,
		timeline: now.timeline,
	};
}

/**
 * One message to the AI and what it did: the reply text (tool traffic removed), and the session's timeline
 * before and after, compared — about 30% of edits end with no text at all.
 */
export async function generate(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	sessionId: string,
	prompt: string,
	options: GenerateOptions,
	/** The session as the caller just read it (it is compared with the state after), to save a read. */
	stateBefore?: SessionState,
): Promise<GenerateResult> {
	const before = stateBefore ?? (await readSessionState(client, sessionId, options.itemIndex));
	const conversation = await sendMessageOnce(ctx, client, sessionId, prompt, options);
	let after: SessionState;
	try {
		after = await stateAfter(ctx, client, sessionId, before, conversation.ending, options);
	} catch (error) {
		throw afterCharge(ctx.getNode(), error, { sessionId });
	}
	const change = describeStateChange(before, after);
	if (!change.changed && !answered(conversation.events)) {
		throw afterCharge(ctx.getNode(), emptyAnswerError(ctx, sessionId, conversation.events, options.itemIndex), { sessionId }, { adviseExport: false });
	}
	return {
		sessionId,
		text: conversation.text,
		summary: conversation.text || change.summary,
		events: conversation.events,
		stateChanged: change.changed,
		changeSummary: change.summary,
		streamEnding: conversation.ending,
		suggestedNextStep: suggestNextStep(conversation.text || (after.readyToExport ? 'export' : '')),
		readyToExport: after.readyToExport,
		timeline: after.timeline,
	};
}
