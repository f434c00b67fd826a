import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { GenerateOptions } from './generate';
import { numberParameter } from './parameters';

/**
 * The AI conversation's parameters of Generate and Photo to Video, and the code that reads them, in one place
 * (the node files add them to their descriptions; generate.ts works from the options read here).
 */

/** Generate's own bound of the whole answer. */
export const generateTimeoutProperty: INodeProperties = {
	displayName: 'Timeout (Minutes)',
	name: 'timeoutMinutes',
	type: 'number',
	typeOptions: { minValue: 0.05 },
	default: 15,
	description: 'Longest time to wait for the AI to finish answering',
};

/** Photo to Video's bound of the AI's answer (inside its Options). */
export const generationTimeoutOption: INodeProperties = {
	displayName: 'Generation Timeout (Minutes)',
	name: 'generationTimeoutMinutes',
	type: 'number',
	typeOptions: { minValue: 0.05 },
	default: 15,
	description: 'Longest time to wait for the AI to build the video',
};

const heartbeatTimeoutOption: INodeProperties = {
	displayName: 'Heartbeat-Only Timeout (Minutes)',
	name: 'heartbeatTimeoutMinutes',
	type: 'number',
	typeOptions: { minValue: 0.01 },
	default: 10,
	description: 'Give up when the service sends only heartbeats for this long',
};

const dropRecoveryReadsOption: INodeProperties = {
	displayName: 'Reads After a Dropped Connection',
	name: 'dropRecoveryReads',
	type: 'number',
	typeOptions: { minValue: 1 },
	default: 5,
	description: 'When the stream breaks, how many unchanged state reads to make before giving up. The message is never re-sent.',
};

const dropRecoveryFirstWaitOption: INodeProperties = {
	displayName: 'First Read After a Drop (Seconds)',
	name: 'dropRecoveryFirstWaitSeconds',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 30,
};

const dropRecoveryIntervalOption: INodeProperties = {
	displayName: 'Read Interval After a Drop (Seconds)',
	name: 'dropRecoveryIntervalSeconds',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 60,
};

/** Bounds of the AI's event stream, shared by Generate and Photo to Video (inside their Options). */
export const streamBoundOptions: INodeProperties[] = [
	heartbeatTimeoutOption,
	dropRecoveryReadsOption,
	dropRecoveryFirstWaitOption,
	dropRecoveryIntervalOption,
];

/**
 * The conversation options of one item: the whole answer's bound (`timeout`: Generate's Timeout, or Photo to
 * Video's Generation Timeout option) and the stream's bounds, each checked where it is read.
 */
export function generateOptions(
	ctx: IExecuteFunctions,
	itemIndex: number,
	timeout: { property: INodeProperties; inOptions?: boolean },
): GenerateOptions {
	const option = (property: INodeProperties) => numberParameter(ctx, property, itemIndex, { inOptions: true });
	return {
		itemIndex,
		timeoutMs: numberParameter(ctx, timeout.property, itemIndex, { inOptions: timeout.inOptions }) * 60_000,
		heartbeatOnlyTimeoutMs: option(heartbeatTimeoutOption) * 60_000,
		recoveryFirstWaitMs: option(dropRecoveryFirstWaitOption) * 1000,
		recoveryIntervalMs: option(dropRecoveryIntervalOption) * 1000,
		recoveryReads: option(dropRecoveryReadsOption),
	};
}
