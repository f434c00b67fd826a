import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { credentials, nodeIcon, sessionIdOrNew } from '../shared/descriptions';
import { generate } from '../shared/generate';
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
			{
				displayName: 'Prompt',
				name: 'prompt',
				type: 'string',
				typeOptions: { rows: 3 },
				default: 'Turn these photos into a slideshow video with smooth transitions, 1080p',
				required: true,
				description:
					'What the AI should do, in plain words. Be specific: "a 20 second vertical slideshow with smooth transitions and lo-fi music" works better than "make it nice". Each message costs credits.',
			},
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
					{
						displayName: 'Heartbeat-Only Timeout (Minutes)',
						name: 'heartbeatTimeoutMinutes',
						type: 'number',
						typeOptions: { minValue: 0.01 },
						default: 10,
						description: 'Give up when the service sends only heartbeats for this long',
					},
					{
						displayName: 'Reads After a Dropped Connection',
						name: 'dropRecoveryReads',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 5,
						description: 'When the stream breaks, how many unchanged state reads to make before giving up. The message is never re-sent.',
					},
					{
						displayName: 'First Read After a Drop (Seconds)',
						name: 'dropRecoveryFirstWaitSeconds',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 30,
					},
					{
						displayName: 'Read Interval After a Drop (Seconds)',
						name: 'dropRecoveryIntervalSeconds',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 60,
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => {
			const options = this.getNodeParameter('options', itemIndex, {}) as Record<string, number>;
			const sessionId =
				sessionIdParameter(this, itemIndex) || (await client.createSession(itemIndex)).sessionId;
			return await generate(this, client, sessionId, this.getNodeParameter('prompt', itemIndex) as string, {
				itemIndex,
				timeoutMs: (this.getNodeParameter('timeoutMinutes', itemIndex, 15) as number) * 60_000,
				heartbeatOnlyTimeoutMs: (options.heartbeatTimeoutMinutes ?? 10) * 60_000,
				recoveryFirstWaitMs: (options.dropRecoveryFirstWaitSeconds ?? 30) * 1000,
				recoveryIntervalMs: (options.dropRecoveryIntervalSeconds ?? 60) * 1000,
				recoveryReads: options.dropRecoveryReads ?? 5,
			});
		});
	}
}
