import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { credentials, nodeIcon, sessionIdRequired } from '../shared/descriptions';
import { runPerItem } from '../shared/items';
import { readSessionState, requireSessionId } from '../shared/session';

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
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [sessionIdRequired],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => {
			const sessionId = requireSessionId(this, itemIndex);
			const state = await readSessionState(client, sessionId, itemIndex);
			return { ...state };
		});
	}
}
