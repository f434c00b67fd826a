/**
 * The NemoVideo Credits and NemoVideo Get State nodes, run by n8n-core's real WorkflowExecute (the harness) with
 * real parameters and expressions, against the emulator over HTTP: outputs, every input item, pairedItem,
 * Continue On Fail, the minimum-credits rule, the decoded timeline and readyToExport, and "session not found".
 */
import { NemoVideoCredits } from '../nodes/NemoVideoCredits/NemoVideoCredits.node';
import { NemoVideoGetState } from '../nodes/NemoVideoGetState/NemoVideoGetState.node';
import { decodeTimeline, isReadyToExport } from '../nodes/shared/timeline';
import type { Timeline } from '../nodes/shared/timeline';
import { NemoVideoEmulator } from './emulator';
import { Harness } from './harness';
import type { WorkflowRun } from './harness';
import { SeenText, sessionWithDraft } from './helpers';

const OWN = 'nmv_usr_own_credits_state_token_9876543210';
const OWN_USER = 'usr_credits_state';
const USED_TOKENS = new Set<string>([OWN]);
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

beforeAll(async () => {
	emu = new NemoVideoEmulator({ sseEventDelayMs: 1 });
	await emu.start();
});
afterAll(async () => await emu.stop());
beforeEach(() => {
	emu.reset();
	emu.addToken(OWN, { credits: 25000, anonymous: false, userId: OWN_USER });
	emu.account(OWN_USER).frozen = 40;
	harness = new Harness();
	harness.credentials.set('own', { baseUrl: emu.baseUrl, accessToken: OWN });
	harness.credentials.set('anon', { baseUrl: emu.baseUrl });
});
afterEach(() => {
	for (const { token } of emu.issuedTokens()) USED_TOKENS.add(token);
});

async function run(spec: Parameters<Harness['run']>[0]): Promise<WorkflowRun> {
	return seen.run(await harness.run(spec));
}

describe('both nodes', () => {
	test.each([
		['nemoVideoCredits', new NemoVideoCredits()],
		['nemoVideoGetState', new NemoVideoGetState()],
	])('%s: its interface name, the NemoVideo API credential, usable as a tool', (name, node) => {
		expect(node.description.name).toBe(name);
		expect(node.description.usableAsTool).toMatchObject({ replacements: { description: expect.stringMatching(/NemoVideo/) } });
		expect(node.description.credentials).toEqual([expect.objectContaining({ name: 'nemoVideoApi', required: true })]);
	});
});

describe('NemoVideo Credits', () => {
	test('outputs available, frozen and total', async () => {
		const result = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		expect(result.error).toBeUndefined();
		expect(result.output().map((item) => item.json)).toEqual([{ available: 25000, frozen: 40, total: 25040 }]);
		expect(emu.requestsTo('credits')).toHaveLength(1);
		expect(emu.requestsTo('credits')[0]).toMatchObject({ method: 'GET', path: '/api/credits/balance/simple', status: 200 });
	});

	test('with an anonymous credential: the free token\'s balance', async () => {
		const result = await run({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json).toEqual({ available: 100, frozen: 0, total: 100 });
	});

	test('several input items: one output per item, each paired with its input, sessionId passed on', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: { sessionId: '5000000000000000007' } }, { json: { other: 1 } }, { json: { sessionId: '5000000000000000008' } }],
			nodes: [{ type: 'nemoVideoCredits', parameters: {} }],
		});
		expect(result.error).toBeUndefined();
		expect(result.output().map((item) => item.json)).toEqual([
			{ available: 25000, frozen: 40, total: 25040, sessionId: '5000000000000000007' },
			{ available: 25000, frozen: 40, total: 25040 },
			{ available: 25000, frozen: 40, total: 25040, sessionId: '5000000000000000008' },
		]);
		expect(result.output().map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(emu.requestsTo('credits')).toHaveLength(3);
	});

	test('Minimum Credits: below it the item fails with a clear message; at it the item passes', async () => {
		const below = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: 25001 } }] });
		expect(below.error?.message).toBe('Only 25000 NemoVideo credits available, fewer than the minimum of 25001');
		expect(below.error?.description).toMatch(/Top up credits in your NemoVideo account, or lower "Minimum Credits"/);
		expect(below.output()).toHaveLength(0);

		const at = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: 25000 } }] });
		expect(at.error).toBeUndefined();
		expect(at.output()[0].json.available).toBe(25000);
	});

	test('Minimum Credits with an anonymous token: the message links to registration with ?bind=<user_id>', async () => {
		const result = await run({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: 500 } }] });
		const [{ userId }] = emu.issuedTokens();
		expect(result.error?.message).toBe('Only 100 NemoVideo credits available, fewer than the minimum of 500');
		expect(result.error?.description).toContain(`https://nemovideo.com/register?bind=${userId}`);
	});

	test('without Continue On Fail, the failing item stops the node and is named', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }, { json: {} }],
			nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: '={{ $itemIndex === 1 ? 99999 : 0 }}' } }],
		});
		expect(result.error?.message).toMatch(/fewer than the minimum of 99999/);
		expect(result.error?.context?.itemIndex).toBe(1);
		expect(result.output()).toHaveLength(0);
		// Item 2 was not asked for after item 1 failed.
		expect(emu.requestsTo('credits')).toHaveLength(2);
	});

	test('Continue On Fail: the failing item becomes an error item paired with its input; the others go on', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }, { json: {} }],
			nodes: [
				{ type: 'nemoVideoCredits', parameters: { minimumCredits: '={{ $itemIndex === 1 ? 99999 : 10 }}' }, continueOnFail: true },
			],
		});
		expect(result.error).toBeUndefined();
		const out = result.output();
		expect(out).toHaveLength(3);
		expect(out[0].json).toEqual({ available: 25000, frozen: 40, total: 25040 });
		expect(out[1].json).toEqual({
			error: 'Only 25000 NemoVideo credits available, fewer than the minimum of 99999',
			errorDescription: expect.stringMatching(/Top up/),
		});
		expect(out[2].json).toEqual({ available: 25000, frozen: 40, total: 25040 });
		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
	});

	test('Continue On Fail also turns an API error into an error item', async () => {
		emu.inject('credits', { kind: 'appCode', code: 2001 }, 1);
		const result = await run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }],
			nodes: [{ type: 'nemoVideoCredits', parameters: {}, continueOnFail: true }],
		});
		expect(result.error).toBeUndefined();
		const out = result.output();
		expect(out[0].json).toMatchObject({ error: 'No NemoVideo credits left', errorDescription: expect.stringMatching(/Top up credits/) });
		expect(out[0].pairedItem).toEqual({ item: 0 });
		expect(out[1].json).toEqual({ available: 25000, frozen: 40, total: 25040 });
		expect(out[1].pairedItem).toEqual({ item: 1 });
	});
});

