/**
 * The endpoint modules (nodes/shared/transport/api.ts, headers.ts, tokenCalls.ts): the headers every request
 * carries, the two calls the token keeper sends through n8n's helpers, and how answers become typed values (a number
 * is read whether the service writes it as a JSON number or as its digits; nothing else is taken for one).
 */
import { ATTRIBUTION_HEADERS } from '../nodes/shared/constants';
import { readRenderStatus, uploadUrls } from '../nodes/shared/transport/api';
import { NemoVideoClient } from '../nodes/shared/transport/client';
import { apiHeaders } from '../nodes/shared/transport/headers';
import { anonymousTokenRequest, tokenCheckRequest } from '../nodes/shared/transport/tokenCalls';
import { ScriptedServer, ownTokenContext } from './helpers';

const TOKEN = 'nmv_usr_endpoints_token_1';

describe('headers', () => {
	test('every request carries the attribution headers; the bearer token and the client id only when given', () => {
		expect(apiHeaders({ token: TOKEN, clientId: 'client-1' })).toEqual({
			...ATTRIBUTION_HEADERS,
			Authorization: `Bearer ${TOKEN}`,
			'X-Client-Id': 'client-1',
		});
		expect(apiHeaders({ clientId: 'client-1' })).toEqual({ ...ATTRIBUTION_HEADERS, 'X-Client-Id': 'client-1' });
		expect(apiHeaders({ token: TOKEN })).toEqual({ ...ATTRIBUTION_HEADERS, Authorization: `Bearer ${TOKEN}` });
	});
});

describe('the calls sent through n8n\'s helpers', () => {
	test('the anonymous token call sends the client id and no token; its answer is read by the caller', () => {
		const request = anonymousTokenRequest('https://api.example', 'client-1');
		expect(request).toMatchObject({ method: 'POST', url: 'https://api.example/api/auth/anonymous-token', ignoreHttpStatusErrors: true, returnFullResponse: true });
		expect(request.headers).toEqual({ ...ATTRIBUTION_HEADERS, 'X-Client-Id': 'client-1' });
	});

	test('the token check is a GET of the balance, with the given token or, without one, none of its own', () => {
		expect(tokenCheckRequest('https://api.example', TOKEN)).toMatchObject({
			method: 'GET',
			url: 'https://api.example/api/credits/balance/simple',
			headers: { Authorization: `Bearer ${TOKEN}` },
			ignoreHttpStatusErrors: true,
		});
		// n8n's authenticate of the credential adds the stored token to this one.
		expect(tokenCheckRequest('https://api.example').headers).toBeUndefined();
	});
});

describe('numbers in answers', () => {
	test('a render status read whether its numbers come as JSON numbers or as digits', () => {
		expect(readRenderStatus('render_a', { status: 'processing', progress: '42', output: { size: '3456', duration: 12.5 } })).toMatchObject({
			progress: 42,
			sizeBytes: 3456,
			durationSeconds: 12.5,
		});
	});

	test('an empty string, a boolean or a word is no progress: null, never 0 or 1', () => {
		for (const progress of ['', ' ', true, false, 'soon', [], {}]) {
			expect(readRenderStatus('render_b', { status: 'processing', progress }).progress).toBeNull();
		}
	});

	describe('uploaded files', () => {
		const server = new ScriptedServer();
		beforeAll(async () => await server.start());
		afterAll(async () => await server.stop());

		test('width, height and duration are read as the status is; what is not a number is null', async () => {
			server.answer = () => ({
				body: {
					code: 0,
					data: { files: [{ filename: 'a.jpg', file_type: 'image', cdn_url: 'https://cdn.example/a.jpg', width: '1080', height: 1920, duration: 'n/a' }] },
				},
			});
			const client = new NemoVideoClient(ownTokenContext({ baseUrl: server.baseUrl, accessToken: TOKEN }));
			const files = await uploadUrls(client, { sessionId: '5529798706024415232', urls: ['https://photos.example/a.jpg'] }, { itemIndex: 0 });
			expect(files).toEqual([
				{ filename: 'a.jpg', fileType: 'image', cdnUrl: 'https://cdn.example/a.jpg', width: 1080, height: 1920, duration: null },
			]);
			expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
				'POST /api/upload-video/nemo_agent/me/5529798706024415232',
			]);
		});
	});
});
