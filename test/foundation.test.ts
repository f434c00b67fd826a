/**
 * Issue 2: the transport's rules and the Credits and Get State nodes, through n8n-core's engine, over real HTTP
 * to the emulator.
 */
import { join } from 'node:path';

import { readEnvelope } from '../nodes/shared/transport/envelope';
import { NemoVideoEmulator } from './emulator';
import type { Fault, Route } from './emulator';
import { Harness } from './harness';

const OWN = 'nmv_usr_own_foundation_token';
const PHOTO = join(__dirname, 'emulator', 'fixtures', 'photos', 'photo-1.jpg');
const ATTRIBUTION = { 'x-skill-source': 'n8n-nodes-nemovideo', 'x-skill-platform': 'n8n' };

let emu: NemoVideoEmulator;
let harness: Harness;

beforeAll(async () => {
	emu = new NemoVideoEmulator({ renderMs: 200, sseEventDelayMs: 1 });
	await emu.start();
});
afterAll(async () => await emu.stop());
beforeEach(() => {
	emu.reset();
	emu.addToken(OWN, { credits: 5000, anonymous: false });
	harness = new Harness();
	harness.credentials.set('own', { baseUrl: emu.baseUrl, accessToken: OWN });
	harness.credentials.set('anon', { baseUrl: emu.baseUrl });
});

const credits = (credentialId = 'own', parameters: Record<string, unknown> = {}, extra: object = {}) =>
	harness.run({ credentialId, nodes: [{ type: 'nemoVideoCredits', parameters, ...extra }] });

function allText(run: Awaited<ReturnType<typeof credits>>): string {
	return JSON.stringify({ out: run.output().map((item) => item.json), message: run.error?.message, description: run.error?.description });
}

describe('every request', () => {
	test('carries the bearer token and the three attribution headers', async () => {
		await credits('anon');
		await harness.run({
			credentialId: 'anon',
			nodes: [
				{ type: 'test.readFiles', parameters: { paths: JSON.stringify([PHOTO]) } },
				{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
				{ type: 'nemoVideoGetState', parameters: {} },
			],
		});
		const api = emu.requests.filter((request) => request.route !== 'cdn');
		expect(api.length).toBeGreaterThanOrEqual(5);
		for (const request of api) {
			expect(request.headers).toMatchObject(ATTRIBUTION);
			expect(request.headers['x-skill-version']).toMatch(/^\d+\.\d+\.\d+/);
			if (request.route !== 'token') expect(request.headers.authorization).toMatch(/^Bearer nmv_usr_/);
		}
	});
});

describe('the anonymous token', () => {
	test('is fetched once, stored in the credential, and reused by a second execution', async () => {
		const first = await credits('anon');
		const second = await credits('anon');
		expect(first.error).toBeUndefined();
		expect(second.error).toBeUndefined();
		expect(emu.issuedTokens()).toHaveLength(1);
		const { token, clientId } = emu.issuedTokens()[0];
		const stored = harness.credentials.get('anon');
		expect(stored.sessionToken).toBe(token);
		expect(stored.clientId).toBe(clientId);
		// No Client ID set: a random one (uuid v4), generated once and kept with the token (test/token.test.ts).
		expect(clientId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		const uses = emu.requestsTo('credits').map((request) => request.headers.authorization);
		expect(new Set(uses)).toEqual(new Set([`Bearer ${token}`]));
		expect(allText(first) + allText(second)).not.toContain(token);
	});

	test.each([200, 401] as const)('1001 on HTTP %i renews it with the same client id and the workflow succeeds', async (status) => {
		await credits('anon');
		const [{ token: old, clientId }] = emu.issuedTokens();
		emu.config.tokenExpiredHttpStatus = status;
		emu.expireToken(old);
		const run = await credits('anon');
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.available).toBeGreaterThan(0);
		const issued = emu.issuedTokens();
		expect(issued).toHaveLength(2);
		expect(issued[1].clientId).toBe(clientId);
		expect(harness.credentials.get('anon').sessionToken).toBe(issued[1].token);
		expect(emu.requestsTo('token').every((request) => request.headers['x-client-id'] === clientId)).toBe(true);
	});

	test('a 1001 on a user\'s own token is a clear error, with no token call', async () => {
		emu.expireToken(OWN);
		const run = await credits('own');
		expect(run.error?.message).toBe('The NemoVideo access token is invalid or expired');
		expect(emu.requestsTo('token')).toHaveLength(0);
		expect(allText(run)).not.toContain(OWN);
	});
});

describe('429', () => {
	test('with Retry-After: 1 is retried once after about a second', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const run = await credits();
		expect(run.error).toBeUndefined();
		const calls = emu.requestsTo('credits');
		expect(calls.map((request) => request.status)).toEqual([429, 200]);
		expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(950);
		expect(calls[1].at - calls[0].at).toBeLessThan(3000);
	});

	test('a second 429 fails with a clear message', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 1 }, 2);
		const run = await credits();
		expect(run.error?.message).toBe('NemoVideo rate limit: the request was refused twice');
		expect(run.error?.description).toMatch(/waited 1 s and retried once/);
		expect(emu.requestsTo('credits')).toHaveLength(2);
	});

	test('a Retry-After far in the future fails at once instead of parking the execution', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 3600 }, 1);
		const started = Date.now();
		const run = await credits();
		expect(run.error?.message).toMatch(/rate limit/);
		expect(Date.now() - started).toBeLessThan(2000);
	});
});

