/**
 * The NemoVideo transport (nodes/shared/transport), over real HTTP to the emulator: attribution headers, both
 * envelopes and every message field, every row of the error table, the retry rules (429, 1001, 400, 5xx) and which
 * calls are never repeated, the anonymous token's lifecycle across executions, timeouts and cancellation.
 * Mostly through the real Credits and Get State nodes run by n8n-core's WorkflowExecute (the harness); a few rules
 * that no node reaches in a fast test (POST idempotency, a short timeout) drive NemoVideoClient directly.
 */
import { join } from 'node:path';

import { readEnvelope } from '../nodes/shared/transport/envelope';
import { createSession, credits as balanceCall, state } from '../nodes/shared/transport/api';
import { NemoVideoClient } from '../nodes/shared/transport/client';
import { NemoVideoApiError } from '../nodes/shared/transport/errors';
import { parseRetryAfter } from '../nodes/shared/transport/wait';
import { NemoVideoEmulator } from './emulator';
import type { Fault } from './emulator';
import type { Harness, WorkflowRun } from './harness';
import { withEmulator } from './fixtures';
import { ATTRIBUTION, ScriptedServer, SeenText, ownTokenContext, sessionWithDraft, sleep } from './helpers';

const OWN = 'nmv_usr_own_transport_token_0123456789';
const PHOTO = join(__dirname, 'emulator', 'fixtures', 'photos', 'photo-1.jpg');
const USED_TOKENS = new Set<string>([OWN]);
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator(
	{
		config: { renderMs: 200, sseEventDelayMs: 1 },
		tokens: { [OWN]: { credits: 4321 } },
		credentials: { own: { accessToken: OWN }, anon: {} },
		usedTokens: USED_TOKENS,
	},
	(fixture) => ({ emu, harness } = fixture),
);

async function run(spec: Parameters<Harness['run']>[0]): Promise<WorkflowRun> {
	return seen.run(await harness.run(spec));
}

const credits = (credentialId = 'own', extra: Partial<Parameters<Harness['run']>[0]> = {}) =>
	run({ credentialId, nodes: [{ type: 'nemoVideoCredits', parameters: {} }], ...extra });

const getState = (credentialId: string, sessionId: string) =>
	run({ credentialId, nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId } }] });

/** Runs Credits once so that the anonymous credential holds a token; faults injected afterwards hit the node's own call. */
async function warmAnonymous(): Promise<{ token: string; clientId: string; userId: string }> {
	const first = await credits('anon');
	expect(first.error).toBeUndefined();
	expect(emu.issuedTokens()).toHaveLength(1);
	emu.requests = [];
	return emu.issuedTokens()[0];
}

