import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { generateTimeoutProperty } from './generateParameters';
import { numberParameter } from './parameters';

/**
 * NemoVideo Chat's own options and the code that reads them, in one place (the node file adds them to its
 * description; chatTurn.ts works from what is read here), each number checked where it is read.
 */
/** Generate's own bound of the whole answer, named for the chat's Options. */
export const aiTimeoutOption: INodeProperties = { ...generateTimeoutProperty, displayName: 'AI Timeout (Minutes)' };

const stillWorkingOption: INodeProperties = {
	displayName: 'Still-Working Notice (Seconds)',
	name: 'stillWorkingSeconds',
	type: 'number',
	typeOptions: { minValue: 0.1 },
	default: 120,
	description: 'When streaming: say "⏳ Still working…" after this long with only heartbeats from the AI',
};

const renderPollOption: INodeProperties = {
	displayName: 'Render Poll Interval (Seconds)',
	name: 'pollIntervalSeconds',
	type: 'number',
	typeOptions: { minValue: 0.1 },
	default: 30,
	description: 'Longest wait between two checks of a render after "export"',
};

const renderTimeoutOption: INodeProperties = {
	displayName: 'Render Timeout (Minutes)',
	name: 'renderTimeoutMinutes',
	type: 'number',
	typeOptions: { minValue: 0.05 },
	default: 20,
	description: 'After this long the reply says the video is still rendering (it is not lost: "export" again later)',
};

export const chatOptions: INodeProperties[] = [aiTimeoutOption, stillWorkingOption, renderPollOption, renderTimeoutOption];

export interface ChatSettings {
	stillWorkingEveryMs: number;
	renderPollIntervalSeconds: number;
	renderTimeoutMs: number;
}

export function chatSettings(ctx: IExecuteFunctions, itemIndex: number): ChatSettings {
	const option = (property: INodeProperties) => numberParameter(ctx, property, itemIndex, { inOptions: true });
	return {
		stillWorkingEveryMs: option(stillWorkingOption) * 1000,
		renderPollIntervalSeconds: option(renderPollOption),
		renderTimeoutMs: option(renderTimeoutOption) * 60_000,
	};
}
