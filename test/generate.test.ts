/**
 * The NemoVideo Generate node (and Get State where it shows the same rule) through n8n-core's real engine, over
 * HTTP to the emulator: what an edit changed, how the event stream is read to its end, how separate messages of
 * the agent are kept apart, and session ids that arrive as JSON numbers.
 */
import { join } from 'node:path';

import { suggestNextStep } from '../nodes/shared/generate';

import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import type { Harness, WorkflowRun } from './harness';
import { SeenText } from './helpers';

const PHOTOS = [1, 2, 3].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_generate_subject_token_5150';
const dropFast = { dropRecoveryFirstWaitSeconds: 0.2, dropRecoveryIntervalSeconds: 0.2, dropRecoveryReads: 3 };
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
afterAll(() => expect(seen.leaks([TOKEN])).toEqual([]));

async function run(spec: Parameters<Harness['run']>[0]): Promise<WorkflowRun> {
	return seen.run(await harness.run(spec));
}

const read = { type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(PHOTOS) } };

async function uploadedSession(): Promise<string> {
	const uploaded = await run({ nodes: [read, { type: 'nemoVideoUpload', parameters: { sessionId: '' } }] });
	expect(uploaded.error).toBeUndefined();
	return uploaded.output()[0].json.sessionId as string;
}

/** A session with photos and a 16:9 slideshow already made. */
async function slideshowSession(): Promise<string> {
	const sessionId = await uploadedSession();
	const made = await generate(sessionId, 'turn these photos into a slideshow');
	expect(made.error).toBeUndefined();
	expect(emu.session(sessionId)!.canvas.ratio).toBe('16:9');
	return sessionId;
}

async function generate(sessionId: string, prompt: string, options: Record<string, unknown> = {}): Promise<WorkflowRun> {
	return await run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt, options } }] });
}

function textOf(result: WorkflowRun): string {
	expect(result.error).toBeUndefined();
	return String(result.output()[0].json.text);
}

describe('what an edit changed (issue 9, point 11)', () => {
	test('after a dropped stream, an edit that changes only canvas_config (9:16) is reported as done', async () => {
		const sessionId = await slideshowSession();
		const draftBefore = JSON.stringify(emu.session(sessionId)!.draft);
		emu.config.sseScenario = 'drop';
		const result = await generate(sessionId, 'make it 9:16', dropFast);

		// The emulator applied only a canvas change: the draft is the same, so comparing drafts alone says "unchanged".
		expect(JSON.stringify(emu.session(sessionId)!.draft)).toBe(draftBefore);
		expect(emu.session(sessionId)!.canvas.ratio).toBe('9:16');
		expect(result.error).toBeUndefined();
		const out = result.output()[0].json;
		expect(out.streamEnding).toBe('dropped');
		expect(out.stateChanged).toBe(true);
		expect(String(out.changeSummary)).toMatch(/16:9.*9:16/);
		expect(emu.requestsTo('sse')).toHaveLength(2);
	});

	test('a completed turn with no text that changes only canvas_config says the state changed', async () => {
		const sessionId = await slideshowSession();
		emu.config.sseScenario = 'noText';
		const result = await generate(sessionId, 'make it 9:16');
		expect(result.error).toBeUndefined();
		const out = result.output()[0].json;
		expect(out.text).toBe('');
		expect(out.stateChanged).toBe(true);
		expect(String(out.summary)).toMatch(/1920x1080.*1080x1920|16:9.*9:16/);
	});

	test('a turn that changes nothing still says so', async () => {
		const sessionId = await slideshowSession();
		emu.config.sseScenario = 'noText';
		const result = await generate(sessionId, 'turn these photos into a slideshow');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.stateChanged).toBe(false);
	});
});

