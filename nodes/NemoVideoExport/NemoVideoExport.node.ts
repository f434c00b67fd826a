import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	concurrencyOption,
	credentials,
	fileNameOption,
	exportProperties,
	nodeIcon,
	sessionIdRequired,
} from '../shared/descriptions';
import { runPerItem } from '../shared/items';
import { exportSession, exportSettings } from '../shared/render';
import { requireSessionId } from '../shared/session';

export class NemoVideoExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Export & Wait',
		name: 'nemoVideoExport',
		icon: nodeIcon,
		group: ['output'],
		version: 1,
		subtitle: 'Render and download the video',
		description: 'Render a NemoVideo session to MP4, wait for it, and download it as binary data',
		defaults: { name: 'NemoVideo Export & Wait' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			{ ...sessionIdRequired, description: 'The NemoVideo session to render. The previous NemoVideo node outputs it as sessionId.' },
			{
				displayName: 'Wait for Completion',
				name: 'waitForCompletion',
				type: 'boolean',
				default: true,
				description: 'Whether to wait until the render finishes. Off: output the render ID at once.',
			},
			...exportProperties.map((property) => ({
				...property,
				displayOptions: {
					show: { ...(property.displayOptions?.show ?? {}), waitForCompletion: [true] },
				},
			})),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					concurrencyOption(5),
					fileNameOption,
					{
						displayName: 'Resume Render ID',
						name: 'renderId',
						type: 'string',
						default: '',
						description:
							'Wait for (and download) a render that was started earlier, instead of starting a new one. An error about a timed-out render names its ID.',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const concurrency = this.getNodeParameter('options.concurrency', 0, 5) as number;
		return await runPerItem(
			this,
			async (itemIndex, client) => {
				const settings = exportSettings(this, itemIndex);
				return [await exportSession(this, client, requireSessionId(this, itemIndex), settings, itemIndex)];
			},
			concurrency,
		);
	}
}