describe('each answer of the error table maps to its message', () => {
	interface Case {
		name: string;
		route: Route;
		fault: Fault;
		credentialId: string;
		message: RegExp;
		description?: RegExp;
	}
	const cases: Case[] = [
		{ name: '1001 own token', route: 'credits', fault: { kind: 'appCode', code: 1001 }, credentialId: 'own', message: /access token is invalid or expired/ },
		{ name: '1002', route: 'state', fault: { kind: 'appCode', code: 1002 }, credentialId: 'own', message: /session not found/, description: /Leave "Session ID" empty/ },
		{ name: '2001 own token', route: 'credits', fault: { kind: 'appCode', code: 2001 }, credentialId: 'own', message: /No NemoVideo credits left$/, description: /Top up credits/ },
		{ name: '2001 anonymous', route: 'credits', fault: { kind: 'appCode', code: 2001, httpStatus: 402 }, credentialId: 'anon', message: /free anonymous token/, description: /register\?bind=anon_/ },
		{ name: '4001', route: 'credits', fault: { kind: 'appCode', code: 4001, httpStatus: 400 }, credentialId: 'own', message: /does not accept this file type/, description: /jpg, png, webp, heic, gif, mp4/ },
		{ name: '4002', route: 'credits', fault: { kind: 'appCode', code: 4002 }, credentialId: 'own', message: /File too large/, description: /200 MB/ },
		{ name: '402', route: 'credits', fault: { kind: 'plan402' }, credentialId: 'own', message: /plan does not allow export/, description: /upgrade your plan/ },
		{ name: '5xx', route: 'credits', fault: { kind: 'serverError', status: 500 }, credentialId: 'own', message: /service error \(HTTP 500\)/ },
		{ name: 'dropped connection', route: 'credits', fault: { kind: 'drop' }, credentialId: 'own', message: /Could not reach the NemoVideo service/ },
		{ name: 'malformed JSON', route: 'credits', fault: { kind: 'malformedJson' }, credentialId: 'own', message: /could not be read/ },
	];

	test.each(cases)('$name', async ({ route, fault, credentialId, message, description }) => {
		emu.inject(route, fault, 3);
		const run =
			route === 'state'
				? await harness.run({ credentialId, nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: '5000000000000000001' } }] })
				: await credits(credentialId);
		expect(run.error?.message).toMatch(message);
		if (description) expect(run.error?.description).toMatch(description);
		expect(String(run.error?.description ?? '')).not.toMatch(/nmv_usr_/);
	});

	test('402 speaks of the plan, never of credits', async () => {
		emu.inject('credits', { kind: 'plan402' }, 1);
		const run = await credits();
		expect(`${run.error?.message} ${run.error?.description}`).toMatch(/plan/);
		expect(`${run.error?.message}`).not.toMatch(/credit/i);
		expect(`${run.error?.description}`).toMatch(/not your balance/);
	});

	test('HTTP 400 "missing X-Client-Id" is answered by adding one and retrying once', async () => {
		emu.inject('credits', { kind: 'missingClientId400' }, 1);
		const run = await credits();
		expect(run.error).toBeUndefined();
		const calls = emu.requestsTo('credits');
		expect(calls).toHaveLength(2);
		expect(calls[0].headers['x-client-id']).toBeUndefined();
		expect(calls[1].headers['x-client-id']).toMatch(/^[0-9a-f-]{36}$/);
	});

	test('a 5xx on a read is retried, then succeeds', async () => {
		emu.inject('credits', { kind: 'serverError', status: 503 }, 2);
		const run = await credits();
		expect(run.error).toBeUndefined();
		expect(emu.requestsTo('credits').map((request) => request.status)).toEqual([503, 503, 200]);
	});

	test('a slow answer within the timeout is waited for', async () => {
		emu.inject('credits', { kind: 'slow', delayMs: 800 }, 1);
		const run = await credits();
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.available).toBe(5000);
	});
});

describe('envelopes', () => {
	test('both shapes and every message field', () => {
		expect(readEnvelope(200, { code: 0, data: { a: 1 } })).toEqual({ ok: true, data: { a: 1 } });
		expect(readEnvelope(200, { success: true, data: { a: 1 } })).toEqual({ ok: true, data: { a: 1 } });
		expect(readEnvelope(200, { status: 'completed', progress: 100 })).toEqual({ ok: true, data: { status: 'completed', progress: 100 } });
		expect(readEnvelope(200, { code: 1002, message: 'm' })).toEqual({ ok: false, appCode: 1002, message: 'm' });
		expect(readEnvelope(200, { code: '2001', msg: 'no credits' })).toEqual({ ok: false, appCode: 2001, message: 'no credits' });
		expect(readEnvelope(401, { error: 'expired' })).toEqual({ ok: false, appCode: undefined, message: 'expired' });
		expect(readEnvelope(400, { code: 4001, detail: 'bad type' })).toEqual({ ok: false, appCode: 4001, message: 'bad type' });
		expect(readEnvelope(200, { success: false, error: { message: 'nested' } })).toEqual({ ok: false, appCode: undefined, message: 'nested' });
	});
});

