/**
 * Issue 5, "Secrets and hostile answers": where the token may go, which base URLs and returned URLs are
 * followed, and how broken or hostile answers end: a clear error within the item's bounds, never a hang.
 */
import { NemoVideoApi } from '../credentials/NemoVideoApi.credentials';
import { downloadPublic } from '../nodes/shared/transport/download';
import { baseUrlProblem } from '../nodes/shared/transport/http';
import { NemoVideoEmulator } from './emulator';
import { Harness, readBinary } from './harness';
import { join } from 'node:path';

const TOKEN = 'nmv_usr_own_hostile_token';
const PHOTOS = [1, 2].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };

let emu: NemoVideoEmulator;
let harness: Harness;

beforeAll(async () => {
	emu = new NemoVideoEmulator({ renderMs: 300, sseEventDelayMs: 2 });
	await emu.start();
});
afterAll(async () => await emu.stop());
beforeEach(() => {
	emu.reset();
	emu.config.renderMs = 300;
	emu.config.sseEventDelayMs = 2;
	emu.addToken(TOKEN, { credits: 100_000, anonymous: false });
	harness = new Harness();
	harness.credentials.set('cred-1', { baseUrl: emu.baseUrl, accessToken: TOKEN });
});

async function readySession(): Promise<string> {
	const run = await harness.run({
		nodes: [
			{ type: 'test.readFiles', parameters: { paths: JSON.stringify(PHOTOS) } },
			{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
			{ type: 'nemoVideoGenerate', parameters: { prompt: 'slideshow' } },
		],
	});
	expect(run.error).toBeUndefined();
	return run.output()[0].json.sessionId as string;
}

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

describe('hostile or broken answers end in a clear error, in bounds', () => {
	const credits = () => harness.run({ nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });

	test('HTML instead of JSON', async () => {
		emu.inject('credits', { kind: 'html' }, 3);
		const run = await credits();
		expect(run.error?.message).toMatch(/service error \(HTTP 502\)/);
	});

	test('truncated JSON', async () => {
		emu.inject('credits', { kind: 'malformedJson' }, 1);
		const run = await credits();
		expect(run.error?.message).toMatch(/could not be read/);
	});

	test('a gigantic body is cut off, not read into memory', async () => {
		emu.inject('credits', { kind: 'hugeBody', bytes: 200 * 1024 * 1024 }, 1);
		const before = process.memoryUsage().rss;
		const started = Date.now();
		const run = await credits();
		expect(run.error?.message).toMatch(/could not be read/);
		expect(run.error?.description).toMatch(/larger than 32 MB/);
		expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
		expect(Date.now() - started).toBeLessThan(10_000);
	});

	test('a Content-Length that lies', async () => {
		emu.inject('credits', { kind: 'lyingContentLength' }, 3);
		const run = await credits();
		expect(run.error?.message).toMatch(/Could not reach|could not be read/);
	});

	test('an SSE line of megabytes ends the stream with a clear error', async () => {
		const sessionId = await readySession();
		emu.inject('sse', { kind: 'sseHugeLine', bytes: 8 * 1024 * 1024 }, 1);
		const run = await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'again' } }] });
		expect(run.error?.message).toMatch(/did not finish: an event larger than 4 MB/);
		expect(emu.requestsTo('sse')).toHaveLength(2);
	});

	test('a never-ending stream is cut at the timeout', async () => {
		const sessionId = await readySession();
		emu.inject('sse', { kind: 'sseEndless' }, 1);
		const started = Date.now();
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'again', timeoutMinutes: 0.02 } }],
		});
		expect(run.error?.message).toMatch(/did not finish: no end of the answer/);
		expect(Date.now() - started).toBeLessThan(5000);
	});
});

describe('rate limits are shared by the batch', () => {
	test('a 429 on one item delays the others once instead of a burst of retries', async () => {
		const sessionId = await readySession();
		emu.inject('state', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const run = await harness.run({
			input: Array.from({ length: 6 }, () => ({ json: { sessionId } })),
			nodes: [{ type: 'nemoVideoExport', parameters: { ...fast, download: false, options: { concurrency: 6 } } }],
		});
		expect(run.error).toBeUndefined();
		expect(run.output()).toHaveLength(6);
		const limited = emu.requests.filter((request) => request.status === 429);
		expect(limited).toHaveLength(1);
		// Nothing reached the service within the Retry-After second after the 429 (but requests already in flight).
		const after = emu.requests.filter((request) => request.at > limited[0].at + 100 && request.at < limited[0].at + 900);
		expect(after).toHaveLength(0);
		expect(emu.requestsTo('renderStart')).toHaveLength(6);
	});
});
