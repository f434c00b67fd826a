import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';

import { renderIdsOf } from './exportAndWait';
import { compactForTool, isToolMode, toolError, toolErrorJson } from './toolMode';
import { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';

export type ItemWork = (itemIndexes: number[], client: NemoVideoClient) => Promise<INodeExecutionData[]>;

/** The pairedItem of an output made from these input items: one object for one item, as n8n writes it. */
export function pairedWith(itemIndexes: number[]): IPairedItemData | IPairedItemData[] {
	const paired = itemIndexes.map((item) => ({ item }));
	return paired.length === 1 ? paired[0] : paired;
}

/**
 * The json keys an error item holds and nothing else: n8n's own (`error`, `message`, `details`: the rule n8n-core's
 * WorkflowExecute routes error outputs by, and what it leaves of an item that carries an `error`), and this
 * package's (errorItem below). A row of a sheet with an "error" column has other keys: it is data.
 */
const ERROR_ITEM_KEYS = new Set(['error', 'message', 'details', 'errorDescription', 'code', 'retryable', 'sessionId', 'renderId', 'failedRenderIds', 'url', 'charged']);

/** Whether the item is an error item: n8n's mark (`error` on the item), or json of an error item's keys only. */
function isErrorShaped(item: INodeExecutionData): boolean {
	if ((item as { error?: unknown }).error !== undefined) return true;
	const json = item.json ?? {};
	return Boolean(json.error) && Object.keys(json).every((key) => ERROR_ITEM_KEYS.has(key));
}

/** Whether the item names NemoVideo work (a session or a render): the package's own error items do, to be resumed. */
function namesWork(json: IDataObject | undefined): boolean {
	return ['sessionId', 'renderId'].some((key) => typeof json?.[key] === 'string' && json[key] !== '');
}

/**
 * An input item to pass through untouched: an error item that names no NemoVideo work. Acting on it would work on
 * nothing (Generate would open a new session and charge it). An error item that names a session or render (this
 * package's own, under Continue On Fail) is acted on: feeding it to Export & Wait finishes the work without
 * paying again (issue 16 §6).
 */
export function isErrorItem(item: INodeExecutionData | undefined): boolean {
	return item !== undefined && isErrorShaped(item) && !namesWork(item.json);
}

/** The groups without the input items that are error items (they are passed through, never acted on). */
export function runnableGroups(ctx: IExecuteFunctions, groups: number[][]): number[][] {
	const input = ctx.getInputData();
	return groups.map((group) => group.filter((index) => !isErrorItem(input[index]))).filter((group) => group.length);
}

/** The ids a NemoVideo error carries (`context.nemoVideo`: exportAndWait.ts's renderIdsOf, or only a session id). */
export function errorIds(error: unknown): IDataObject {
	const ids = (renderIdsOf(error) ?? (error as { context?: IDataObject }).context?.nemoVideo ?? {}) as IDataObject;
	const fields: IDataObject = {};
	for (const key of ['sessionId', 'renderId', 'failedRenderIds', 'url', 'charged']) {
		const value = ids[key];
		if (value !== undefined && value !== null && value !== '' && value !== false) fields[key] = value;
	}
	// With a render, failedRenderIds is always there (maybe empty), so a workflow can branch on it as it is.
	if (!fields.renderId) delete fields.failedRenderIds;
	return fields;
}

/**
 * An item of the node's own under Continue On Fail: the message, the description and the ids it knows as json
 * fields. Not `error` on the item: n8n-core then replaces the json with the message alone (normalizeNodeErrors),
 * and the ids that let the work be resumed would be lost. In tool mode, the agent's compact shape.
 */
export function errorItem(ctx: IExecuteFunctions, error: Error, paired: IPairedItemData | IPairedItemData[]): INodeExecutionData {
	if (isToolMode(ctx)) return { json: { ...toolErrorJson(ctx, error), ...errorIds(error) }, pairedItem: paired };
	const json: IDataObject = { error: error.message };
	const description = (error as { description?: unknown }).description;
	if (typeof description === 'string' && description) json.errorDescription = description;
	return { json: { ...json, ...errorIds(error) }, pairedItem: paired };
}

/** How a node's groups run: how many at once, and whether a group's output is paid-for work (its AI message was taken). */
export interface RunOptions {
	concurrency?: number;
	charges?: boolean;
}

type Results = Array<INodeExecutionData[] | Error | undefined>;

/** One finished output as the stopping error names it: a render, or (for a node that charges) a charged session. */
function describeFinished(json: IDataObject, charges: boolean): string | undefined {
	if (json.error) return undefined;
	const session = String(json.sessionId ?? '?');
	if (json.renderId) {
		return `render ${String(json.renderId)} of session ${session} (${String(json.status ?? 'started')}${json.url ? `, ${String(json.url)}` : ''})`;
	}
	return charges && json.sessionId ? `session ${session} (its AI message was taken)` : undefined;
}

/**
 * Renders and charged sessions that finished before a failure stopped the node: they were paid for and must not
 * vanish with the outputs n8n drops when a node fails (issue 16 §2).
 */
function finishedWork(results: Results, groups: number[][], charges: boolean): string[] {
	const lines: string[] = [];
	results.forEach((result, index) => {
		if (!Array.isArray(result)) return;
		for (const output of result) {
			const what = describeFinished(output.json ?? {}, charges);
			if (what) lines.push(`item ${groups[index].join(', ')}: ${what}`);
		}
	});
	return lines;
}

/** The error that stops the node, naming the work that already finished so it can be fetched, not paid twice. */
function stoppingError(ctx: IExecuteFunctions, error: Error, finished: string[]): Error {
	if (finished.length > 0) {
		const note = `These finished before the failure and are not lost: ${finished.join('; ')}. Get each with NemoVideo Export & Wait, no new message and no credits: a render with "Session ID" and "Resume Render ID" set to its ids, a session with its "Session ID".`;
		const description = (error as { description?: unknown }).description;
		(error as { description?: string }).description = typeof description === 'string' && description ? `${description} ${note}` : note;
		const context = ((error as { context?: IDataObject }).context ??= {});
		context.finishedWork = finished;
	}
	return isToolMode(ctx) ? toolError(ctx, error) : error;
}

/** Runs `work` for each group, at most `concurrency` at once; a failure (without Continue On Fail) starts no new group. */
async function runAll(
	ctx: IExecuteFunctions,
	groups: number[][],
	work: ItemWork,
	concurrency: number,
): Promise<Results> {
	const client = new NemoVideoClient(ctx);
	const results: Results = new Array(groups.length);
	let next = 0;
	let stopped = false;
	const worker = async () => {
		while (!stopped && next < groups.length) {
			const index = next++;
			const group = groups[index];
			try {
				const outputs = await work(group, client);
				results[index] = outputs.map((output) => ({ ...output, pairedItem: output.pairedItem ?? pairedWith(group) }));
			} catch (error) {
				results[index] = asNodeError(ctx.getNode(), error, group[0]);
				if (!ctx.continueOnFail()) stopped = true;
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, groups.length)) }, worker));
	return results;
}