describe('NemoVideo Credits', () => {
	test('outputs available, frozen and total, one item per input item, paired', async () => {
		const run = await harness.run({
			credentialId: 'own',
			input: [{ json: { sessionId: '5000000000000000009' } }, { json: {} }],
			nodes: [{ type: 'nemoVideoCredits', parameters: {} }],
		});
		expect(run.output().map((item) => item.json)).toEqual([
			{ available: 5000, frozen: 0, total: 5000, sessionId: '5000000000000000009' },
			{ available: 5000, frozen: 0, total: 5000 },
		]);
		expect(run.output().map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});

	test('Minimum Credits fails the item with a clear message; Continue On Fail makes it an error item', async () => {
		const failing = await credits('own', { minimumCredits: 6000 });
		expect(failing.error?.message).toBe('Only 5000 NemoVideo credits available, fewer than the minimum of 6000');
		expect(failing.error?.description).toMatch(/Top up/);

		const continued = await harness.run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }],
			nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: '={{ $itemIndex === 1 ? 6000 : 1 }}' }, continueOnFail: true }],
		});
		expect(continued.error).toBeUndefined();
		const out = continued.output();
		expect(out[0].json.available).toBe(5000);
		expect(out[1].json.error).toMatch(/fewer than the minimum of 6000/);
		expect(out[1].pairedItem).toEqual({ item: 1 });
	});
});

describe('NemoVideo Get State', () => {
	test('an empty session is not ready; after generation the timeline is decoded', async () => {
		const upload = await harness.run({
			credentialId: 'own',
			nodes: [
				{ type: 'test.readFiles', parameters: { paths: JSON.stringify([PHOTO, PHOTO.replace('photo-1', 'photo-2')]) } },
				{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
				{ type: 'nemoVideoGetState', name: 'Before', parameters: {} },
				{ type: 'nemoVideoGenerate', parameters: { prompt: 'a 10 seconds slideshow' } },
				{ type: 'nemoVideoGetState', name: 'After', parameters: { sessionId: '={{ $json.sessionId }}' } },
			],
		});
		expect(upload.error).toBeUndefined();
		const before = upload.output('Before')[0].json;
		expect(before.readyToExport).toBe(false);
		expect((before.timeline as { summary: string }).summary).toBe('The timeline is empty.');

		const after = upload.output('After')[0].json as {
			sessionId: string;
			draft: { t: Array<{ tt: number; sg: Array<{ d: number }> }> };
			readyToExport: boolean;
			timeline: { durationSeconds: number; tracks: Array<{ type: string; typeCode: number; segmentCount: number; durationSeconds: number }> };
		};
		expect(after.sessionId).toBe(upload.output('Before')[0].json.sessionId);
		expect(after.readyToExport).toBe(true);
		expect(after.draft.t.length).toBe(after.timeline.tracks.length);
		for (const [index, track] of after.timeline.tracks.entries()) {
			const raw = after.draft.t[index];
			expect(track.typeCode).toBe(raw.tt);
			expect(track.type).toBe({ 0: 'video', 1: 'audio', 7: 'text' }[raw.tt] ?? 'other');
			expect(track.segmentCount).toBe(raw.sg.length);
		}
		const video = after.timeline.tracks.find((track) => track.type === 'video')!;
		expect(video.segmentCount).toBe(2);
		expect(video.durationSeconds).toBe(after.draft.t[0].sg.reduce((total, segment) => total + segment.d, 0) / 1000);
		expect(after.timeline.durationSeconds).toBeGreaterThan(0);
	});

	test('an unknown session is a clear "session not found"', async () => {
		const run = await harness.run({ credentialId: 'own', nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: '5999999999999999999' } }] });
		expect(run.error?.message).toBe('NemoVideo session not found');
	});

	test('a Session ID expression that resolves to nothing names the field and what to do', async () => {
		const run = await harness.run({ credentialId: 'own', nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: '={{ $json.sessionId }}' } }] });
		expect(run.error?.message).toBe('Session ID is empty');
		expect(run.error?.description).toMatch(/Upload or Generate node/);
		expect(emu.requests).toHaveLength(0);
	});
});

test('cancelling the execution ends a slow request at once', async () => {
	emu.inject('credits', { kind: 'slow', delayMs: 5000 }, 1);
	const handle = harness.start({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
	await new Promise((resolve) => setTimeout(resolve, 300));
	const cancelledAt = Date.now();
	handle.cancel();
	await handle.done;
	expect(Date.now() - cancelledAt).toBeLessThan(1000);
});