describe('attribution headers', () => {
	test('are on every request of a run: the token call, its check, Credits and Get State, in two executions', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, OWN, { photos: 0 });
		emu.requests = [];
		harness.credentials.set('anon', { baseUrl: emu.baseUrl });
		// An anonymous credential: the run fetches a token first. The session belongs to another user, so Get State
		// answers 1002: failures carry the headers too.
		expect((await credits('anon')).error).toBeUndefined();
		await getState('anon', sessionId);
		expect((await getState('own', sessionId)).error).toBeUndefined();
		expect((await credits('own')).error).toBeUndefined();

		const routes = new Set(emu.requests.map((request) => request.route));
		expect(routes).toEqual(new Set(['token', 'credits', 'state']));
		expect(emu.requests.length).toBeGreaterThanOrEqual(5);
		for (const request of emu.requests) {
			expect({ route: request.route, ...pick(request.headers, Object.keys(ATTRIBUTION)) }).toEqual({ route: request.route, ...ATTRIBUTION });
			if (request.route === 'token') {
				expect(request.headers['x-client-id']).toMatch(/^[0-9a-f-]{36}$/);
			} else {
				expect(request.headers.authorization).toMatch(/^Bearer nmv_usr_\w+$/);
			}
		}
	});

	test('are on the calls of the Upload and Get State nodes too (session, upload, state), with the bearer token', async () => {
		const result = await run({
			credentialId: 'anon',
			nodes: [
				{ type: 'test.readFiles', parameters: { paths: JSON.stringify([PHOTO]) } },
				{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
				{ type: 'nemoVideoGetState', parameters: {} },
			],
		});
		expect(result.error).toBeUndefined();
		const api = emu.requests.filter((request) => request.route !== 'cdn');
		expect(new Set(api.map((request) => request.route))).toEqual(new Set(['token', 'credits', 'session', 'upload', 'state']));
		for (const request of api) {
			expect({ route: request.route, ...pick(request.headers, Object.keys(ATTRIBUTION)) }).toEqual({ route: request.route, ...ATTRIBUTION });
			if (request.route !== 'token') expect(request.headers.authorization).toMatch(/^Bearer nmv_usr_\w+$/);
		}
	});

	test('are on every retry too (429, 5xx, 400 missing client id)', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 0 }, 1);
		emu.inject('credits', { kind: 'serverError', status: 503 }, 1);
		emu.inject('credits', { kind: 'missingClientId400' }, 1);
		const result = await credits('own');
		expect(result.error).toBeUndefined();
		const calls = emu.requestsTo('credits');
		expect(calls.map((request) => request.status)).toEqual([429, 503, 400, 200]);
		for (const request of calls) expect(pick(request.headers, Object.keys(ATTRIBUTION))).toEqual(ATTRIBUTION);
	});
});

function pick(headers: Record<string, string>, keys: string[]): Record<string, string> {
	return Object.fromEntries(keys.map((key) => [key, headers[key]]));
}

