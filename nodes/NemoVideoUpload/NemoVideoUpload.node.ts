import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	credentials,
	fileSourceProperties,
	groupingProperty,
	nodeIcon,
	sessionIdOrNew,
	toolDescriptionProperty,
} from '../shared/descriptions';
import { pairedWith, runGroups } from '../shared/itemLoop';
import { collectGroupFiles, groupItems, uploadToSession } from '../shared/uploadGroups';
import { requestedSessionId } from '../shared/toolMode';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Step 1 of 3: puts photos (or videos and audio) into a NemoVideo session from their http(s) URLs (comma or newline separated). Free. sessionId: "new" (or an empty string) starts a new session; a sessionId from an earlier step adds the files to that session. Returns sessionId, fileCount and the file names. Next: NemoVideo Generate with that sessionId, then NemoVideo Export & Wait. To make a video in one call, use NemoVideo Photo to Video instead.';

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
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			sessionIdOrNew,
			...fileSourceProperties,
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
				requestedSessionId(this, group[0]),
				collected,
				collected.itemIndexes[0],
			);
			return [{ json: outcome, pairedItem: pairedWith(collected.itemIndexes) }, ...collected.failed];
		});
	}
}
