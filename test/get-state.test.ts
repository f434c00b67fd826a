/**
 * The NemoVideo Get State node, run by n8n-core's real WorkflowExecute (the harness) against the emulator over
 * HTTP: the raw draft, its decoded timeline and readyToExport, Session ID from an expression, "session not
 * found", Continue On Fail. The decoder itself: test/timeline.test.ts.
 */
import { NemoVideoGetState } from '../nodes/NemoVideoGetState/NemoVideoGetState.node';
import type { Timeline } from '../nodes/shared/timeline';
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import type { Harness, WorkflowRun } from './harness';
import { SeenText, sessionWithDraft, expectPackageNode } from './helpers';

const OWN = 'nmv_usr_own_get_state_token_9876543210';
const USED_TOKENS = new Set<string>([OWN]);
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator(
	{
		config: { sseEventDelayMs: 1 },
		tokens: { [OWN]: { credits: 25000 } },
		credentials: { own: { accessToken: OWN }, anon: {} },
		usedTokens: USED_TOKENS,
	},
	(fixture) => ({ emu, harness } = fixture),
);

async function run(spec: Parameters<Harness['run']>[0]): Promise<WorkflowRun> {
	return seen.run(await harness.run(spec));
}

test('nemoVideoGetState: its interface name, the NemoVideo API credential, usable as a tool', () => {
	expectPackageNode(new NemoVideoGetState(), 'nemoVideoGetState');
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

	test('a Session ID expression that resolves to nothing names the field and what to do, before any request', async () => {
		const result = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId: '={{ $json.sessionId }}' } }] });
		expect(result.error?.message).toBe('Session ID is empty');
		expect(result.error?.description).toMatch(/Upload or Generate node/);
		expect(emu.requests).toHaveLength(0);
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

// Last in the file on purpose: it reads what every test above showed.
test('no token text in any error message, description, error object or output item of this file', () => {
	expect(seen.texts.length).toBeGreaterThan(20);
	expect(USED_TOKENS.size).toBeGreaterThan(1);
	expect(seen.leaks(USED_TOKENS)).toEqual([]);
});
