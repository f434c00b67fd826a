import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IDataObject,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INodeProperties,
	Icon,
} from 'n8n-workflow';

import { DEFAULT_BASE_URL } from '../nodes/shared/constants';
import { BASE_URL_EXPRESSION, authFrom, preAuthenticate } from '../nodes/shared/transport/auth';
import { apiHeaders } from '../nodes/shared/transport/headers';
import { CREDITS_PATH } from '../nodes/shared/transport/tokenCalls';

export class NemoVideoApi implements ICredentialType {
	name = 'nemoVideoApi';

	displayName = 'NemoVideo API';

	icon: Icon = { light: 'file:../icons/nemovideo.svg', dark: 'file:../icons/nemovideo.dark.svg' };

	documentationUrl = 'https://github.com/n8n-nodes-nemovideo/n8n-nodes-nemovideo#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Your own NemoVideo token (nmv_usr_…). Leave empty to use a free anonymous token (100 credits, 7 days) that the node fetches, stores here encrypted and renews when it expires.',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			description:
				'The X-Client-Id for anonymous tokens: at most 64 characters, used exactly as typed. Leave empty to have one made with the first token and kept with this credential (a new one when the Base URL moves to another host). The service issues one token per client ID every 7 days.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: DEFAULT_BASE_URL,
			description:
				'The NemoVideo API address. Must be https, except a loopback address such as http://127.0.0.1:8080 for testing.',
		},
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'hidden',
			typeOptions: { expirable: true, password: true },
			default: '',
		},
		{
			displayName: 'Anonymous User ID',
			name: 'anonymousUserId',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Token Expires At',
			name: 'tokenExpiresAt',
			type: 'hidden',
			typeOptions: { password: true },
			default: '',
		},
		{
			// The origin that issued the stored token: it is never sent to any other (a changed Base URL).
			displayName: 'Token Origin',
			name: 'tokenOrigin',
			type: 'hidden',
			typeOptions: { password: true },
			default: '',
		},
		{
			// The Client ID the node generated (not one the user typed): a new origin gets a new one.
			displayName: 'Generated Client ID',
			name: 'generatedClientId',
			type: 'hidden',
			default: '',
		},
	];

	/**
	 * n8n calls this when the stored anonymous token is empty or expired, and on every credential test; it
	 * stores what this returns (encrypted, shared by every worker). The rules are the token keeper's
	 * (nodes/shared/transport/auth.ts): a stored token of this origin is checked and kept unless the service
	 * says 1001; a user's own token needs nothing stored.
	 */
	async preAuthentication(
		this: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
	): Promise<IDataObject> {
		return await preAuthenticate(this, credentials);
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		// The token keeper's rule: an anonymous token goes only to the origin that issued it, whatever the Base URL
		// says now. The client id is not sent here: only the token call needs it.
		const token = authFrom(credentials)?.token ?? '';
		return { ...requestOptions, headers: { ...requestOptions.headers, ...apiHeaders({ token }) } };
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: BASE_URL_EXPRESSION,
			url: CREDITS_PATH,
			method: 'GET',
		},
		rules: [
			{
				type: 'responseSuccessBody',
				properties: {
					key: 'code',
					value: 1001,
					message: 'The token is invalid or expired',
				},
			},
		],
	};
}
