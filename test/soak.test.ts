/**
 * Fault soak (issue 5): many Photo to Video items against the emulator with faults injected at random, from a
 * fixed seed so a failure can be replayed. Every item must end with an MP4 or a clear mapped error, nothing may
 * hang past its deadline, and the service must never get a message twice or a render twice for one item
 * (except the one documented retry after `failed`).
 *
 *   SOAK_SIZE=200 SOAK_SEED=7 npx jest test/soak.test.ts     # the full size, by hand
 */
import { join } from 'node:path';

import type { Fault, NemoVideoEmulator, Route } from './emulator';
import { withEmulator } from './fixtures';
import type { Harness } from './harness';
import { seededRandom } from './emulator/random';

const SIZE = Number(process.env.SOAK_SIZE ?? 40);
const SEED = Number(process.env.SOAK_SEED ?? 20261124);
/** The whole batch's bound: every item has its own deadlines, so the batch cannot take longer than this. */
const BOUND_MS = 120_000 + SIZE * 1_000;
const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));


let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator(
	{
		config: { renderMs: 150, sseEventDelayMs: 1, sseDropApplyDelayMs: 50, sseCost: 1, anonymousCredits: 1_000_000 },
		// Anonymous: a 1001 renews the token.
		credentials: { 'cred-1': {} },
	},
	(fixture) => ({ emu, harness } = fixture),
);

const FAULTS: Array<[Route | '*', Fault]> = [
	['*', { kind: 'rateLimit', retryAfterSeconds: 1 }],
	['*', { kind: 'slow', delayMs: 300 }],
	['state', { kind: 'appCode', code: 1001 }],
	['credits', { kind: 'appCode', code: 1001, httpStatus: 401 }],
	['renderPoll', { kind: 'appCode', code: 1001, httpStatus: 401 }],
	['state', { kind: 'serverError' }],
	['renderPoll', { kind: 'serverError', status: 503 }],
	['renderPoll', { kind: 'drop' }],
	['renderPoll', { kind: 'malformedJson' }],
	['upload', { kind: 'appCode', code: 1002 }],
	['session', { kind: 'serverError' }],
	['sse', { kind: 'sseDrop' }],
	['sse', { kind: 'drop' }],
	['cdn', { kind: 'serverError' }],
	['renderStart', { kind: 'rateLimit', retryAfterSeconds: 1 }],
	// Issue 16: a start refused with a 5xx, a start taken whose answer is lost, a status request that hangs, the
	// state read after a charged message failing, an upload whose connection is reset half-way.
	['renderStart', { kind: 'serverError', status: 500 }],
	['renderStart', { kind: 'answerLost', status: 502 }],
	['renderStart', { kind: 'answerLost' }],
	['renderPoll', { kind: 'hold' }],
	['state', { kind: 'serverError', status: 503 }],
	['upload', { kind: 'resetMidBody', afterBytes: 16 * 1024 }],
];