describe('envelopes and message fields', () => {
	test('readEnvelope: both success shapes, app codes as numbers or strings, every message field in order', () => {
		expect(readEnvelope(200, { code: 0, data: { available: 1 } })).toEqual({ ok: true, data: { available: 1 } });
		expect(readEnvelope(200, { success: true, data: { id: 'r' } })).toEqual({ ok: true, data: { id: 'r' } });
		expect(readEnvelope(200, { code: 1001, message: 'a', msg: 'b', error: 'c', detail: 'd' })).toEqual({ ok: false, appCode: 1001, message: 'a' });
		expect(readEnvelope(200, { code: 1001, msg: 'b', error: 'c', detail: 'd' })).toEqual({ ok: false, appCode: 1001, message: 'b' });
		expect(readEnvelope(200, { code: 1001, error: 'c', detail: 'd' })).toEqual({ ok: false, appCode: 1001, message: 'c' });
		expect(readEnvelope(200, { code: 1001, detail: 'd' })).toEqual({ ok: false, appCode: 1001, message: 'd' });
		expect(readEnvelope(200, { code: '2001', message: '', msg: 'm' })).toEqual({ ok: false, appCode: 2001, message: 'm' });
		expect(readEnvelope(200, { success: false, error: { message: 'nested' } })).toEqual({ ok: false, appCode: undefined, message: 'nested' });
		expect(readEnvelope(404, { code: 1002, detail: 'gone' })).toEqual({ ok: false, appCode: 1002, message: 'gone' });
		expect(readEnvelope(500, { data: { a: 1 } })).toEqual({ ok: false, appCode: undefined, message: undefined });
		expect(readEnvelope(500, 'oops')).toEqual({ ok: false });
		// A bare object without code or success (a poll answer) is the data itself.
		expect(readEnvelope(200, { status: 'completed', progress: 100 })).toEqual({ ok: true, data: { status: 'completed', progress: 100 } });
		expect(readEnvelope(401, { error: 'expired' })).toEqual({ ok: false, appCode: undefined, message: 'expired' });
		expect(readEnvelope(400, { code: 4001, detail: 'bad type' })).toEqual({ ok: false, appCode: 4001, message: 'bad type' });
	});

	describe('through a node, against a server that answers in each shape', () => {
		const server = new ScriptedServer();
		beforeAll(async () => await server.start());
		afterAll(async () => await server.stop());
		beforeEach(() => {
			server.requests.length = 0;
			harness.credentials.set('scripted', { baseUrl: server.baseUrl, accessToken: OWN });
		});

		test('{success, data} is read like {code, data}', async () => {
			server.answer = () => ({ body: { success: true, data: { available: 7, frozen: 3, total: 10 } } });
			const result = await credits('scripted');
			expect(result.error).toBeUndefined();
			expect(result.output()[0].json).toEqual({ available: 7, frozen: 3, total: 10 });
		});

		test('total is computed when the answer leaves it out', async () => {
			server.answer = () => ({ body: { code: 0, data: { available: 7, frozen: 3 } } });
			expect((await credits('scripted')).output()[0].json).toEqual({ available: 7, frozen: 3, total: 10 });
		});

		test.each([
			['message', { code: 4001, message: 'from message' }, 200, 'from message'],
			['msg', { code: 4001, msg: 'from msg' }, 200, 'from msg'],
			['error', { code: 4001, error: 'from error' }, 400, 'from error'],
			['detail', { code: 4001, detail: 'from detail' }, 422, 'from detail'],
			['success:false with error.message', { success: false, code: 4001, error: { message: 'nested one' } }, 200, 'nested one'],
		])('the service message from `%s` reaches the description', async (_field, body, status, said) => {
			server.answer = () => ({ status, body });
			const result = await credits('scripted');
			expect(result.error?.message).toBe('NemoVideo does not accept this file type');
			expect(result.error?.description).toContain(`The service said: "${said}"`);
			expect(server.requests).toHaveLength(1);
		});

		test('{success:false} without a code is a failure, not data', async () => {
			server.answer = () => ({ body: { success: false, msg: 'refused for a reason' } });
			const result = await credits('scripted');
			expect(result.error?.message).toBe('NemoVideo refused the request (HTTP 200)');
			expect(result.error?.description).toContain('refused for a reason');
		});

		test('a 1002 in a 404 with `detail` is "session not found"', async () => {
			server.answer = () => ({ status: 404, body: { code: 1002, detail: 'no such session' } });
			const result = await getState('scripted', '5123456789012345678');
			expect(result.error?.message).toBe('NemoVideo session not found');
			expect(result.error?.description).toContain('no such session');
			expect(server.requests[0].path).toBe('/api/state/nemo_agent/me/5123456789012345678/latest');
		});

		test('a service message that echoes the token does not put the token in the error', async () => {
			server.answer = () => ({ status: 400, body: { code: 4001, message: `bad file for Bearer ${OWN}` } });
			const result = await credits('scripted');
			expect(result.error?.message).toMatch(/file type/);
			expect(`${result.error?.message} ${result.error?.description}`).not.toContain(OWN);
		});
	});
});