describe('reading the event stream to its end (issue 9, point 12)', () => {
	test('a last event without a trailing blank line is not lost', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseFraming = 'noFinalBlankLine';
		const text = textOf(await generate(sessionId, 'turn these photos into a slideshow'));
		expect(text).toMatch(/^I've turned your 3 photos .*Click Export to download it\.$/s);
	});

	test.each(['nemo', 'adk'] as const)('%s shape: a stream of data: lines with no blank lines keeps all its text', async (shape) => {
		const sessionId = await uploadedSession();
		emu.config.sseShape = shape;
		emu.config.sseFraming = 'noBlankLines';
		const result = await generate(sessionId, 'turn these photos into a slideshow');
		const text = textOf(result);
		expect(text).toMatch(/^I've turned your 3 photos .*Click Export to download it\.$/s);
		const events = result.output()[0].json.events as { toolCalls: number; toolResults: number; other: number };
		expect(events).toMatchObject({ toolCalls: 2, toolResults: 2, other: 0 });
	});

	test('an `event: error` with plain-text data fails the node with the service text', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseScenario = 'plainTextError';
		const result = await generate(sessionId, 'turn these photos into a slideshow');
		expect(result.error?.message).toMatch(/NemoVideo reported an error: .*the model is overloaded/);
		expect(result.error?.description).toMatch(/not sent again/);
		expect(emu.requestsTo('sse')).toHaveLength(1);
	});

	test('ADK functionResponse parts (role user) are counted as tool results and give no text', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseShape = 'adk';
		const result = await generate(sessionId, 'turn these photos into a slideshow');
		const events = result.output()[0].json.events as { toolCalls: number; toolResults: number; other: number };
		expect(events).toMatchObject({ toolCalls: 2, toolResults: 2, other: 0 });
		expect(textOf(result)).not.toMatch(/analyze_media|create_slideshow|photo-1\.jpg/);
	});
});

describe('separate messages of one turn (issue 9, point 21)', () => {
	test.each(['nemo', 'adk'] as const)('%s shape: two messages are separated, the chunks of each join as they are', async (shape) => {
		const sessionId = await uploadedSession();
		emu.config.sseShape = shape;
		emu.config.sseIntroMessage = true;
		const text = textOf(await generate(sessionId, 'turn these photos into a slideshow'));
		expect(text).toBe(
			"Sure! I'll turn your photos into a slideshow with smooth transitions.\n\n" +
				"I've turned your 3 photos into a 9 second 16:9 slideshow with smooth transitions and a Lo-fi soundtrack. " +
				'Preview it in the timeline. Click Export to download it.',
		);
	});
});

describe('session ids that arrive as JSON numbers (issue 9, point 20)', () => {
	test('Generate without a Session ID creates one and keeps its every digit', async () => {
		emu.config.sessionIdsAsNumbers = true;
		const result = await run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId: '', prompt: 'hello' } }] });
		expect(result.error).toBeUndefined();
		const [created] = [...emu.sessions.keys()];
		expect(created).toMatch(/^\d{19}$/);
		expect(Number.isSafeInteger(Number(created))).toBe(false);
		expect(result.output()[0].json.sessionId).toBe(created);
		expect((emu.requestsTo('sse')[0].json as { session_id: string }).session_id).toBe(created);
		expect(emu.requestsTo('state').every((request) => request.sessionId === created)).toBe(true);
	});

	test('Get State answers a numeric session_id: the output keeps the id the node was given', async () => {
		const sessionId = await uploadedSession();
		emu.config.sessionIdsAsNumbers = true;
		const result = await run({ nodes: [{ type: 'nemoVideoGetState', parameters: { sessionId } }] });
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.sessionId).toBe(sessionId);
	});

	test('Generate on a known session answers with that id, not the numeric one of the state', async () => {
		const sessionId = await uploadedSession();
		emu.config.sessionIdsAsNumbers = true;
		const result = await generate(sessionId, 'turn these photos into a slideshow');
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json.sessionId).toBe(sessionId);
	});
});

