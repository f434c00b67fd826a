import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';

import { CREDENTIAL_TYPE, DEFAULT_PROMPT } from './constants';

export const credentials: INodeTypeDescription['credentials'] = [{ name: CREDENTIAL_TYPE, required: true }];

export const sessionIdRequired: INodeProperties = {
	displayName: 'Session ID',
	name: 'sessionId',
	type: 'string',
	default: '={{ $json.sessionId }}',
	required: true,
	description: 'The NemoVideo session to read. The previous NemoVideo node outputs it as sessionId.',
};

export const sessionIdOrNew: INodeProperties = {
	displayName: 'Session ID',
	name: 'sessionId',
	type: 'string',
	default: '={{ $json.sessionId }}',
	description:
		'The NemoVideo session to use. Leave empty to start a new session. The previous NemoVideo node outputs it as sessionId.',
};

export const nodeIcon = { light: 'file:../../icons/nemovideo.svg', dark: 'file:../../icons/nemovideo.dark.svg' } as const;

export const binaryPropertiesProperty: INodeProperties = {
	displayName: 'Binary Properties',
	name: 'binaryProperties',
	type: 'string',
	default: 'data',
	required: true,
	description:
		'Names of the binary properties that hold the photos, separated by commas; "*" takes every binary property of the item',
};

export const groupingProperty: INodeProperties = {
	displayName: 'Grouping',
	name: 'grouping',
	type: 'options',
	default: 'all',
	options: [
		{
			name: 'All Items Together',
			value: 'all',
			description:
				'The files of every input item go into one session: reading a folder of 8 photos makes one video, not 8',
		},
		{
			name: 'One per Item',
			value: 'perItem',
			description: 'Each input item gets its own session (and its own video)',
		},
	],
};

export function concurrencyOption(defaultValue: number): INodeProperties {
	return {
		displayName: 'Concurrency',
		name: 'concurrency',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 32 },
		default: defaultValue,
		description:
			'How many items (or groups) run at once. Output stays in input order; a 429 from the service slows all of them together.',
	};
}

export const promptProperty: INodeProperties = {
	displayName: 'Prompt',
	name: 'prompt',
	type: 'string',
	typeOptions: { rows: 3 },
	default: DEFAULT_PROMPT,
	required: true,
	description:
		'What the AI should do, in plain words. Be specific: "a 20 second vertical slideshow with smooth transitions and lo-fi music" works better than "make it nice". Each message costs credits.',
};

/** Where the files come from, shared by Upload and Photo to Video. */
export const sourceProperty: INodeProperties = {
	displayName: 'Source',
	name: 'source',
	type: 'options',
	default: 'binary',
	options: [
		{ name: 'Binary Data', value: 'binary', description: 'Files of the input items, streamed from n8n' },
		{ name: 'URLs', value: 'url', description: 'Public URLs the service downloads itself' },
	],
};

export const urlsProperty: INodeProperties = {
	displayName: 'URLs',
	name: 'urls',
	type: 'string',
	typeOptions: { rows: 3 },
	default: '',
	required: true,
	displayOptions: { show: { source: ['url'] } },
	description:
		'Http(s) URLs of photos or videos: one a line (a URL may contain commas), a JSON array, or separated by commas',
};

/** The files' parameters of Upload and Photo to Video: Source, then Binary Properties or URLs. */
export const fileSourceProperties: INodeProperties[] = [
	sourceProperty,
	{ ...binaryPropertiesProperty, displayOptions: { show: { source: ['binary'] } } },
	urlsProperty,
];

/** Options of a node used as an AI tool (ignored outside tool mode). */
export const toolTimeoutOption: INodeProperties = {
	displayName: 'Tool Call Time Limit (Seconds)',
	name: 'toolTimeoutSeconds',
	type: 'number',
	typeOptions: { minValue: 1 },
	// MCP clients commonly give up on a call after about 60 s.
	default: 45,
	description:
		'Only when the node runs as an AI tool: return within this time (MCP clients give up after about 60 s). An unfinished render comes back with its status and renderId, to ask again with Export & Wait.',
};

/**
 * The description an AI agent or MCP client reads, shown only on the node's tool variant (`@tool`). n8n
 * 2.41.1 applies `usableAsTool.replacements` only to the editor's types file; at run time a tool's
 * Description defaults to the node's canvas description unless the node declares this property itself
 * (n8n/dist/tool-generation/ai-tools.js convertNodeToAiTool adds one only when it is missing).
 */
export function toolDescriptionProperty(text: string): INodeProperties {
	return {
		displayName: 'Description',
		name: 'toolDescription',
		type: 'string',
		default: text,
		required: true,
		typeOptions: { rows: 4 },
		displayOptions: { show: { '@tool': [true] } },
		description: 'What the AI agent reads about this tool: what it does, what it costs, what goes in and what comes out',
	};
}