describe('the error table', () => {
	interface Row {
		name: string;
		fault: Fault;
		credentialId: 'own' | 'anon';
		message: string | RegExp;
		description?: RegExp;
	}
	const rows: Row[] = [
		{ name: '1001 own token on HTTP 200', fault: { kind: 'appCode', code: 1001 }, credentialId: 'own', message: 'The NemoVideo access token is invalid or expired', description: /Create a new token/ },
		{ name: '1001 own token on HTTP 401', fault: { kind: 'appCode', code: 1001, httpStatus: 401 }, credentialId: 'own', message: 'The NemoVideo access token is invalid or expired', description: /Create a new token/ },
		{ name: '2001 own token on HTTP 200', fault: { kind: 'appCode', code: 2001 }, credentialId: 'own', message: 'No NemoVideo credits left', description: /Top up credits/ },
		{ name: '2001 own token on HTTP 402', fault: { kind: 'appCode', code: 2001, httpStatus: 402 }, credentialId: 'own', message: 'No NemoVideo credits left', description: /Top up credits/ },
		{ name: '2001 anonymous on HTTP 200', fault: { kind: 'appCode', code: 2001 }, credentialId: 'anon', message: 'No NemoVideo credits left on the free anonymous token', description: /Register/ },
		{ name: '2001 anonymous on HTTP 402', fault: { kind: 'appCode', code: 2001, httpStatus: 402 }, credentialId: 'anon', message: 'No NemoVideo credits left on the free anonymous token', description: /Register/ },
		{ name: '2001 anonymous on HTTP 403', fault: { kind: 'appCode', code: 2001, httpStatus: 403 }, credentialId: 'anon', message: 'No NemoVideo credits left on the free anonymous token', description: /Register/ },
		{ name: '4001 on HTTP 200', fault: { kind: 'appCode', code: 4001 }, credentialId: 'own', message: 'NemoVideo does not accept this file type', description: /Accepted types: jpg, png, webp, heic, gif, mp4, mov, avi, webm, mkv, mp3, wav, m4a, aac\./ },
		{ name: '4001 on HTTP 400', fault: { kind: 'appCode', code: 4001, httpStatus: 400 }, credentialId: 'own', message: 'NemoVideo does not accept this file type', description: /Accepted types: jpg, png/ },
		{ name: '4001 on HTTP 415', fault: { kind: 'appCode', code: 4001, httpStatus: 415 }, credentialId: 'own', message: 'NemoVideo does not accept this file type', description: /Accepted types: jpg, png/ },
		{ name: '4002 on HTTP 200', fault: { kind: 'appCode', code: 4002 }, credentialId: 'own', message: 'File too large for NemoVideo', description: /200 MB a file/ },
		{ name: '4002 on HTTP 413', fault: { kind: 'appCode', code: 4002, httpStatus: 413 }, credentialId: 'own', message: 'File too large for NemoVideo', description: /200 MB a file/ },
		{ name: '402', fault: { kind: 'plan402' }, credentialId: 'own', message: 'Your NemoVideo plan does not allow export', description: /Register or upgrade your plan to unlock export/ },
	];

	test.each(rows)('$name', async ({ fault, credentialId, message, description }) => {
		const anon = credentialId === 'anon' ? await warmAnonymous() : undefined;
		emu.inject('credits', fault, 1);
		const result = await credits(credentialId);
		expect(result.error?.message).toEqual(message);
		if (description) expect(result.error?.description).toMatch(description);
		// App codes are final: no retry of the call, no token call.
		expect(emu.requestsTo('credits')).toHaveLength(1);
		expect(emu.requestsTo('token')).toHaveLength(0);
		if (anon && fault.kind === 'appCode' && fault.code === 2001) {
			expect(result.error?.description).toContain(`https://nemovideo.com/register?bind=${anon.userId}`);
		}
	});

	test.each([200, 404])('1002 on HTTP %i: "session not found", a typed error that says to start a new session', async (httpStatus) => {
		emu.inject('state', { kind: 'appCode', code: 1002, httpStatus }, 1);
		const result = await getState('own', '5000000000000000001');
		expect(result.error?.message).toBe('NemoVideo session not found');
		expect(result.error?.description).toMatch(/Leave "Session ID" empty to start a new session/);
		expect(emu.requestsTo('state')).toHaveLength(1);
	});

	test('1002 is a NemoVideoApiError of kind sessionNotFound (callers start a new session on it)', async () => {
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: emu.baseUrl, accessToken: OWN }));
		const error = await state(client, '5999999999999999999').catch((caught: unknown) => caught);
		expect(error).toBeInstanceOf(NemoVideoApiError);
		expect((error as NemoVideoApiError).kind).toBe('sessionNotFound');
		expect((error as NemoVideoApiError).appCode).toBe(1002);
		seen.error(error);
	});

	test('402 says "plan", never "credits"', async () => {
		emu.inject('credits', { kind: 'plan402' }, 1);
		const result = await credits('own');
		const words = `${result.error?.message} ${result.error?.description}`;
		expect(words).toMatch(/plan/);
		expect(words).not.toMatch(/credits?\b/i);
		expect(words).not.toMatch(/top up/i);
		expect(`${result.error?.description}`).toMatch(/not your balance/);
	});

	test('400 missing X-Client-Id with an own token: one is generated and the call retried once', async () => {
		emu.inject('credits', { kind: 'missingClientId400' }, 1);
		const result = await credits('own');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.available).toBe(4321);
		const [first, second] = emu.requestsTo('credits');
		expect(emu.requestsTo('credits')).toHaveLength(2);
		expect(first.headers['x-client-id']).toBeUndefined();
		expect(second.headers['x-client-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
	});

	test('400 missing X-Client-Id twice: a clear error after one retry', async () => {
		emu.inject('credits', { kind: 'missingClientId400' }, 2);
		const result = await credits('own');
		expect(result.error?.message).toBe('NemoVideo refused the request: missing client id');
		expect(emu.requestsTo('credits')).toHaveLength(2);
	});

	test('400 on the anonymous token call: a client id is generated, the token fetched and kept with it', async () => {
		emu.inject('token', { kind: 'missingClientId400' }, 1);
		const result = await credits('anon');
		expect(result.error).toBeUndefined();
		const calls = emu.requestsTo('token');
		expect(calls.map((request) => request.status)).toEqual([400, 200]);
		const [issued] = emu.issuedTokens();
		expect(calls[1].headers['x-client-id']).toBe(issued.clientId);
		expect(harness.credentials.get('anon').clientId).toBe(issued.clientId);
		expect(harness.credentials.get('anon').sessionToken).toBe(issued.token);
	});
});