test(`soak: ${SIZE} items with random faults (seed ${SEED}) each end with an MP4 or a clear error`, async () => {
	const next = seededRandom(SEED);
	const injected: string[] = [];
	for (let n = 0; n < Math.ceil(SIZE * 0.6); n++) {
		const [route, fault] = FAULTS[Math.floor(next() * FAULTS.length)];
		emu.inject(route, fault, 1);
		injected.push(`${route}:${fault.kind}`);
	}
	emu.config.renderFailTimes = Math.max(1, Math.floor(SIZE / 20));

	const started = Date.now();
	const run = await harness.run({
		nodes: [
			{ type: 'test.readFiles', parameters: { paths: JSON.stringify(Array.from({ length: SIZE }, (_, i) => PHOTOS[i % PHOTOS.length])) } },
			{
				type: 'nemoVideoPhotoToVideo',
				continueOnFail: true,
				parameters: {
					grouping: 'perItem',
					pollIntervalSeconds: 0.1,
					timeoutMinutes: 0.5,
					options: {
						concurrency: 8,
						generationTimeoutMinutes: 0.2,
						dropRecoveryFirstWaitSeconds: 0.1,
						dropRecoveryIntervalSeconds: 0.1,
						dropRecoveryReads: 3,
					},
				},
			},
		],
	});
	const elapsed = Date.now() - started;
	expect(run.error).toBeUndefined();

	const out = run.output();
	expect(out).toHaveLength(SIZE);
	expect(out.map((item) => item.pairedItem)).toEqual(Array.from({ length: SIZE }, (_, item) => ({ item })));
	let videos = 0;
	const errors: string[] = [];
	for (const item of out) {
		if (item.json.error === undefined) {
			expect(item.json.status).toBe('completed');
			expect(item.binary?.data?.mimeType).toBe('video/mp4');
			videos++;
		} else {
			const message = String(item.json.error);
			// A clear, mapped error: words for a person, with what to do, not a stack trace or a raw exception.
			expect(message).not.toMatch(/TypeError|ReferenceError|undefined|\[object Object\]/);
			expect(String(item.json.errorDescription ?? '').length).toBeGreaterThan(20);
			errors.push(message);
		}
	}

	// Never a message sent twice to one session, never a render started twice except the retry after `failed`.
	// (A request dropped before its body was read names no session, so the total is checked too: one per item at most.)
	const sse = emu.requestsTo('sse');
	expect(sse.length).toBeLessThanOrEqual(SIZE);
	const messagesPerSession = new Map<string, number>();
	for (const request of sse) {
		const sessionId = (request.json as { session_id?: string } | undefined)?.session_id;
		if (sessionId) messagesPerSession.set(sessionId, (messagesPerSession.get(sessionId) ?? 0) + 1);
	}
	expect([...messagesPerSession.values()].every((count) => count === 1)).toBe(true);
	for (const sessionId of messagesPerSession.keys()) expect(emu.session(sessionId)!.messages.length).toBeLessThanOrEqual(1);
	// The renders the service really has, by session (a start whose answer was lost is one of them too).
	const rendersBySession = new Map<string, string[]>();
	for (const render of emu.renders.values()) rendersBySession.set(render.sessionId, [...(rendersBySession.get(render.sessionId) ?? []), render.id]);
	for (const ids of rendersBySession.values()) {
		expect(ids.length).toBeLessThanOrEqual(2);
		if (ids.length === 2) expect(emu.render(ids[0])!.status).toBe('failed');
	}
	// No started item is discarded: every session that got a message, and every render that completed, is in an
	// output item (the video, or the error item that names it so it can be resumed instead of paid for again).
	const outputSessions = new Set(out.map((item) => String(item.json.sessionId ?? '')));
	const outputRenders = new Set(out.flatMap((item) => [item.json.renderId, ...((item.json.failedRenderIds as string[] | undefined) ?? [])].map(String)));
	expect([...messagesPerSession.keys()].filter((sessionId) => !outputSessions.has(sessionId))).toEqual([]);
	const completed = [...rendersBySession.values()].flat().filter((id) => emu.render(id)?.status === 'completed');
	expect(completed.filter((id) => !outputRenders.has(id))).toEqual([]);
	// Every error after a charged message says so and names its session: it can be finished, not paid for again.
	for (const item of out.filter((entry) => entry.json.charged === true)) {
		expect(String(item.json.errorDescription)).toContain(`session ${String(item.json.sessionId)}`);
		expect(String(item.json.errorDescription)).not.toMatch(/try again in a minute|Retry On Fail/);
	}
	console.info(`soak ${SIZE} items, seed ${SEED}: ${videos} videos, ${errors.length} errors, ${injected.length} faults, ${sse.length} messages (${messagesPerSession.size} sessions, each once), ${emu.renders.size} renders, ${completed.length} completed and output, ${(elapsed / 1000).toFixed(0)} s`);
	// One anonymous token at first, renewed only after a 1001.
	expect(emu.issuedTokens().length).toBeLessThanOrEqual(1 + emu.requests.filter((r) => r.fault === 'appCode').length);
	expect(elapsed).toBeLessThan(BOUND_MS);
	expect(videos).toBeGreaterThan(SIZE / 2);

	const summary = { size: SIZE, seed: SEED, videos, errors: errors.length, faultsInjected: injected.length, elapsedMs: elapsed };
	process.stdout.write(`soak ${JSON.stringify(summary)}\n${[...new Set(errors)].map((e) => `  error: ${e}`).join('\n')}\n`);
}, BOUND_MS + 60_000);
