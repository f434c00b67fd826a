/**
 * The node types a harness run knows, as n8n's NodeTypes answers them: the package's nodes under
 * `n8n-nodes-nemovideo.<name>`, n8n's Manual Trigger, a Read Files stand-in (`test.readFiles`), the item of a
 * Chat Trigger message (`test.chatMessage`) and a chat memory (`test.chatMemory`, chat-nodes.ts).
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';

import type { INodeExecutionData, INodeType, INodeTypes } from 'n8n-workflow';

import { chatNodes } from './chat-nodes';

import { NemoVideoChat } from '../../nodes/NemoVideoChat/NemoVideoChat.node';
import { NemoVideoCredits } from '../../nodes/NemoVideoCredits/NemoVideoCredits.node';
import { NemoVideoExport } from '../../nodes/NemoVideoExport/NemoVideoExport.node';
import { NemoVideoGenerate } from '../../nodes/NemoVideoGenerate/NemoVideoGenerate.node';
import { NemoVideoGetState } from '../../nodes/NemoVideoGetState/NemoVideoGetState.node';
import { NemoVideoPhotoToVideo } from '../../nodes/NemoVideoPhotoToVideo/NemoVideoPhotoToVideo.node';
import { NemoVideoUpload } from '../../nodes/NemoVideoUpload/NemoVideoUpload.node';

export const PACKAGE = 'n8n-nodes-nemovideo';

function packageNodes(): Record<string, INodeType> {
	const nodes: INodeType[] = [
		new NemoVideoCredits(),
		new NemoVideoGetState(),
		new NemoVideoUpload(),
		new NemoVideoGenerate(),
		new NemoVideoExport(),
		new NemoVideoPhotoToVideo(),
		new NemoVideoChat(),
	];
	return Object.fromEntries(nodes.map((node) => [`${PACKAGE}.${node.description.name}`, node]));
}

/** Manual Trigger and a Read Files node that reads paths from disk into binary data. */
function builtInNodes(): Record<string, INodeType> {
	const manualTrigger: INodeType = {
		description: {
			displayName: 'Manual Trigger',
			name: 'manualTrigger',
			group: ['trigger'],
			version: 1,
			description: '',
			defaults: { name: 'Start' },
			inputs: [],
			outputs: ['main'],
			properties: [],
		},
		async execute() {
			return [this.getInputData()];
		},
	};
	// Reads files from disk into binary data the way n8n's Read/Write Files node does: streamed into the store,
	// named by the whole path (so the binary has fileName and directory, as n8n's file readers give it).
	const readFiles: INodeType = {
		description: {
			displayName: 'Read Files',
			name: 'readFiles',
			group: ['input'],
			version: 1,
			description: '',
			defaults: { name: 'Read Files' },
			inputs: ['main'],
			outputs: ['main'],
			properties: [{ displayName: 'Paths', name: 'paths', type: 'json', default: '[]' }],
		},
		async execute() {
			const paths = JSON.parse(String(this.getNodeParameter('paths', 0))) as string[];
			const items: INodeExecutionData[] = [];
			for (const path of paths) {
				const name = basename(path);
				const binary = await this.helpers.prepareBinaryData(createReadStream(path), path);
				items.push({ json: { fileName: name }, binary: { data: binary }, pairedItem: { item: 0 } });
			}
			return [items];
		},
	};
	return { 'n8n-nodes-base.manualTrigger': manualTrigger, 'test.readFiles': readFiles, ...chatNodes() };
}

/** The node types of one harness; a test may add its own (`types[name] = …`), e.g. the tool variants. */
export class NodeTypes implements INodeTypes {
	readonly types: Record<string, INodeType> = { ...packageNodes(), ...builtInNodes() };

	getByName(name: string): INodeType {
		const type = this.types[name];
		if (!type) throw new Error(`Unknown node type ${name}`);
		return type;
	}

	getByNameAndVersion(name: string): INodeType {
		return this.getByName(name);
	}

	getKnownTypes() {
		return {};
	}
}