describe('429', () => {
	test('with Retry-After: 1 is retried once, after about a second', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const started = Date.now();
		const result = await credits('own');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.available).toBe(4321);
		const calls = emu.requestsTo('credits');
		expect(calls).toHaveLength(2);
		expect(calls.map((request) => request.status)).toEqual([429, 200]);
		expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(950);
		expect(calls[1].at - calls[0].at).toBeLessThan(2500);
		expect(Date.now() - started).toBeGreaterThanOrEqual(950);
	});

	test('a second 429 fails with a clear message, after exactly one retry', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 1 }, 2);
		const result = await credits('own');
		expect(result.error?.message).toBe('NemoVideo rate limit: the request was refused twice');
		expect(result.error?.description).toMatch(/HTTP 429/);
		expect(result.error?.description).toMatch(/waited 1 s and retried once/);
		expect(emu.requestsTo('credits')).toHaveLength(2);
	});

	test('a POST refused with 429 is sent again: the answer proves it was not done', async () => {
		emu.inject('session', { kind: 'rateLimit', retryAfterSeconds: 0 }, 1);
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: emu.baseUrl, accessToken: OWN }));
		const { sessionId } = await createSession(client);
		expect(sessionId).toMatch(/^\d{19}$/);
		expect(emu.requestsTo('session').map((request) => request.status)).toEqual([429, 200]);
	});

	test('a 429 whose wait outlasts the call\'s deadline is not waited, and the error says why', async () => {
		// An emulator of its own: the 429 holds its origin's gate for the other tests' requests too.
		const own = new NemoVideoEmulator();
		await own.start();
		try {
			own.addToken(OWN, { credits: 10, anonymous: false });
			own.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 5 }, 1);
			const client = new NemoVideoClient(ownTokenContext({ baseUrl: own.baseUrl, accessToken: OWN }));
			const error = (await balanceCall(client, { deadline: Date.now() + 2_000 }).catch((caught: unknown) => caught)) as NemoVideoApiError;
			expect(error.message).toBe('NemoVideo rate limit: the service asked to wait 5 s');
			expect(error.description).toContain('longer than this call had left, so it did not retry');
			expect(own.requestsTo('credits')).toHaveLength(1);
			seen.error(error);
		} finally {
			await own.stop();
		}
	});

	test('Retry-After as seconds or an HTTP date', () => {
		const now = Date.parse('2030-01-01T00:00:00Z');
		expect(parseRetryAfter('1', now)).toBe(1000);
		expect(parseRetryAfter('0', now)).toBe(0);
		expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:05 GMT', now)).toBe(5000);
		expect(parseRetryAfter(undefined, now)).toBeUndefined();
		expect(parseRetryAfter('soon', now)).toBeUndefined();
	});
});

