/**
 * What surrounds NemoVideo Chat in n8n, for harness runs:
 * - `test.chatMessage`: the item n8n's Chat Trigger makes of one message (ChatTrigger.node.js 1.5,
 *   `handleFormData` for a multipart message): json `{action, sessionId, chatInput, files[]}` and one binary
 *   `data0`…`dataN` per file, stored in n8n's binary store.
 * - `test.chatMemory`: a chat memory sub-node as n8n's memory nodes supply one (a LangChain memory whose
 *   `chatHistory` holds the conversation named by the item's `sessionId`), with LangChain's own message
 *   classes. Its histories live in this module, like a database: a new Harness ("another process") sees them.
 *   `stored: true` keeps each message as the Postgres and Redis histories do (`mapChatMessagesToStoredMessages`,
 *   JSON, and back with `mapStoredMessagesToChatMessages`), so a message must survive serialisation.
 */
import { createReadStream, statSync } from 'node:fs';
import { basename, extname } from 'node:path';

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, ISupplyDataFunctions, SupplyData } from 'n8n-workflow';

// LangChain as n8n-core brings it (n8n's memory nodes use the same package).
const fromN8nCore = (id: string) => require(require.resolve(id, { paths: [require.resolve('n8n-core')] })) as Record<string, unknown>;
type Message = { content: unknown; additional_kwargs?: IDataObject; toDict(): unknown };
const messages = fromN8nCore('@langchain/core/messages') as {
	HumanMessage: new (text: string) => Message;
	AIMessage: new (text: string) => Message;
	mapChatMessagesToStoredMessages(list: unknown[]): unknown[];
	mapStoredMessagesToChatMessages(list: unknown[]): Message[];
};

const MIME: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.txt': 'text/plain', '.mp4': 'video/mp4' };

/**
 * Histories by memory key: the "database" of every test.chatMemory node, shared by every copy of this module
 * (a harness loaded with jest.isolateModules stands for another n8n process on the same database).
 */
const shared = globalThis as { nemoVideoChatHistories?: Map<string, unknown[]> };
export const chatHistories = (shared.nemoVideoChatHistories ??= new Map<string, unknown[]>());

function history(key: string, stored: boolean) {
	const list = chatHistories.get(key) ?? [];
	chatHistories.set(key, list);
	return {
		async getMessages(): Promise<Message[]> {
			return stored ? messages.mapStoredMessagesToChatMessages(list.map((text) => JSON.parse(String(text)))) : [...(list as Message[])];
		},
		async addMessage(message: Message): Promise<void> {
			list.push(stored ? JSON.stringify(messages.mapChatMessagesToStoredMessages([message])[0]) : message);
		},
	};
}

export function chatNodes(): Record<string, INodeType> {
	const chatMessage: INodeType = {
		description: {
			displayName: 'Chat Message',
			name: 'chatMessage',
			group: ['input'],
			version: 1,
			description: '',
			defaults: { name: 'When chat message received' },
			inputs: ['main'],
			outputs: ['main'],
			properties: [
				{ displayName: 'Session ID', name: 'sessionId', type: 'string', default: '' },
				{ displayName: 'Chat Input', name: 'chatInput', type: 'string', default: '' },
				{ displayName: 'Files', name: 'files', type: 'json', default: '[]' },
			],
		},
		async execute(this: IExecuteFunctions) {
			const json: IDataObject = {
				sessionId: this.getNodeParameter('sessionId', 0) as string,
				action: 'sendMessage',
				chatInput: this.getNodeParameter('chatInput', 0) as string,
			};
			const paths = JSON.parse(String(this.getNodeParameter('files', 0))) as string[];
			const item: INodeExecutionData = { json, pairedItem: { item: 0 } };
			if (paths.length) {
				item.binary = {};
				const files: IDataObject[] = [];
				for (const [index, path] of paths.entries()) {
					const mimeType = MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
					const binary = await this.helpers.prepareBinaryData(createReadStream(path), basename(path), mimeType);
					item.binary[`data${index}`] = binary;
					files.push({ fileName: basename(path), fileSize: `${statSync(path).size} B`, fileType: binary.fileType, mimeType, fileExtension: binary.fileExtension, binaryKey: `data${index}` });
				}
				json.files = files;
			}
			return [[item]];
		},
	};
	const chatMemory: INodeType = {
		description: {
			displayName: 'Chat Memory',
			name: 'chatMemory',
			group: ['transform'],
			version: 1,
			description: '',
			defaults: { name: 'Chat Memory' },
			inputs: [],
			outputs: ['ai_memory'],
			properties: [{ displayName: 'Stored', name: 'stored', type: 'boolean', default: true }],
		},
		async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
			const key = String(this.evaluateExpression('{{ $json.sessionId }}', itemIndex));
			const chatHistory = history(key, this.getNodeParameter('stored', itemIndex, true) as boolean);
			return {
				response: {
					chatHistory,
					async saveContext(input: IDataObject, output: IDataObject) {
						await chatHistory.addMessage(new messages.HumanMessage(String(input.input)));
						await chatHistory.addMessage(new messages.AIMessage(String(output.output)));
					},
				},
			};
		},
	};
	return { 'test.chatMessage': chatMessage, 'test.chatMemory': chatMemory };
}
