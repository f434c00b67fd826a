import { createHash } from 'node:crypto';

import type { ExecutionBaseError, IDataObject, IExecuteFunctions, INode } from 'n8n-workflow';

import type { ChargedWork } from './transport/errors';
import { asNodeError, chargedWorkAdvice, isNemoVideoError } from './transport/errors';

/**
 * Work the service charged for, and what follows from it (issue 16 §1). Once the AI message was taken it is paid
 * for, so a later failure must not invite the same call again: its error names the session (and render), says
 * the message was taken and how to finish without paying again, and is never called retryable. And n8n's own
 * Retry On Fail, which runs the node again on the same items in the same execution, finds the charged session
 * here and finishes from it instead of sending the message again.
 */

export type { ChargedWork } from './transport/errors';

interface NemoVideoIds extends IDataObject {
	sessionId?: string;
	renderId?: string;
	charged?: boolean;
}

function idsOf(error: { context?: IDataObject }): NemoVideoIds {
	return (error.context?.nemoVideo ?? {}) as NemoVideoIds;
}

/** Whether an error came after a charged step (afterCharge marked it). */
export function isAfterCharge(error: unknown): boolean {
	return idsOf((error ?? {}) as { context?: IDataObject }).charged === true;
}

/**
 * The error of a step that failed after the AI message was taken: marked as charged, with the session (and the
 * render, when the error knows one) as ids, and the advice to finish with Export & Wait in place of "try again".
 * `adviseExport: false` where the session may hold nothing to export (the description then says what to check).
 */
export function afterCharge(node: INode, error: unknown, work: ChargedWork, options: { adviseExport?: boolean } = {}): ExecutionBaseError {
	const nodeError = asNodeError(node, error);
	const known = idsOf(nodeError);
	const charged: ChargedWork = { sessionId: known.sessionId || work.sessionId, renderId: known.renderId || work.renderId };
	if (!charged.renderId) delete charged.renderId;
	if (known.charged !== true && options.adviseExport !== false) {
		if (isNemoVideoError(nodeError)) nodeError.afterCharge(charged);
		else nodeError.description = `${nodeError.description ?? ''} ${chargedWorkAdvice(charged)}`.trim();
	}
	nodeError.context.nemoVideo = { ...known, ...charged, charged: true };
	return nodeError;
}

// ---- n8n's Retry On Fail ---------------------------------------------------------------------------------------

/** How long a charged step is remembered for a retry: longer than any execution's retries take. */
const REMEMBER_MS = 24 * 3600 * 1000;
const MAX_REMEMBERED = 10_000;

const remembered = new Map<string, ChargedWork & { at: number }>();

/**
 * The execution, the node, and the input items by their place and content (json and binary ids): a retry runs the
 * node again on the same items; two items alike (the same photo read twice) are two pieces of work, and a node
 * run again on other items (a loop) is other work.
 */
function workKey(ctx: IExecuteFunctions, itemIndexes: number[]): string {
	const input = ctx.getInputData();
	const items = itemIndexes.map((index) => {
		const item = input[index];
		const binaries = Object.entries(item?.binary ?? {}).map(([key, binary]) => [key, binary.id ?? binary.fileName ?? '']);
		return [index, item?.json ?? {}, binaries];
	});
	const digest = createHash('sha256').update(JSON.stringify(items)).digest('base64url');
	return `${ctx.getExecutionId()}\u0000${ctx.getNode().name}\u0000${digest}`;
}

/** Remembers that these items' AI message was taken (and, once known, the render started for it). */
export function rememberCharge(ctx: IExecuteFunctions, itemIndexes: number[], work: ChargedWork): void {
	const now = Date.now();
	for (const [key, entry] of remembered) if (now - entry.at > REMEMBER_MS || remembered.size >= MAX_REMEMBERED) remembered.delete(key);
	remembered.set(workKey(ctx, itemIndexes), { ...work, at: now });
}

/** The charged work of an earlier try of this node on these items in this execution, if there was one. */
export function earlierCharge(ctx: IExecuteFunctions, itemIndexes: number[]): ChargedWork | undefined {
	const entry = remembered.get(workKey(ctx, itemIndexes));
	if (!entry || Date.now() - entry.at > REMEMBER_MS) return undefined;
	return entry.renderId ? { sessionId: entry.sessionId, renderId: entry.renderId } : { sessionId: entry.sessionId };
}

/** The work finished: a retry will not come for it. */
export function forgetCharge(ctx: IExecuteFunctions, itemIndexes: number[]): void {
	remembered.delete(workKey(ctx, itemIndexes));
}
