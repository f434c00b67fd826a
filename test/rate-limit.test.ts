/**
 * HTTP 429 (issue 9, points 5, 8 and 17): one rule for every call, the token call and the token keeper's check
 * call included (Retry-After, else 30 s; one retry; a Retry-After over the 120 s the node waits fails at once and
 * says so), and a 429 holds every request to that origin until its Retry-After has passed, except a 429 on the
 * anonymous token call (the weekly issuing quota), which holds only the token calls (issue 16). Through n8n-core
 * (the harness) against the emulator; the emulator's recorded request times are the evidence.
 */
import { join } from 'node:path';

import { tokenCallGate } from '../nodes/shared/transport/auth';
import { DEFAULT_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS, RateLimitGate, rateLimitRule } from '../nodes/shared/transport/wait';
import type { NemoVideoEmulator, RecordedRequest, Route } from './emulator';
import { sessionThroughNodes, withEmulator } from './fixtures';
import type { Harness, WorkflowRun } from './harness';
import { SeenText } from './helpers';

const OWN = 'nmv_usr_own_rate_limit_suite_0123456789';
const seen = new SeenText();
const BATCH = 'nmv_usr_own_rate_limit_batch_0123456789';
const PHOTOS = [1, 2].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const usedTokens = new Set<string>([OWN, BATCH]);

let emu: NemoVideoEmulator;
let harness: Harness;

// A new emulator (so a new origin) for each test: a 429's hold on one origin must not blur the next test's timings.
withEmulator(
	{
		perTest: true,
		config: { renderMs: 200, sseEventDelayMs: 1 },
		tokens: { [OWN]: { credits: 500 }, [BATCH]: { credits: 100_000 } },
		credentials: { anon: {}, own: { accessToken: OWN }, batch: { accessToken: BATCH } },
		usedTokens,
	},
	(fixture) => ({ emu, harness } = fixture),
);
afterAll(() => expect(seen.leaks(usedTokens)).toEqual([]));

async function credits(credentialId = 'anon'): Promise<WorkflowRun> {
	return seen.run(await harness.run({ credentialId, nodes: [{ type: 'nemoVideoCredits', parameters: {} }] }));
}

/** The request the emulator received right after the first 429. */
function afterFirst429(): { limited: RecordedRequest; next: RecordedRequest } {
	const index = emu.requests.findIndex((request) => request.status === 429);
	expect(index).toBeGreaterThanOrEqual(0);
	expect(emu.requests.length).toBeGreaterThan(index + 1);
	return { limited: emu.requests[index], next: emu.requests[index + 1] };
}

async function until(what: string, condition: () => boolean, boundMs = 5000): Promise<void> {
	const deadline = Date.now() + boundMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

describe('5. the token call follows the transport\'s rule', () => {
	test('the rule: Retry-After, else 30 s; over 120 s is not waited', () => {
		expect(DEFAULT_RETRY_AFTER_MS).toBe(30_000);
		expect(MAX_RETRY_AFTER_MS).toBe(120_000);
		expect(rateLimitRule(undefined)).toEqual({ waitMs: 30_000, waits: true });
		expect(rateLimitRule(1_000)).toEqual({ waitMs: 1_000, waits: true });
		expect(rateLimitRule(120_000)).toEqual({ waitMs: 120_000, waits: true });
		expect(rateLimitRule(3_600_000)).toEqual({ waitMs: 3_600_000, waits: false });
	});

	test('Retry-After: 3600 on the token call fails at once, naming the wait', async () => {
		emu.inject('token', { kind: 'rateLimit', retryAfterSeconds: 3600 }, 1);
		const started = Date.now();
		const run = await credits();
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(run.error?.message).toBe('NemoVideo rate limit: the service asked to wait 3600 s');
		expect(run.error?.description).toMatch(/POST \/api\/auth\/anonymous-token/);
		expect(run.error?.description).toMatch(/more than the 120 s this node waits/);
		expect(emu.requestsTo('token')).toHaveLength(1);
	}, 10_000);

	test('Retry-After: 3600 on a node\'s own call fails at once too, instead of parking the execution', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 3600 }, 1);
		const started = Date.now();
		const run = await credits('own');
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(run.error?.message).toBe('NemoVideo rate limit: the service asked to wait 3600 s');
		expect(run.error?.description).toMatch(/more than the 120 s this node waits/);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	}, 10_000);

	test('Retry-After: 1 on the token call: retried once, about a second later', async () => {
		emu.inject('token', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const run = await credits();
		expect(run.error).toBeUndefined();
		const calls = emu.requestsTo('token');
		expect(calls.map((request) => request.status)).toEqual([429, 200]);
		expect(calls[1].at - calls[0].at).toBeGreaterThanOrEqual(950);
		expect(calls[1].at - calls[0].at).toBeLessThan(2_500);
	}, 10_000);

	test('the token call refused twice: a clear error after one retry', async () => {
		emu.inject('token', { kind: 'rateLimit', retryAfterSeconds: 1 }, 2);
		const run = await credits();
		expect(run.error?.message).toBe('NemoVideo rate limit: the request was refused twice');
		expect(run.error?.description).toMatch(/waited 1 s and retried once/);
		expect(emu.requestsTo('token')).toHaveLength(2);
	}, 10_000);
});

