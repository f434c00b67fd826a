import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	binaryPropertiesProperty,
	concurrencyOption,
	credentials,
	fileNameOption,
	exportProperties,
	groupingProperty,
	nodeIcon,
	promptProperty,
	streamBoundOptions,
} from '../shared/descriptions';
import { runGroups } from '../shared/items';
import { photoToVideo } from '../shared/photoToVideo';
import { groupItems } from '../shared/pipeline';

export class NemoVideoPhotoToVideo implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Photo to Video',
		name: 'nemoVideoPhotoToVideo',
		icon: nodeIcon,
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["aspectRatio"] + " video" }}',
		description: 'Turn photos into an MP4 in one step: upload, generate, export and download',
		defaults: { name: 'NemoVideo Photo to Video' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			binaryPropertiesProperty,
			groupingProperty,
			{ ...promptProperty, required: false, description: 'What video to make of the photos' },
			{
				displayName: 'Aspect Ratio',
				name: 'aspectRatio',
				type: 'options',
				default: '16:9',
				options: [
					{ name: '16:9 (Landscape)', value: '16:9' },
					{ name: '9:16 (Vertical, for Reels, Shorts, TikTok)', value: '9:16' },
					{ name: '1:1 (Square)', value: '1:1' },
					{ name: 'As the Prompt Says', value: 'prompt' },
				],
			},
			{
				displayName: 'Length (Seconds)',
				name: 'lengthSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description: 'Wanted video length; 0 lets the AI choose (5-10 photos make the best short clips)',
			},
			...exportProperties,
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
						displayName: 'Generation Timeout (Minutes)',
						name: 'generationTimeoutMinutes',
						type: 'number',
						typeOptions: { minValue: 0.05 },
						default: 15,
						description: 'Longest time to wait for the AI to build the video',
					},
					...streamBoundOptions,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const grouping = this.getNodeParameter('grouping', 0, 'all') as string;
		const concurrency = this.getNodeParameter('options.concurrency', 0, 5) as number;
		return await runGroups(
			this,
			groupItems(this, grouping, false),
			async (group, client) => await photoToVideo(this, client, group),
			concurrency,
		);
	}
}
