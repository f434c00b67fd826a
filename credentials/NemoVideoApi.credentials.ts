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

import { ATTRIBUTION_HEADERS, DEFAULT_BASE_URL } from '../nodes/shared/constants';
import { baseUrlProblem } from '../nodes/shared/transport/http';
import { uuid } from '../nodes/shared/vendor';

function field(data: ICredentialDataDecryptedObject, name: string): string {
	const value = data[name];
	return typeof value === 'string' ? value.trim() : '';
}

function baseUrlOf(data: ICredentialDataDecryptedObject): string {
	return (field(data, 'baseUrl') || DEFAULT_BASE_URL).replace(/\/+$/, '');
}

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
				'The X-Client-Id for anonymous tokens (at most 64 characters). Leave empty to have one generated on first use and kept with this credential. The service issues one token per client ID every 7 days.',
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
	];

	/**
	 * n8n calls this when the stored anonymous token is empty or expired, and stores what it returns (encrypted,
	 * shared by every worker). A user's own token needs nothing stored.
	 */
	async preAuthentication(
		this: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
	): Promise<IDataObject> {
		const baseUrl = baseUrlOf(credentials);
		const problem = baseUrlProblem(baseUrl);
		if (problem) throw new Error(`NemoVideo API credential: ${problem}`);
		if (field(credentials, 'accessToken')) return {};

		let clientId = field(credentials, 'clientId').slice(0, 64) || uuid();
		for (let attempt = 0; ; attempt++) {
			const request: IHttpRequestOptions = {
				method: 'POST',
				url: `${baseUrl}/api/auth/anonymous-token`,
				headers: { ...ATTRIBUTION_HEADERS, 'X-Client-Id': clientId },
				json: true,
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				timeout: 30_000,
			};
			const response = (await this.helpers.httpRequest(request)) as {
				statusCode: number;
				body: IDataObject;
				headers?: Record<string, string>;
			};
			const body = (response.body ?? {}) as IDataObject;
			const data = (body.data ?? {}) as IDataObject;
			if (response.statusCode === 400 && attempt === 0) {
				// The service did not take the client id: generate a well-formed one and try once more.
				clientId = uuid();
				continue;
			}
			if (response.statusCode < 300 && (body.code === 0 || body.code === undefined) && data.token) {
				return {
					sessionToken: String(data.token),
					clientId,
					anonymousUserId: String(data.user_id ?? ''),
					tokenExpiresAt: String(data.expires_at ?? ''),
				};
			}
			const reason = String(body.message ?? body.msg ?? body.error ?? body.detail ?? 'no reason given');
			const error = new Error(
				response.statusCode === 429
					? `The anonymous token limit was reached for this client id (HTTP 429: ${reason})`
					: `The anonymous token request failed (HTTP ${response.statusCode}, code ${String(body.code ?? '-')}: ${reason})`,
			);
			const retryAfter = Number(response.headers?.['retry-after']);
			Object.assign(error, {
				httpCode: String(response.statusCode),
				...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}),
			});
			throw error;
		}
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const token = field(credentials, 'accessToken') || field(credentials, 'sessionToken');
		return {
			...requestOptions,
			headers: {
				...requestOptions.headers,
				...ATTRIBUTION_HEADERS,
				Authorization: `Bearer ${token}`,
			},
		};
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: `={{($credentials.baseUrl || "${DEFAULT_BASE_URL}").replace(/\\/+$/, "")}}`,
			url: '/api/credits/balance/simple',
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