describe('5xx, broken connections and broken answers', () => {
	test('a 5xx on a GET is retried twice, then mapped', async () => {
		emu.inject('credits', { kind: 'serverError', status: 500 }, 3);
		const result = await credits('own');
		expect(result.error?.message).toBe('NemoVideo service error (HTTP 500)');
		expect(result.error?.description).toMatch(/GET \/api\/credits\/balance\/simple/);
		expect(result.error?.description).toMatch(/try again/);
		expect(emu.requestsTo('credits').map((request) => request.status)).toEqual([500, 500, 500]);
	});

	test('a 5xx on a GET that passes on the second retry: the run succeeds', async () => {
		emu.inject('credits', { kind: 'serverError', status: 503 }, 2);
		const result = await credits('own');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.available).toBe(4321);
		expect(emu.requestsTo('credits').map((request) => request.status)).toEqual([503, 503, 200]);
	});

	test('a 5xx on a POST is never repeated: it may have taken effect', async () => {
		emu.inject('session', { kind: 'serverError', status: 502 }, 1);
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: emu.baseUrl, accessToken: OWN }));
		const error = await createSession(client).catch((caught: unknown) => caught);
		expect((error as Error).message).toBe('NemoVideo service error (HTTP 502)');
		expect(emu.requestsTo('session')).toHaveLength(1);
		seen.error(error);
	});

	test('a dropped connection on a GET is retried, then "could not reach"', async () => {
		emu.inject('credits', { kind: 'drop' }, 3);
		const result = await credits('own');
		expect(result.error?.message).toBe('Could not reach the NemoVideo service');
		expect(result.error?.description).toMatch(/Check the Base URL/);
		expect(emu.requestsTo('credits')).toHaveLength(3);
	});

	test('a dropped connection on a POST is not repeated', async () => {
		emu.inject('session', { kind: 'drop' }, 1);
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: emu.baseUrl, accessToken: OWN }));
		const error = await createSession(client).catch((caught: unknown) => caught);
		expect((error as Error).message).toBe('Could not reach the NemoVideo service');
		expect(emu.requestsTo('session')).toHaveLength(1);
		seen.error(error);
	});

	test('malformed JSON: "could not be read", not retried', async () => {
		emu.inject('credits', { kind: 'malformedJson' }, 1);
		const result = await credits('own');
		expect(result.error?.message).toBe('NemoVideo sent an answer that could not be read');
		expect(result.error?.description).toMatch(/not JSON/);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	});

	test('an HTML error page (a proxy\'s 502): a service error that says the answer was not JSON', async () => {
		emu.inject('credits', { kind: 'html' }, 3);
		const result = await credits('own');
		expect(result.error?.message).toBe('NemoVideo service error (HTTP 502)');
		expect(result.error?.description).toMatch(/not JSON/);
		expect(result.error?.description).not.toMatch(/<html|nginx/i);
		expect(emu.requestsTo('credits')).toHaveLength(3);
	});

	test('a huge body is refused from its Content-Length, quickly', async () => {
		emu.inject('credits', { kind: 'hugeBody', bytes: 64 * 1024 * 1024 }, 1);
		const started = Date.now();
		const result = await credits('own');
		expect(result.error?.message).toBe('NemoVideo sent an answer that could not be read');
		expect(result.error?.description).toMatch(/larger than 32 MB/);
		expect(Date.now() - started).toBeLessThan(3000);
	});

	test('a body shorter than its Content-Length ends in a clear error, not a hang', async () => {
		emu.inject('credits', { kind: 'lyingContentLength' }, 3);
		const started = Date.now();
		const result = await credits('own');
		expect(result.error?.message).toMatch(/^(Could not reach the NemoVideo service|NemoVideo sent an answer that could not be read)$/);
		expect(Date.now() - started).toBeLessThan(5000);
	});

	test('a slow answer within the timeout is waited for', async () => {
		emu.inject('credits', { kind: 'slow', delayMs: 700 }, 1);
		const started = Date.now();
		const result = await credits('own');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.available).toBe(4321);
		expect(Date.now() - started).toBeGreaterThanOrEqual(650);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	});

	test('an answer slower than the timeout is "did not answer in time"', async () => {
		emu.inject('credits', { kind: 'slow', delayMs: 3000 }, 1);
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: emu.baseUrl, accessToken: OWN }));
		const started = Date.now();
		const error = await client
			.call({ method: 'GET', path: '/api/credits/balance/simple', headersTimeoutMs: 300, idempotent: false })
			.catch((caught: unknown) => caught);
		expect((error as Error).message).toBe('NemoVideo did not answer in time');
		expect((error as NemoVideoApiError).kind).toBe('timeout');
		expect(Date.now() - started).toBeLessThan(1500);
		seen.error(error);
	});
});