/**
 * Runs `work` for each group of input items (one group per item unless the node groups them), at most
 * `concurrency` at once, and returns the outputs in input order. Rules for every node:
 * - an input item that is an error item is passed through, paired, never acted on and never grouped;
 * - "Continue On Fail": a failed group becomes an error item (with the ids it knows as fields);
 * - without it, the first failure starts no new group, lets started ones finish, and names what they made (and,
 *   with `charges`, every session whose AI message was taken);
 * - as an AI tool, outputs are compact and errors say which tool arguments to change.
 */
export async function runGroups(
	ctx: IExecuteFunctions,
	groups: number[][],
	work: ItemWork,
	{ concurrency = 1, charges = false }: RunOptions = {},
): Promise<INodeExecutionData[][]> {
	const input = ctx.getInputData();
	const errorInputs = input.map((item, index) => (isErrorItem(item) ? index : -1)).filter((index) => index >= 0);
	const runnable = runnableGroups(ctx, groups);
	const results = await runAll(ctx, runnable, work, concurrency);

	const failure = results.find((result): result is Error => result instanceof Error);
	if (failure && !ctx.continueOnFail()) throw stoppingError(ctx, failure, finishedWork(results, runnable, charges));

	const tool = isToolMode(ctx);
	const entries: Array<{ at: number; items: INodeExecutionData[] }> = errorInputs.map((index) => ({
		at: index,
		items: [{ json: { ...input[index].json }, pairedItem: { item: index } }],
	}));
	runnable.forEach((group, index) => {
		const result = results[index];
		if (result instanceof Error) entries.push({ at: group[0], items: [errorItem(ctx, result, pairedWith(group))] });
		else if (result) entries.push({ at: group[0], items: tool ? result.map((output) => compactForTool(ctx, output)) : result });
	});
	entries.sort((a, b) => a.at - b.at);
	return [entries.flatMap((entry) => entry.items)];
}

/** One group per input item: the common case. */
export async function runPerItem(
	ctx: IExecuteFunctions,
	work: (itemIndex: number, client: NemoVideoClient) => Promise<IDataObject | INodeExecutionData[]>,
	options: RunOptions = {},
): Promise<INodeExecutionData[][]> {
	const groups = ctx.getInputData().map((_, index) => [index]);
	return await runGroups(
		ctx,
		groups,
		async ([itemIndex], client) => {
			const result = await work(itemIndex, client);
			return Array.isArray(result) ? result : [{ json: result }];
		},
		options,
	);
}
