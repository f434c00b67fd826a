import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { NemoVideoClient } from './transport/client';

export type ItemWork = (itemIndexes: number[], client: NemoVideoClient) => Promise<INodeExecutionData[]>;

function withItemIndex(ctx: IExecuteFunctions, error: unknown, itemIndex: number): Error {
	if (error instanceof NodeOperationError || (error as { context?: IDataObject }).context) {
		const context = (error as { context: IDataObject }).context;
		if (context.itemIndex === undefined) context.itemIndex = itemIndex;
		return error as Error;
	}
	return new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
}

/** The pairedItem of an output made from these input items: one object for one item, as n8n writes it. */
export function pairedWith(itemIndexes: number[]): IPairedItemData | IPairedItemData[] {
	const paired = itemIndexes.map((item) => ({ item }));
	return paired.length === 1 ? paired[0] : paired;
}

function errorItem(error: Error, paired: IPairedItemData | IPairedItemData[]): INodeExecutionData {
	const json: IDataObject = { error: error.message };
	const description = (error as { description?: unknown }).description;
	if (typeof description === 'string' && description) json.errorDescription = description;
	return { json, pairedItem: paired };
}

/**
 * Runs `work` for each group of input items (one group per item unless the node groups them), at most
 * `concurrency` at once, and returns the outputs in input order. Honours "Continue On Fail": a failed group
 * becomes an error item paired with its inputs, and the other groups still run.
 */
export async function runGroups(
	ctx: IExecuteFunctions,
	groups: number[][],
	work: ItemWork,
	concurrency = 1,
): Promise<INodeExecutionData[][]> {
	const client = new NemoVideoClient(ctx);
	const results: Array<INodeExecutionData[] | Error> = new Array(groups.length);
	let next = 0;
	let stopped = false;

	const worker = async () => {
		while (!stopped && next < groups.length) {
			const index = next++;
			const group = groups[index];
			try {
				const outputs = await work(group, client);
				results[index] = outputs.map((output) => ({
					...output,
					pairedItem: output.pairedItem ?? pairedWith(group),
				}));
			} catch (error) {
				results[index] = withItemIndex(ctx, error, group[0]);
				if (!ctx.continueOnFail()) stopped = true;
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, groups.length)) }, worker));

	const output: INodeExecutionData[] = [];
	for (let index = 0; index < groups.length; index++) {
		const result = results[index];
		if (result instanceof Error) {
			if (!ctx.continueOnFail()) throw result;
			output.push(errorItem(result, pairedWith(groups[index])));
		} else if (result) {
			output.push(...result);
		}
	}
	return [output];
}

/** One group per input item: the common case. */
export async function runPerItem(
	ctx: IExecuteFunctions,
	work: (itemIndex: number, client: NemoVideoClient) => Promise<IDataObject | INodeExecutionData[]>,
	concurrency = 1,
): Promise<INodeExecutionData[][]> {
	const groups = ctx.getInputData().map((_, index) => [index]);
	return await runGroups(
		ctx,
		groups,
		async ([itemIndex], client) => {
			const result = await work(itemIndex, client);
			return Array.isArray(result) ? result : [{ json: result }];
		},
		concurrency,
	);
}