describe('the anonymous token', () => {
	test('is fetched once and reused across two separate executions; the credential keeps it', async () => {
		const first = await credits('anon');
		const second = await credits('anon', { input: [{ json: {} }, { json: {} }, { json: {} }] });
		expect(first.error).toBeUndefined();
		expect(second.error).toBeUndefined();
		expect(second.output()).toHaveLength(3);

		const issued = emu.issuedTokens();
		expect(issued).toHaveLength(1);
		expect(emu.requestsTo('token')).toHaveLength(1);
		const { token, clientId, userId } = issued[0];
		const stored = harness.credentials.get('anon');
		expect(stored).toMatchObject({ sessionToken: token, clientId, anonymousUserId: userId });
		// No Client ID set: one derived from the instance's key (a version-8 UUID), made once and kept with the token
		// (test/token.test.ts).
		expect(clientId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(Date.parse(String(stored.tokenExpiresAt))).toBeGreaterThan(Date.now() + 6 * 24 * 3600 * 1000);
		// n8n persisted it once (the preAuthentication write), not once per execution.
		expect(harness.credentials.writes.filter((write) => write.id === 'anon')).toHaveLength(1);

		const authorizations = emu.requestsTo('credits').map((request) => request.headers.authorization);
		expect(authorizations.length).toBeGreaterThanOrEqual(5);
		expect(new Set(authorizations)).toEqual(new Set([`Bearer ${token}`]));
		// The token call itself carried the client id that the credential now keeps.
		expect(emu.requestsTo('token')[0].headers['x-client-id']).toBe(clientId);
	});

	test('a Client ID set in the credential is the one the token is fetched for', async () => {
		harness.credentials.set('anon', { baseUrl: emu.baseUrl, clientId: 'my-own-client-id-42' });
		expect((await credits('anon')).error).toBeUndefined();
		expect(emu.issuedTokens()[0].clientId).toBe('my-own-client-id-42');
		expect(harness.credentials.get('anon').clientId).toBe('my-own-client-id-42');
	});

	test.each([200, 401] as const)('1001 on HTTP %i: renewed with the SAME client id, the call replayed, the workflow succeeds', async (status) => {
		const old = await warmAnonymous();
		emu.config.tokenExpiredHttpStatus = status;
		emu.expireToken(old.token);
		const result = await credits('anon');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.available).toBe(100);

		const issued = emu.issuedTokens();
		expect(issued).toHaveLength(2);
		expect(issued[1].clientId).toBe(old.clientId);
		expect(issued[1].userId).toBe(old.userId);
		expect(emu.requestsTo('token').map((request) => request.headers['x-client-id'])).toEqual([old.clientId]);
		const calls = emu.requestsTo('credits');
		expect(calls[0]).toMatchObject({ status, headers: expect.objectContaining({ authorization: `Bearer ${old.token}` }) });
		expect(calls[calls.length - 1]).toMatchObject({ status: 200, headers: expect.objectContaining({ authorization: `Bearer ${issued[1].token}` }) });
		expect(harness.credentials.get('anon')).toMatchObject({ sessionToken: issued[1].token, clientId: old.clientId });

		// The next execution uses the renewed token without fetching again.
		emu.requests = [];
		expect((await credits('anon')).error).toBeUndefined();
		expect(emu.requestsTo('token')).toHaveLength(0);
		expect(emu.requestsTo('credits')[0].headers.authorization).toBe(`Bearer ${issued[1].token}`);
	});

	test('a token rejected again right after renewal is a clear error, renewed only once', async () => {
		await warmAnonymous();
		// The service refuses every token on this route, even a fresh one; it still issues a new token on request.
		emu.config.oneTokenPerClient = false;
		// The node's call, the token check n8n makes while renewing, and the replay all answer 1001.
		emu.inject('credits', { kind: 'appCode', code: 1001 }, 3);
		const started = Date.now();
		const result = await credits('anon');
		expect(result.error?.message).toBe('The NemoVideo anonymous token expired and could not be renewed');
		expect(result.error?.description).toMatch(/set your own access token/);
		expect(emu.issuedTokens()).toHaveLength(2);
		expect(emu.requestsTo('token')).toHaveLength(1);
		expect(emu.requestsTo('credits')).toHaveLength(3);
		expect(Date.now() - started).toBeLessThan(2000);
	});

	test.each([200, 401] as const)('with the user\'s own token, 1001 on HTTP %i is "invalid or expired" and no token call', async (status) => {
		emu.config.tokenExpiredHttpStatus = status;
		emu.expireToken(OWN);
		const result = await credits('own');
		expect(result.error?.message).toBe('The NemoVideo access token is invalid or expired');
		expect(result.error?.description).toMatch(/paste it into the credential/);
		expect(emu.requestsTo('token')).toHaveLength(0);
		expect(emu.requestsTo('credits')).toHaveLength(1);
		expect(harness.credentials.get('own').sessionToken).toBe('');
	});
});

