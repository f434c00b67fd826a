/**
 * Work the service charged for (issue 16 §1, §2, §5), through n8n-core's real engine against the emulator: a
 * failure after the AI message was taken names the session and says how to finish without paying again, never
 * "try again"; a render start that failed is retried by its id, so one failure does not end a charged job and no
 * render runs twice; n8n's own Retry On Fail does not send the message again; Generate's items charged before a
 * failure are named; and a bounded tool call gives every request only the time left and starts no charged step
 * once its bound has passed.
 */
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import type { Harness } from './harness';
import { callTool } from './harness/tool-call';
import { SeenText, sessionWithDraft } from './helpers';

const TOKEN = 'nmv_usr_own_charged_work_subject_token';
const PHOTO_URLS = [1, 2, 3].map((n) => `https://photos.example.com/trip/photo-${n}.jpg`);
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1, download: false };
const photoToVideo = (parameters: Record<string, unknown> = {}) => ({
	type: 'nemoVideoPhotoToVideo',
	name: 'Photo to Video',
	parameters: { source: 'url', urls: PHOTO_URLS.join('\n'), ...fast, ...parameters },
});
const fromAI = (key: string) => `={{ $fromAI('${key}', '${key}', 'string') }}`;
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
afterAll(() => expect(seen.leaks([TOKEN])).toEqual([]));

/** The messages this file's tests send (sessionWithDraft's own first message is not one of them). */
const editMessages = () => emu.requestsTo('sse').filter((request) => String(JSON.stringify(request.json)).includes('make it 9:16'));

function charged() {
	return {
		sessions: emu.requestsTo('session').length,
		messages: emu.requestsTo('sse').length,
		renders: emu.renders.size,
	};
}

describe('a render start that fails is retried by its id (issue 16 §1)', () => {
	test('a 500 before the start was taken: started again under the same id; one session, one message, one render', async () => {
		emu.inject('renderStart', { kind: 'serverError', status: 500 });
		const run = seen.run(await harness.run({ nodes: [photoToVideo()] }));
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.status).toBe('completed');
		// The refused start, then a look for the render by its id (not found), then the start again under that id.
		const steps = emu.requests.filter((request) => request.route === 'renderStart' || request.route === 'renderPoll');
		expect(steps.slice(0, 3).map((request) => [request.route, request.status])).toEqual([
			['renderStart', 500],
			['renderPoll', 404],
			['renderStart', 200],
		]);
		expect(steps[2].renderId).toBe(steps[1].renderId);
		expect(charged()).toEqual({ sessions: 1, messages: 1, renders: 1 });
	});

	test('a start taken but answered 502 (or dropped): found by its id, not started twice', async () => {
		for (const fault of [{ kind: 'answerLost' as const, status: 502 }, { kind: 'answerLost' as const }]) {
			emu.reset();
			emu.addToken(TOKEN, { credits: 100_000, anonymous: false });
			emu.inject('renderStart', fault);
			const run = seen.run(await harness.run({ nodes: [photoToVideo()] }));
			expect(run.error).toBeUndefined();
			expect(run.output()[0].json.status).toBe('completed');
			expect(emu.requestsTo('renderStart')).toHaveLength(1);
			expect(charged()).toEqual({ sessions: 1, messages: 1, renders: 1 });
		}
	});
	test('a start taken whose answer is lost, and the look for it fails too: the error names the render, which is not started again', async () => {
		emu.inject('renderStart', { kind: 'answerLost' });
		emu.inject('renderPoll', { kind: 'serverError', status: 503 }, 3);
		const run = seen.run(await harness.run({ nodes: [{ ...photoToVideo(), continueOnFail: true }] }));
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		const [render] = [...emu.renders.values()];
		expect(item.json).toMatchObject({ renderId: render.id, sessionId: render.sessionId, charged: true });
		expect(String(item.json.errorDescription)).toContain(`"Resume Render ID" ${render.id} picks it up`);
		expect(charged()).toEqual({ sessions: 1, messages: 1, renders: 1 });
		emu.clearFaults();
		const resumed = seen.run(
			await harness.run({ input: [item], nodes: [{ type: 'nemoVideoExport', parameters: { ...fast, options: { renderId: '={{ $json.renderId }}' } } }] }),
		);
		expect(resumed.output()[0].json).toMatchObject({ renderId: render.id, status: 'completed' });
		expect(emu.renders.size).toBe(1);
	});
});