describe('the event stream\'s shapes and endings', () => {
	test('reads ADK-shaped events without doubling streamed text', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseShape = 'adk';
		const run = await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'make a slideshow' } }] });
		expect(run.error).toBeUndefined();
		const text = String(run.output()[0].json.text);
		expect(text.length).toBeGreaterThan(10);
		const half = text.slice(0, Math.floor(text.length / 2));
		expect(text.indexOf(half, 1)).toBe(-1);
		expect(run.output()[0].json.stateChanged).toBe(true);
	});

	test('an edit with no text reports what changed in the state', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseScenario = 'noText';
		const run = await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'make it 9:16' } }] });
		expect(run.error).toBeUndefined();
		const out = run.output()[0].json;
		expect(out.text).toBe('');
		expect(out.stateChanged).toBe(true);
		expect(String(out.summary)).toMatch(/Timeline changed/);
		expect((out.timeline as { trackCount: number }).trackCount).toBeGreaterThan(0);
	});

	test('a dropped stream is recovered from the state and the message is never re-sent', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseScenario = 'drop';
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'make a slideshow', options: dropFast } }],
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.streamEnding).toBe('dropped');
		expect(run.output()[0].json.stateChanged).toBe(true);
		expect(emu.requestsTo('sse')).toHaveLength(1);
		expect(emu.session(sessionId)!.messages).toHaveLength(1);
	});

	test('heartbeats only: times out at the bound, with one message sent', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseScenario = 'heartbeatsOnly';
		emu.config.sseHeartbeatMs = 50;
		const started = Date.now();
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'go', options: { heartbeatTimeoutMinutes: 0.01 } } }],
		});
		expect(run.error?.message).toMatch(/only heartbeats/);
		expect(run.error?.description).toMatch(/not re-sent/);
		expect(Date.now() - started).toBeLessThan(5000);
		expect(emu.requestsTo('sse')).toHaveLength(1);
	});

	test('an in-stream error fails the item with the service message', async () => {
		const sessionId = await uploadedSession();
		emu.config.sseScenario = 'inStreamError';
		for (const shape of ['nemo', 'adk'] as const) {
			emu.config.sseShape = shape;
			const run = await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'go' } }] });
			expect(run.error?.message).toMatch(/NemoVideo reported an error/);
		}
	});
});

describe('the suggested next step (suggestNextStep)', () => {
	test.each([
		['Your video is ready. Export it when you like.', 'export'],
		['You can download the result now', 'export'],
		['视频已生成，可以导出了', 'export'],
		['点击下载', 'export'],
		['Please upload a few more photos', 'upload'],
		['请上传照片', 'upload'],
		['Open the timeline to check the order', 'state'],
		['Preview it first', 'state'],
		['打开预览', 'state'],
		['时间线已更新', 'state'],
		['Done: a warm slideshow of your trip', 'none'],
		['', 'none'],
	] as const)('%j → %s', (text, step) => {
		expect(suggestNextStep(text)).toBe(step);
	});

	test('export wins over upload, and upload over state, when the text names several', () => {
		expect(suggestNextStep('Upload more photos or export the timeline as it is')).toBe('export');
		expect(suggestNextStep('Open the editor and upload the music')).toBe('upload');
	});

	test('a word inside another word is not the step', () => {
		expect(suggestNextStep('exported yesterday; the reopened uploads folder; downloads')).toBe('none');
		expect(suggestNextStep('EXPORT')).toBe('export');
	});
});

describe('a Session ID that resolved to nothing (issue 16 §3)', () => {
	test('the default {{ $json.sessionId }} on an item whose field is session_id is refused: no session, no message', async () => {
		const sessionId = await uploadedSession();
		emu.requests.length = 0;
		const result = await run({
			input: [{ json: { session_id: sessionId } }],
			nodes: [{ type: 'nemoVideoGenerate', parameters: { prompt: 'turn these photos into a slideshow' } }],
		});
		expect(result.error?.message).toBe('Session ID is empty: {{ $json.sessionId }} found nothing in item 0');
		expect(result.error?.description).toContain("The input item's fields are: session_id.");
		expect(emu.requestsTo('session')).toEqual([]);
		expect(emu.requestsTo('sse')).toEqual([]);
	});

	test('a Session ID left empty on purpose starts a new session, as it always did', async () => {
		const result = await generate('', 'turn these photos into a slideshow');
		expect(result.error).toBeUndefined();
		expect(emu.requestsTo('session')).toHaveLength(1);
		expect(result.output()[0].json.sessionId).toBe(emu.requestsTo('sse')[0].sessionId);
	});
});
