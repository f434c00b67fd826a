import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { SessionState } from './session';
import { describeStateChange, readSessionState } from './session';
import { ConversationError, sendMessageAndReadReply } from './sse';
import type { ConversationOptions, ConversationResult, EventCounts, StreamEnding } from './sse';
import type { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';
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
		if (error.reason === 'inStream') {
			throw new NodeApiError(ctx.getNode(), { message: error.message }, {
				itemIndex,
				message: `NemoVideo reported an error: ${error.message}`,
				description:
					'The AI stopped with this error. The message was not sent again (that could charge twice); check the session with NemoVideo Get State, then rephrase the prompt or try later.',
			});
		}
		throw new NodeOperationError(ctx.getNode(), `NemoVideo did not finish: ${error.message}`, {
			itemIndex,
			description: `The message was sent once and not re-sent (that would charge twice). The work may still complete: read the session ${sessionId} with NemoVideo Get State later, or raise "Timeout (Minutes)".`,
		});
	}
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
	throw new NodeOperationError(ctx.getNode(), 'The connection to NemoVideo dropped and the session did not change', {
		itemIndex: options.itemIndex,
		description: `The stream broke before the answer ended; the message was not re-sent (that would charge twice). The session (timeline, canvas, media) did not change in ${options.recoveryReads} reads. Check session ${sessionId} later with NemoVideo Get State, or run this node again.`,
	});
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
): Promise<GenerateResult> {
	const before = await readSessionState(client, sessionId, options.itemIndex);
	const conversation = await sendMessageOnce(ctx, client, sessionId, prompt, options);
	const after = await stateAfter(ctx, client, sessionId, before, conversation.ending, options);
	const change = describeStateChange(before, after);
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
