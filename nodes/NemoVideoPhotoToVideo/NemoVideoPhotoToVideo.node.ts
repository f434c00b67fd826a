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
	fileSourceProperties,
	nodeIcon,
	promptProperty,
	toolDescriptionProperty,
	toolTimeoutOption,
} from '../shared/descriptions';
import { exportProperties, fileNameOption } from '../shared/exportParameters';
import { generationTimeoutOption, streamBoundOptions } from '../shared/generateParameters';
import { numberParameter } from '../shared/parameters';
import { runGroups, runnableGroups } from '../shared/itemLoop';
import { albumGroupingProperty, collectionOptions, collectionSettings, runCollections, usesCollections } from '../shared/photoCollections';
import { checkAllGroups, checkedFilesOf, lengthSecondsProperty, photoToVideo } from '../shared/photoToVideo';
import { groupItems } from '../shared/uploadGroups';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Makes an MP4 video from photos in ONE call: give the photos\' http(s) URLs (comma or newline separated) and, if wanted, a prompt, aspect ratio (16:9, 9:16 or 1:1) and length. It uploads them into a new NemoVideo session, has the AI build the video (costs about 100 credits) and renders it (export is free). Returns url (the MP4), sessionId, renderId, status, durationSeconds, summary and nextStep. If status is not "completed" when the call returns, call NemoVideo Export & Wait with that renderId; never call Photo to Video again for the same photos (it charges again). Use it alone, or Upload → Generate → Export & Wait for step-by-step control.';

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
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			...fileSourceProperties,
			albumGroupingProperty,
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
			lengthSecondsProperty,
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
					generationTimeoutOption,
					...streamBoundOptions,
					toolTimeoutOption,
					...collectionOptions,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const albums = collectionSettings(this);
		if (usesCollections(albums)) return await runCollections(this, albums);
		const grouping = this.getNodeParameter('grouping', 0, 'all') as string;
		const concurrency = numberParameter(this, concurrencyOption(5), 0, { inOptions: true });
		const groups = runnableGroups(this, groupItems(this, grouping, false));
		const checked = await checkAllGroups(this, groups);
		return await runGroups(
			this,
			groups,
			async (group, client) => await photoToVideo(this, client, checkedFilesOf(checked, group)),
			{ concurrency, charges: true },
		);
	}
}
