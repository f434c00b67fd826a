import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	credentials,
	nodeIcon,
	promptProperty,
	sessionIdOrNew,
	streamBoundOptions,
} from '../shared/descriptions';
import { generate, generateOptions } from '../shared/generate';
import { runPerItem } from '../shared/items';
import { sessionIdParameter } from '../shared/session';

export class NemoVideoGenerate implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Generate',
		name: 'nemoVideoGenerate',
		icon: nodeIcon,
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["prompt"] }}',
		description: 'Tell the NemoVideo AI what video to make or how to edit it',
		defaults: { name: 'NemoVideo Generate' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			sessionIdOrNew,
			promptProperty,
			{
				displayName: 'Timeout (Minutes)',
				name: 'timeoutMinutes',
				type: 'number',
				typeOptions: { minValue: 0.05 },
				default: 15,
				description: 'Longest time to wait for the AI to finish answering',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					...streamBoundOptions,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => {
			const sessionId =
				sessionIdParameter(this, itemIndex) || (await client.createSession(itemIndex)).sessionId;
			const prompt = this.getNodeParameter('prompt', itemIndex) as string;
			const timeoutMinutes = this.getNodeParameter('timeoutMinutes', itemIndex, 15) as number;
			return await generate(this, client, sessionId, prompt, generateOptions(this, itemIndex, timeoutMinutes));
		});
	}
}
