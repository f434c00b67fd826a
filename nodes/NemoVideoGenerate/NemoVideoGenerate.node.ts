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
	toolDescriptionProperty,
	toolTimeoutOption,
} from '../shared/descriptions';
import { generateTimeoutProperty, streamBoundOptions } from '../shared/generateParameters';
import { generateItem } from '../shared/generateItem';
import { runPerItem } from '../shared/itemLoop';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Step 2 of 3: tells the NemoVideo AI, in plain words, what video to make from the photos of a session, or how to edit it (e.g. "a 20 second vertical slideshow with smooth transitions"). Costs credits: about 100 for a generated clip, about 50 for an edit. Needs the sessionId returned by NemoVideo Upload ("new" or an empty string only to start an empty session). Returns the AI\'s reply text, readyToExport and a short timeline. Next: NemoVideo Export & Wait with the same sessionId. Usual order: Upload → Generate → Export & Wait, or Photo to Video alone.';

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
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			sessionIdOrNew,
			promptProperty,
			generateTimeoutProperty,
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					...streamBoundOptions,
					toolTimeoutOption,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => await generateItem(this, client, itemIndex), { charges: true });
	}
}