describe('NemoVideo Get State', () => {
	const PROMPT = 'a 7.5 seconds slideshow titled "Beach Day"';

	test('an empty session: the raw empty draft, an empty timeline, not ready to export', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, OWN, { photos: 0 });
		const result = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId } }] });
		expect(result.error).toBeUndefined();
		const json = result.output()[0].json;
		expect(json.sessionId).toBe(sessionId);
		expect(json.draft).toEqual({ t: [] });
		expect(json.readyToExport).toBe(false);
		expect(json.timeline).toMatchObject({ trackCount: 0, tracks: [], durationSeconds: 0, summary: 'The timeline is empty.' });
	});

	test('after a generation: the raw draft and its decoded timeline (types, segment counts, seconds), ready to export', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, OWN, { photos: 2, prompt: PROMPT });
		const serverDraft = emu.session(sessionId)!.draft;
		expect(serverDraft.t.map((track) => track.tt)).toEqual([0, 1, 7]);

		const result = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId } }] });
		expect(result.error).toBeUndefined();
		const json = result.output()[0].json as Record<string, unknown> & { timeline: Timeline };
		expect(json.sessionId).toBe(sessionId);
		expect(typeof json.sessionId).toBe('string');
		expect(json.draft).toEqual(JSON.parse(JSON.stringify(serverDraft)));
		expect(json.readyToExport).toBe(true);
		expect(json.timeline.trackCount).toBe(3);
		expect(json.timeline.durationSeconds).toBe(7.5);
		expect(json.timeline.title).toBe('Beach Day');
		expect(
			json.timeline.tracks.map((track) => [track.type, track.typeCode, track.segmentCount, track.durationSeconds]),
		).toEqual([
			['video', 0, 2, 7.5],
			['audio', 1, 1, 7.5],
			['text', 7, 1, 3],
		]);
		expect(json.timeline.tracks[0].segments.map((segment) => segment.durationSeconds)).toEqual([3.75, 3.75]);
		expect(json.timeline.tracks[2].segments[0].metadata).toEqual({ text: 'Beach Day' });
		expect(json.timeline.summary).toMatch(/^7\.5 s timeline "Beach Day" with video: 2 segments, 7\.5 s; audio: 1 segment, 7\.5 s; text: 1 segment, 3 s\.$/);
		expect(json.canvasConfig).toEqual({ width: 1920, height: 1080, ratio: '16:9' });
		expect(json.videoInfos).toHaveLength(2);
	});

	test('Session ID from the expression ={{ $json.sessionId }}: one output per input item, each paired', async () => {
		const empty = await sessionWithDraft(emu.baseUrl, OWN, { photos: 0 });
		const full = await sessionWithDraft(emu.baseUrl, OWN, { photos: 3, prompt: 'a 9 seconds slideshow' });
		emu.requests = [];
		const result = await run({
			credentialId: 'own',
			input: [{ json: { sessionId: full } }, { json: { sessionId: empty } }],
			nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: '={{ $json.sessionId }}' } }],
		});
		expect(result.error).toBeUndefined();
		const out = result.output();
		expect(out.map((item) => [item.json.sessionId, item.json.readyToExport])).toEqual([
			[full, true],
			[empty, false],
		]);
		expect((out[0].json.timeline as { tracks: Array<{ segmentCount: number }> }).tracks[0].segmentCount).toBe(3);
		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		// The long digit ids went to the service as they are, never through a number.
		expect(emu.requestsTo('state').map((request) => request.path)).toEqual([
			`/api/state/nemo_agent/me/${full}/latest`,
			`/api/state/nemo_agent/me/${empty}/latest`,
		]);
	});

	test('an unknown session: a clear "session not found" error (1002)', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: { sessionId: '5999999999999999999' } }],
			nodes: [{ type: 'nemoVideoGetState', parameters: {} }],
		});
		expect(result.error?.message).toBe('NemoVideo session not found');
		expect(result.error?.description).toMatch(/Leave "Session ID" empty to start a new session/);
		expect(emu.requestsTo('state')[0].status).toBe(200);
	});

	test('a session of another user is "session not found" too (1002 from the service)', async () => {
		const theirs = await sessionWithDraft(emu.baseUrl, OWN, { photos: 0 });
		const result = await run({ credentialId: 'anon', nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: theirs } }] });
		expect(result.error?.message).toBe('NemoVideo session not found');
	});

	test('Continue On Fail: the unknown session becomes an error item paired with its input; the other is read', async () => {
		const known = await sessionWithDraft(emu.baseUrl, OWN, { photos: 1, prompt: 'a slideshow' });
		const result = await run({
			credentialId: 'own',
			input: [{ json: { sessionId: '5999999999999999998' } }, { json: { sessionId: known } }],
			nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: '={{ $json.sessionId }}' }, continueOnFail: true }],
		});
		expect(result.error).toBeUndefined();
		const out = result.output();
		expect(out[0].json).toMatchObject({ error: 'NemoVideo session not found' });
		expect(out[0].pairedItem).toEqual({ item: 0 });
		expect(out[1].json).toMatchObject({ sessionId: known, readyToExport: true });
		expect(out[1].pairedItem).toEqual({ item: 1 });
	});
});

