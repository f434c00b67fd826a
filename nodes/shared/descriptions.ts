import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';

import { CREDENTIAL_TYPE } from './constants';

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
