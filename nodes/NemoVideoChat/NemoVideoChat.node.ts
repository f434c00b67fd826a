import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { chatOptions } from '../shared/chatParameters';
import { chatTurn } from '../shared/chatTurn';
import { binaryPropertiesProperty, credentials, nodeIcon, toolDescriptionProperty } from '../shared/descriptions';
import { streamBoundOptions } from '../shared/generateParameters';
import { runPerItem } from '../shared/itemLoop';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Sends one chat message to the NemoVideo video AI in a conversation (conversationId: any id that stays the same for the conversation) and returns its reply as output. "status" returns the timeline, "credits" the balance, "export" renders and returns url (the MP4); anything else goes to the AI and costs credits (about 100 for a first video, 50 for an edit). Photos cannot be sent through a tool: use NemoVideo Upload or Photo to Video for them. A reply that says something went wrong is a normal output, not an error.';

/**
 * The whole chat after n8n's Chat Trigger. As an AI tool it is a text-only conversation (binary data cannot cross
 * the tool boundary) and never streams into the agent's own reply.
 */
export class NemoVideoChat implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Chat',
		name: 'nemoVideoChat',
		icon: nodeIcon,
		group: ['transform'],
		version: 1,
		subtitle: 'Photos in, the MP4 link out',
		description: 'Chat with the NemoVideo video AI after a Chat Trigger: photos in, replies streamed, the MP4 link out',
		defaults: { name: 'NemoVideo Chat' },
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [
			NodeConnectionTypes.Main,
			{ type: NodeConnectionTypes.AiMemory, displayName: 'Memory', maxConnections: 1, required: false },
		],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			{
				displayName:
					'Put this node right after a Chat Trigger. Connect a Postgres or Redis Chat Memory to keep each conversation\'s video project across restarts and queue-mode workers.',
				name: 'chatNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Message',
				name: 'message',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '={{ $json.chatInput }}',
				description:
					'What the person said. "export", "credits" and "status" (导出, 积分, 状态) are answered without the AI; anything else goes to the AI and costs credits.',
			},
			{
				displayName: 'Conversation ID',
				name: 'conversationId',
				type: 'string',
				default: '={{ $json.sessionId }}',
				required: true,
				description: "The chat's conversation (the Chat Trigger's sessionId): each conversation gets its own NemoVideo session",
			},
			{
				...binaryPropertiesProperty,
				default: '*',
				description:
					'The binary properties holding the attached files, separated by commas; "*" takes every file of the message (the Chat Trigger names them data0, data1…)',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					...chatOptions,
					...streamBoundOptions,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => await chatTurn(this, client, itemIndex));
	}
}