describe('8. every 429 holds every request to that origin until its Retry-After', () => {
	test.each<[string, Route]>([
		['the token call', 'token'],
		["the token keeper's check call", 'credits'],
	])('Credits whose first request to %s gets 429, Retry-After: 1: the next request comes a second later', async (_name, route) => {
		emu.inject(route, { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const run = await credits();
		expect(run.error).toBeUndefined();
		const { limited, next } = afterFirst429();
		expect(limited.route).toBe(route);
		expect(next.at - limited.at).toBeGreaterThanOrEqual(950);
	}, 10_000);

	test('a 429 on the token call (the issuing quota) holds the next token call, not another credential\'s requests', async () => {
		emu.inject('token', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const anonymous = harness.start({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		const origin = new URL(emu.baseUrl).origin;
		// The node has read the 429 (the emulator records it as it answers, a moment before).
		await until('the 429 on the token call', () => RateLimitGate.heldFor(tokenCallGate(origin)) > 0);
		expect(RateLimitGate.heldFor(origin)).toBe(0);
		const own = await credits('own');
		seen.run(await anonymous.done);
		expect(own.error).toBeUndefined();
		const [limited, retried] = emu.requestsTo('token');
		const ownCall = emu.requests.find((request) => request.headers.authorization === `Bearer ${OWN}`)!;
		expect(ownCall.at - limited.at).toBeLessThan(950);
		expect(retried.at - limited.at).toBeGreaterThanOrEqual(950);
	}, 10_000);

	test('a 429 on a node\'s call holds the token call another execution then needs', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const own = harness.start({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		await until('the 429 on the node\'s call', () => RateLimitGate.heldFor(new URL(emu.baseUrl).origin) > 0);
		const anonymous = await credits('anon');
		seen.run(await own.done);
		expect(anonymous.error).toBeUndefined();
		const limited = emu.requestsTo('credits')[0];
		expect(emu.requestsTo('token')[0].at - limited.at).toBeGreaterThanOrEqual(950);
	}, 10_000);

	test('a 429 on a credential test\'s token call holds the next token call, and no own-token request', async () => {
		emu.inject('token', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const result = await harness.testCredential('anon');
		expect(result.status).toBe('Error');
		expect(result.message).toMatch(/429/);
		const own = await credits('own');
		expect(own.error).toBeUndefined();
		const anonymous = await credits('anon');
		expect(anonymous.error).toBeUndefined();
		const [limited, next] = emu.requestsTo('token');
		expect(limited.status).toBe(429);
		expect(next.at - limited.at).toBeGreaterThanOrEqual(950);
		const ownCall = emu.requests.find((request) => request.headers.authorization === `Bearer ${OWN}`)!;
		expect(ownCall.at - limited.at).toBeLessThan(950);
	}, 10_000);
});

describe('17. a Retry-After over the cap', () => {
	test('Retry-After: 300 fails at once and says what happened: refused once, asked to wait 300 s, over the 120 s the node waits', async () => {
		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 300 }, 1);
		const started = Date.now();
		const run = await credits('own');
		expect(Date.now() - started).toBeLessThan(2_000);
		expect(run.error?.message).toBe('NemoVideo rate limit: the service asked to wait 300 s');
		const description = String(run.error?.description);
		expect(description).toMatch(/refused GET \/api\/credits\/balance\/simple once with HTTP 429/);
		expect(description).toMatch(/asked to wait 300 s/);
		expect(description).toMatch(/more than the 120 s this node waits, so it did not retry/);
		expect(description).not.toMatch(/twice|retried once|waited 300 s/);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	});
});

describe('the batch shares one rate limit', () => {
	const readySession = async () => await sessionThroughNodes(harness, PHOTOS, { credentialId: 'batch' });

	test('a 429 on one item delays the others once instead of a burst of retries', async () => {
		const sessionId = await readySession();
		emu.inject('state', { kind: 'rateLimit', retryAfterSeconds: 1 }, 1);
		const run = seen.run(
			await harness.run({
				credentialId: 'batch',
				input: Array.from({ length: 6 }, () => ({ json: { sessionId } })),
				nodes: [{ type: 'nemoVideoExport', parameters: { pollIntervalSeconds: 0.2, timeoutMinutes: 1, download: false, options: { concurrency: 6 } } }],
			}),
		);
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