describe('cancellation', () => {
	test('cancelling during a slow answer ends the run at once', async () => {
		emu.inject('credits', { kind: 'slow', delayMs: 5000 }, 1);
		const started = Date.now();
		const handle = harness.start({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		await sleep(300);
		expect(emu.requestsTo('credits')).toHaveLength(1);
		const cancelledAt = Date.now();
		handle.cancel();
		const result = seen.run(await handle.done);
		expect(Date.now() - cancelledAt).toBeLessThan(1000);
		expect(Date.now() - started).toBeLessThan(2000);
		expect(result.output()).toHaveLength(0);
		// Not retried after the cancel.
		await sleep(200);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	});

	test('cancelling during the wait after a 429 ends the run at once', async () => {
		// Its own emulator: the 429's Retry-After holds every request to that origin, and this one is long.
		const other = new NemoVideoEmulator();
		await other.start();
		try {
			other.addToken(OWN, { credits: 10 });
			harness.credentials.set('other', { baseUrl: other.baseUrl, accessToken: OWN });
			other.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 20 }, 1);
			const started = Date.now();
			const handle = harness.start({ credentialId: 'other', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
			await sleep(300);
			expect(other.requestsTo('credits')).toHaveLength(1);
			handle.cancel();
			const result = seen.run(await handle.done);
			expect(Date.now() - started).toBeLessThan(2000);
			expect(result.output()).toHaveLength(0);
			expect(other.requestsTo('credits')).toHaveLength(1);
		} finally {
			await other.stop();
		}
	});
});

// Last in the file on purpose: it reads what every test above showed.
test('no token text in any error message, description, error object or output item of this file', () => {
	expect(seen.texts.length).toBeGreaterThan(50);
	expect(USED_TOKENS.size).toBeGreaterThan(3);
	expect(seen.leaks(USED_TOKENS)).toEqual([]);
});
