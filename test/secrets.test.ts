/**
 * Where the token may go: to the Base URL only, never to the CDN or a URL the service returns; a Base URL that is
 * not https (loopback aside) gets no token at all; a URL from an answer is fetched only over http(s), without the
 * token. The outbound request guard for those URLs: test/ssrf-guard.test.ts; a token in any output: the suite's
 * leak check (test/harness/leak-check.ts).
 */
import { join } from 'node:path';

import { NemoVideoApi } from '../credentials/NemoVideoApi.credentials';
import { downloadPublic } from '../nodes/shared/transport/download';
import { baseUrlProblem } from '../nodes/shared/transport/origins';
import type { NemoVideoEmulator } from './emulator';
import { sessionThroughNodes, withEmulator } from './fixtures';
import { readBinary } from './harness';
import type { Harness } from './harness';

const TOKEN = 'nmv_usr_own_secrets_token';
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };
const PHOTOS = [1, 2].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

const readySession = async () => await sessionThroughNodes(harness, PHOTOS);

describe('the token goes to the base URL only', () => {
	test('the CDN download carries no token; the authenticated fallback goes to the base URL', async () => {
		const sessionId = await readySession();
		emu.inject('cdn', { kind: 'serverError', status: 503 }, 1);
		const run = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast } }] });
		expect(run.error).toBeUndefined();
		expect(emu.requestsTo('cdn').length).toBeGreaterThan(0);
		expect(emu.requestsTo('cdn').every((request) => request.headers.authorization === undefined)).toBe(true);
		const fallback = emu.requestsTo('download');
		expect(fallback).toHaveLength(1);
		expect(fallback[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
		const bytes = await readBinary(run.output()[0].binary!.data);
		expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
		// Every request that carried the token went to the API server, none to the CDN's origin.
		const withToken = emu.requests.filter((request) => request.headers.authorization);
		expect(withToken.every((request) => request.route !== 'cdn')).toBe(true);
	});

	test('a CDN redirect to another scheme is refused (and the fallback used)', async () => {
		const sessionId = await readySession();
		emu.inject('cdn', { kind: 'cdnRedirect', location: 'file:///etc/passwd' }, 1);
		const run = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast } }] });
		expect(run.error).toBeUndefined();
		const bytes = await readBinary(run.output()[0].binary!.data);
		expect(bytes.toString('latin1')).not.toContain('root:');
		expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
		expect(emu.requestsTo('download')).toHaveLength(1);
	});
});

describe('URLs the service returns', () => {
	test.each(['file:///etc/passwd', 'ftp://example.com/video.mp4', 'data:video/mp4;base64,AAAA'])('%s is never fetched', async (url) => {
		await expect(downloadPublic(url, undefined)).rejects.toThrow(/only http and https/);
	});

	test('an http(s) URL is fetched without a token', async () => {
		const sessionId = await readySession();
		const started = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast, download: false } }] });
		const response = await downloadPublic(String(started.output()[0].json.url), undefined);
		await response.body.dump();
		expect(response.statusCode).toBe(200);
		expect(emu.requestsTo('cdn').at(-1)?.headers.authorization).toBeUndefined();
	});
});

describe('base URLs', () => {
	test('plain http is refused unless it is a loopback address', () => {
		expect(baseUrlProblem('https://mega-api-prod.nemovideo.ai')).toBeUndefined();
		expect(baseUrlProblem('http://127.0.0.1:8080')).toBeUndefined();
		expect(baseUrlProblem('http://localhost:9')).toBeUndefined();
		expect(baseUrlProblem('http://[::1]:9')).toBeUndefined();
		expect(baseUrlProblem('http://api.example.com')).toMatch(/not https/);
		expect(baseUrlProblem('http://10.0.0.5')).toMatch(/not https/);
		expect(baseUrlProblem('ftp://example.com')).toMatch(/not https/);
		expect(baseUrlProblem('not a url')).toMatch(/not a URL/);
	});

	test('a node refuses to send the token to a non-https base URL, before any request', async () => {
		harness.credentials.set('cred-1', { baseUrl: 'http://api.example.com', accessToken: TOKEN });
		const run = await harness.run({ nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		expect(run.error?.message).toMatch(/not https/);
		expect(run.error?.message).not.toContain(TOKEN);
	});

	test('the credential test refuses it with a clear error', async () => {
		const credential = new NemoVideoApi();
		const helpers = { helpers: { httpRequest: jest.fn() } };
		await expect(
			credential.preAuthentication.call(helpers as never, { baseUrl: 'http://api.example.com', accessToken: '', clientId: '' }),
		).rejects.toThrow(/not https/);
		expect(helpers.helpers.httpRequest).not.toHaveBeenCalled();
	});
});