describe('the timeline decoder', () => {
	test('track types from tt 0/1/7 (anything else "other"), seconds from ms, track d over the segment sum', () => {
		const timeline = decodeTimeline({
			t: [
				{ tt: 0, sg: [{ d: 1500, m: { name: 'a.jpg' } }, { d: 2250 }] },
				{ tt: 1, d: 10000, sg: [{ d: 4000 }] },
				{ tt: 7, sg: [] },
				{ tt: 3, sg: [{ d: 1 }] },
				{ sg: 'not a list' },
			],
			m: { title: 'T' },
		});
		expect(timeline.tracks.map((track) => [track.type, track.typeCode, track.segmentCount, track.durationSeconds])).toEqual([
			['video', 0, 2, 3.75],
			['audio', 1, 1, 10],
			['text', 7, 0, 0],
			['other', 3, 1, 0.001],
			['other', null, 0, 0],
		]);
		expect(timeline.tracks[0].segments[0]).toEqual({ index: 0, durationSeconds: 1.5, metadata: { name: 'a.jpg' } });
		expect(timeline.durationSeconds).toBe(10);
		expect(timeline.title).toBe('T');
	});

	test('readyToExport: some track with a non-empty sg', () => {
		expect(isReadyToExport({ t: [] })).toBe(false);
		expect(isReadyToExport({ t: [{ tt: 0, sg: [] }, { tt: 7, sg: [] }] })).toBe(false);
		expect(isReadyToExport({ t: [{ tt: 0, sg: [] }, { tt: 1, sg: [{ d: 1 }] }] })).toBe(true);
		expect(isReadyToExport(undefined)).toBe(false);
		expect(isReadyToExport({ t: 'x' })).toBe(false);
	});
});

// Last in the file on purpose: it reads what every test above showed.
test('no token text in any error message, description, error object or output item of this file', () => {
	expect(seen.texts.length).toBeGreaterThan(20);
	expect(USED_TOKENS.size).toBeGreaterThan(1);
	expect(seen.leaks(USED_TOKENS)).toEqual([]);
});
