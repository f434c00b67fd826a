import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	credentials,
	nodeIcon,
	sessionIdRequired,
	toolDescriptionProperty,
} from '../shared/descriptions';
import { runPerItem } from '../shared/itemLoop';
import { readSessionState, requireSessionId } from '../shared/session';
import type { SessionState } from '../shared/session';
import { isToolMode } from '../shared/toolMode';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Reads a NemoVideo session: its timeline (tracks of type video, audio or text, their segments and durations in seconds) and readyToExport. Free (no credits). Needs the sessionId from NemoVideo Upload, Generate or Photo to Video. Use it to check what Generate built, or whether a session is ready, before NemoVideo Export & Wait. The raw draft is left out unless includeDraft is set.';

/**
 * As a tool, the decoded timeline is the answer: the raw draft says the same at several times the size (68 KB
 * for 100 photos, issue 12), so it is left out unless asked for, with the per-file infos.
 */
function forTool(state: SessionState, includeDraft: boolean): IDataObject {
	if (includeDraft) return { ...state };
	const rest: IDataObject = { ...state };
	delete rest.draft;
	delete rest.videoInfos;
	return {
		...rest,
		nextStep: state.readyToExport
			? `Call NemoVideo Export & Wait with sessionId "${state.sessionId}" to render the MP4 (free).`
			: `The timeline is empty: upload photos into session "${state.sessionId}" and call NemoVideo Generate.`,
	};
}

export class NemoVideoGetState implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Get State',
		name: 'nemoVideoGetState',
		icon: nodeIcon,
		group: ['input'],
		version: 1,
		subtitle: '={{ "Session " + $parameter["sessionId"] }}',
		description: 'Read the timeline NemoVideo built for a session: tracks, segments, durations',
		defaults: { name: 'NemoVideo Get State' },
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			sessionIdRequired,
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Include Raw Draft (AI Tool)',
						name: 'includeDraft',
						type: 'boolean',
						default: false,
						description:
							'Whether to include the raw draft when the node runs as an AI tool. Outside tool mode the draft is always output.',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => {
			const sessionId = requireSessionId(this, itemIndex);
			const state = await readSessionState(client, sessionId, itemIndex);
			if (!isToolMode(this)) return { ...state };
			return forTool(state, this.getNodeParameter('options.includeDraft', itemIndex, false) as boolean);
		});
	}
}
