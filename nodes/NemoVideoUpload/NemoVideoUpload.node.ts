import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	binaryPropertiesProperty,
	credentials,
	groupingProperty,
	nodeIcon,
	sessionIdOrNew,
} from '../shared/descriptions';
import { pairedWith, runGroups } from '../shared/items';
import { collectGroupFiles, groupItems, uploadToSession } from '../shared/pipeline';
import { sessionIdParameter } from '../shared/session';

export class NemoVideoUpload implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Upload',
		name: 'nemoVideoUpload',
		icon: nodeIcon,
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["source"] === "url" ? "Upload from URLs" : "Upload files" }}',
		description: 'Upload photos (or videos and audio) into a NemoVideo session',
		defaults: { name: 'NemoVideo Upload' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			sessionIdOrNew,
			{
				displayName: 'Source',
				name: 'source',
				type: 'options',
				default: 'binary',
				options: [
					{ name: 'Binary Data', value: 'binary', description: 'Files of the input items, streamed from n8n' },
					{ name: 'URLs', value: 'url', description: 'Public URLs the service downloads itself' },
				],
			},
			{ ...binaryPropertiesProperty, displayOptions: { show: { source: ['binary'] } } },
			{
				displayName: 'URLs',
				name: 'urls',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				required: true,
				displayOptions: { show: { source: ['url'] } },
				description: 'Http(s) URLs of photos or videos, separated by commas or new lines',
			},
			groupingProperty,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const grouping = this.getNodeParameter('grouping', 0, 'all') as string;
		return await runGroups(this, groupItems(this, grouping, true), async (group, client) => {
			const source = this.getNodeParameter('source', group[0], 'binary') as 'binary' | 'url';
			const collected = await collectGroupFiles(this, group, source);
			if (collected.itemIndexes.length === 0) return collected.failed;
			const outcome = await uploadToSession(
				client,
				sessionIdParameter(this, group[0]),
				collected,
				collected.itemIndexes[0],
			);
			return [{ json: outcome, pairedItem: pairedWith(collected.itemIndexes) }, ...collected.failed];
		});
	}
}