describe('a failure after the message was taken (issue 16 §1)', () => {
	test('Generate: the state read after the answer fails three times; the error says the message was taken and names the session', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		// The state is read once before the message (not charged), then after the answer: that read fails.
		emu.inject('state', { kind: 'serverError', status: 503 }, 3, 1);
		const run = seen.run(await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'make it 9:16' } }] }));
		expect(run.error?.message).toBe('NemoVideo service error (HTTP 503)');
		expect(run.error?.description).toContain(`The AI message was already taken in session ${sessionId}`);
		expect(run.error?.description).toContain('Export & Wait');
		expect(run.error?.description).not.toMatch(/try again|Retry On Fail/i);
		expect(run.error?.context?.nemoVideo).toMatchObject({ sessionId, charged: true });
		expect(editMessages()).toHaveLength(1);
	});

	test('as an AI tool the same failure is not retryable and the agent reads the session id', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		emu.inject('state', { kind: 'serverError', status: 503 }, 3, 1);
		const result = await callTool(harness, {
			type: 'nemoVideoGenerate',
			parameters: { sessionId: fromAI('sessionId'), prompt: fromAI('prompt') },
			args: { sessionId, prompt: 'make it 9:16' },
		});
		expect(result.isError).toBe(true);
		expect(result.text).toContain(`session ${sessionId}`);
		expect(result.text).toContain('Retrying the same call will not help.');
		expect(editMessages()).toHaveLength(1);
	});

	test("n8n's Retry On Fail after a charged failure renders from the same session: the message is not sent again", async () => {
		emu.config.renderFailTimes = 2;
		const run = seen.run(
			await harness.run({ nodes: [{ ...photoToVideo(), retryOnFail: true, maxTries: 2, waitBetweenTries: 0 }] }),
		);
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(item.json.status).toBe('completed');
		expect(String(item.json.summary)).toMatch(/not sent again/);
		expect(charged()).toEqual({ sessions: 1, messages: 1, renders: 3 });
	});

	test("Generate under Retry On Fail: a later item's failure does not send the earlier item's message again", async () => {
		const first = await sessionWithDraft(emu.baseUrl, TOKEN);
		const second = await sessionWithDraft(emu.baseUrl, TOKEN);
		// Item 1's message is refused for credits on every try; item 0's was taken on the first.
		const setUp = emu.requestsTo('sse').length;
		emu.inject('sse', { kind: 'appCode', code: 2001 }, 5, 1);
		const run = seen.run(
			await harness.run({
				input: [{ json: { sessionId: first } }, { json: { sessionId: second } }],
				nodes: [{ type: 'nemoVideoGenerate', parameters: { prompt: 'make it 9:16' }, retryOnFail: true, maxTries: 3, waitBetweenTries: 0 }],
			}),
		);
		expect(run.error?.message).toMatch(/credits/i);
		// Three tries: item 0's message once, item 1's (refused) three times; item 0's again would make it 6.
		expect(emu.requestsTo('sse').length - setUp).toBe(4);
		expect(emu.requestsTo('sse')[setUp].sessionId).toBe(first);
		expect(run.error?.description).toContain(`item 0: session ${first} (its AI message was taken)`);
	});
	test('two alike items are two videos: a charged failure of the first is not taken for the second\'s earlier try', async () => {
		emu.config.renderFailTimes = 2;
		const url = PHOTO_URLS[0];
		const run = seen.run(
			await harness.run({
				input: [{ json: { url } }, { json: { url } }],
				nodes: [
					{
						...photoToVideo({ grouping: 'perItem', urls: '={{ $json.url }}', options: { concurrency: 1 } }),
						continueOnFail: true,
					},
				],
			}),
		);
		const [first, second] = run.output();
		expect(first.json.charged).toBe(true);
		expect(second.json.status).toBe('completed');
		expect(second.json.sessionId).not.toBe(first.json.sessionId);
		expect(charged()).toMatchObject({ sessions: 2, messages: 2 });
	});
});

describe("Generate's charged items are named when a later item fails (issue 16 §2)", () => {
	test('the error names the session whose message was taken; under Continue On Fail it is output', async () => {
		const first = await sessionWithDraft(emu.baseUrl, TOKEN);
		const second = await sessionWithDraft(emu.baseUrl, TOKEN);
		const input = [{ json: { sessionId: first } }, { json: { sessionId: second } }];
		emu.inject('sse', { kind: 'appCode', code: 2001 }, 1, 1);
		const failed = seen.run(await harness.run({ input, nodes: [{ type: 'nemoVideoGenerate', parameters: { prompt: 'make it 9:16' } }] }));
		expect(failed.error?.context?.itemIndex).toBe(1);
		expect(failed.error?.description).toContain(`These finished before the failure and are not lost: item 0: session ${first} (its AI message was taken)`);

		emu.inject('sse', { kind: 'appCode', code: 2001 }, 1, 1);
		const kept = seen.run(
			await harness.run({ input, nodes: [{ type: 'nemoVideoGenerate', parameters: { prompt: 'make it 9:16' }, continueOnFail: true }] }),
		);
		expect(kept.error).toBeUndefined();
		expect(kept.output().map((item) => [item.json.sessionId, Boolean(item.json.error)])).toEqual([
			[first, false],
			[undefined, true],
		]);
	});
});

describe('a bounded tool call ends within its bound (issue 16 §5)', () => {
	test('Export & Wait: a status request that hangs is given only the time left, not 30 s and two retries', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		emu.config.renderMs = 60_000;
		emu.inject('renderPoll', { kind: 'hold' }, 10);
		const started = Date.now();
		const result = await callTool(harness, {
			type: 'nemoVideoExport',
			parameters: { sessionId: fromAI('sessionId'), pollIntervalSeconds: 0.2, options: { toolTimeoutSeconds: 2 } },
			args: { sessionId },
		});
		// The bound (2 s) and the grace of the status check made at the deadline (5 s); 30 s per hung check before.
		expect(Date.now() - started).toBeLessThan(12_000);
		expect(result.items[0]).toMatchObject({ sessionId, status: 'pending' });
		expect(emu.renders.size).toBe(1);
	});

	test('Photo to Video: an upload that outlasts the bound ends at the bound, and no message is sent after it', async () => {
		emu.inject('upload', { kind: 'slow', delayMs: 6_000 });
		const started = Date.now();
		const result = await callTool(harness, {
			type: 'nemoVideoPhotoToVideo',
			parameters: { source: 'url', urls: fromAI('urls'), pollIntervalSeconds: 0.2, options: { toolTimeoutSeconds: 2 } },
			args: { urls: PHOTO_URLS.join('\n') },
		});
		expect(Date.now() - started).toBeLessThan(5_000);
		expect(result.isError).toBe(true);
		expect(result.text).toMatch(/did not answer in time/);
		expect(emu.requestsTo('sse')).toHaveLength(0);
	});
});
