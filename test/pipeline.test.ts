/**
 * The pipeline nodes through n8n-core's real engine, over real HTTP to the emulator.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { NemoVideoEmulator } from './emulator';
import { Harness, readBinary } from './harness';

const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_pipeline_token';
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };
const dropFast = { dropRecoveryFirstWaitSeconds: 0.2, dropRecoveryIntervalSeconds: 0.2, dropRecoveryReads: 3 };

let emu: NemoVideoEmulator;
let harness: Harness;
const scratch = mkdtempSync(join(tmpdir(), 'nemovideo-pipeline-'));

beforeAll(async () => {
	emu = new NemoVideoEmulator({ renderMs: 500, sseEventDelayMs: 5 });
	await emu.start();
});
afterAll(async () => {
	await emu.stop();
	rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => {
	emu.reset();
	emu.config.renderMs = 500;
	emu.config.sseEventDelayMs = 5;
	emu.addToken(TOKEN, { credits: 100_000, anonymous: false });
	harness = new Harness();
	harness.credentials.set('cred-1', { baseUrl: emu.baseUrl, accessToken: TOKEN });
});

const read = (paths: string[]) => ({ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(paths) } });

async function uploadedSession(photos = PHOTOS.slice(0, 3)): Promise<string> {
	const run = await harness.run({ nodes: [read(photos), { type: 'nemoVideoUpload', parameters: { sessionId: '' } }] });
	expect(run.error).toBeUndefined();
	return run.output()[0].json.sessionId as string;
}

describe('the chain Upload → Generate → Get State → Export', () => {
	test('turns five photos into one MP4 in binary data', async () => {
		const run = await harness.run({
			nodes: [
				read(PHOTOS),
				{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '' } },
				{ type: 'nemoVideoGenerate', name: 'Generate', parameters: { prompt: 'Turn these photos into a slideshow with smooth transitions' } },
				{ type: 'nemoVideoGetState', name: 'State', parameters: {} },
				{ type: 'nemoVideoExport', name: 'Export', parameters: fast },
			],
		});
		expect(run.error).toBeUndefined();

		const upload = run.output('Upload');
		expect(upload).toHaveLength(1); // one session for the folder, not one per photo
		expect(upload[0].json.files).toHaveLength(5);
		expect(upload[0].pairedItem).toEqual([0, 1, 2, 3, 4].map((item) => ({ item })));
		const uploads = emu.requestsTo('upload');
		expect(uploads).toHaveLength(1);
		expect(uploads[0].files?.map((file) => file.filename)).toEqual(PHOTOS.map((path) => path.split('/').pop()));
		expect(uploads[0].files?.every((file) => file.detectedType === 'jpg' || file.detectedType === 'jpeg')).toBe(true);

		const generated = run.output('Generate')[0].json;
		expect(String(generated.text)).toMatch(/slideshow/i);
		expect(generated.stateChanged).toBe(true);
		expect(generated.suggestedNextStep).toBe('export');
		expect((generated.events as { toolCalls: number }).toolCalls).toBeGreaterThan(0);
		expect(String(generated.text)).not.toMatch(/tool_call|functionCall/);

		const state = run.output('State')[0].json as { readyToExport: boolean; timeline: { tracks: Array<{ type: string; segmentCount: number }> } };
		expect(state.readyToExport).toBe(true);
		expect(state.timeline.tracks.find((track) => track.type === 'video')?.segmentCount).toBe(5);

		const exported = run.output('Export')[0];
		expect(exported.json.status).toBe('completed');
		expect(String(exported.json.renderId)).toMatch(/^render_/);
		const binary = exported.binary!.data;
		expect(binary.mimeType).toBe('video/mp4');
		expect(binary.fileName).toMatch(/\.mp4$/);
		const bytes = await readBinary(binary);
		expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
		expect(bytes.length).toBe(emu.render(String(exported.json.renderId))!.bytes);
		expect(emu.requestsTo('sse')).toHaveLength(1);
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
		// The CDN download never carries the token.
		expect(emu.requestsTo('cdn').every((request) => !request.headers.authorization)).toBe(true);
	});
});

describe('Generate', () => {
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

describe('Export & Wait', () => {
	test('both poll shapes: the wrapped one too', async () => {
		const sessionId = await uploadedSession();
		await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'slideshow' } }] });
		emu.config.renderPollShape = 'wrapped';
		emu.config.renderStartShape = 'success';
		const run = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast } }] });
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.url).toMatch(/^http/);
		expect(run.output()[0].binary?.data.mimeType).toBe('video/mp4');
	});

	test('a failed render is retried once with a new id; two failures name both ids', async () => {
		const sessionId = await uploadedSession();
		await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'slideshow' } }] });

		emu.config.renderFailTimes = 1;
		const once = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast, download: false } }] });
		expect(once.error).toBeUndefined();
		const starts = emu.requestsTo('renderStart').map((request) => (request.json as { id: string }).id);
		expect(starts).toHaveLength(2);
		expect(new Set(starts).size).toBe(2);
		expect(once.output()[0].json.failedRenderIds).toEqual([starts[0]]);

		emu.reset();
		emu.addToken(TOKEN, { credits: 100_000, anonymous: false });
		const session2 = await uploadedSession();
		await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId: session2, prompt: 'slideshow' } }] });
		emu.config.renderFailTimes = 2;
		const twice = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId: session2, ...fast } }] });
		const ids = emu.requestsTo('renderStart').map((request) => (request.json as { id: string }).id);
		expect(ids).toHaveLength(2);
		expect(twice.error?.description).toContain(ids[0]);
		expect(twice.error?.description).toContain(ids[1]);
	});

	test('the deadline fails naming the render id; resuming by id downloads it', async () => {
		const sessionId = await uploadedSession();
		await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'slideshow' } }] });
		emu.config.renderMs = 3000;
		const started = Date.now();
		const late = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, pollIntervalSeconds: 0.2, timeoutMinutes: 0.01 } }] });
		const renderId = (emu.requestsTo('renderStart')[0].json as { id: string }).id;
		expect(late.error?.message).toContain(renderId);
		expect(late.error?.description).toMatch(/Resume Render ID/);
		expect(Date.now() - started).toBeLessThan(3000);

		const resumed = await harness.run({
			nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast, options: { renderId } } }],
		});
		expect(resumed.error).toBeUndefined();
		expect(resumed.output()[0].json.renderId).toBe(renderId);
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
		expect(resumed.output()[0].binary?.data.mimeType).toBe('video/mp4');
	});

	test('refuses an empty timeline before starting a render', async () => {
		const sessionId = await uploadedSession();
		const run = await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast } }] });
		expect(run.error?.message).toMatch(/Nothing to export/);
		expect(emu.requestsTo('renderStart')).toHaveLength(0);
	});

	test('cancelling the execution stops the wait at once and cancels the render', async () => {
		const sessionId = await uploadedSession();
		await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'slideshow' } }] });
		emu.config.renderNeverFinishes = true;
		const handle = harness.start({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, ...fast } }] });
		await new Promise((resolve) => setTimeout(resolve, 1000));
		const cancelledAt = Date.now();
		handle.cancel();
		await handle.done;
		expect(Date.now() - cancelledAt).toBeLessThan(1500);
		await new Promise((resolve) => setTimeout(resolve, 200));
		expect(emu.requestsTo('renderCancel')).toHaveLength(1);
	});
});

describe('Upload checks before anything is sent', () => {
	test('a file that is not an image by its content is refused, naming it and the accepted types', async () => {
		const fake = join(scratch, 'holiday.jpg');
		writeFileSync(fake, 'this is a text file, not a photo\n'.repeat(10));
		const run = await harness.run({ nodes: [read([PHOTOS[0], fake]), { type: 'nemoVideoUpload', parameters: { sessionId: '' } }] });
		expect(run.error?.message).toContain('holiday.jpg');
		expect(run.error?.description).toMatch(/jpg, png, webp, heic/);
		expect(emu.requestsTo('upload')).toHaveLength(0);
		expect(emu.requestsTo('session')).toHaveLength(0);
	});

	test('a file over 200 MB is refused before any upload request', async () => {
		const big = join(scratch, 'huge.jpg');
		const fd = openSync(big, 'w');
		writeSync(fd, Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
		ftruncateSync(fd, 200 * 1024 * 1024 + 1);
		closeSync(fd);
		const run = await harness.run({ nodes: [read([big]), { type: 'nemoVideoUpload', parameters: { sessionId: '' } }] });
		expect(run.error?.message).toMatch(/huge\.jpg.*too large/);
		expect(run.error?.description).toMatch(/200 MB/);
		expect(emu.requestsTo('upload')).toHaveLength(0);
	});

	test('one session per item with perItem grouping; a bad item fails alone under Continue On Fail', async () => {
		const fake = join(scratch, 'notes.png');
		writeFileSync(fake, 'plain text');
		const run = await harness.run({
			nodes: [
				read([PHOTOS[0], fake, PHOTOS[1]]),
				{ type: 'nemoVideoUpload', parameters: { sessionId: '', grouping: 'perItem' }, continueOnFail: true },
			],
		});
		expect(run.error).toBeUndefined();
		const out = run.output();
		expect(out).toHaveLength(3);
		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(out[1].json.error).toMatch(/notes\.png/);
		expect(out[0].json.sessionId).not.toBe(out[2].json.sessionId);
		expect(emu.requestsTo('upload')).toHaveLength(2);
	});

	test('URLs go as the JSON form', async () => {
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoUpload', parameters: { sessionId: '', source: 'url', urls: 'https://example.com/a.jpg,\nhttps://example.com/b.png' } }],
		});
		expect(run.error).toBeUndefined();
		expect(emu.requestsTo('upload')[0].json).toEqual({ urls: ['https://example.com/a.jpg', 'https://example.com/b.png'], source_type: 'url' });
		expect(run.output()[0].json.files).toHaveLength(2);
	});
});

describe('Photo to Video', () => {
	test('a folder of photos makes one video in one step', async () => {
		const run = await harness.run({
			nodes: [read(PHOTOS.slice(0, 3)), { type: 'nemoVideoPhotoToVideo', parameters: { ...fast, aspectRatio: '9:16', lengthSeconds: 12 } }],
		});
		expect(run.error).toBeUndefined();
		const out = run.output();
		expect(out).toHaveLength(1);
		expect(out[0].json.files).toHaveLength(3);
		expect(out[0].json.status).toBe('completed');
		expect(out[0].binary?.data.mimeType).toBe('video/mp4');
		expect(emu.requestsTo('session')).toHaveLength(1);
		expect(emu.requestsTo('sse')).toHaveLength(1);
		const message = (emu.requestsTo('sse')[0].json as { new_message: { parts: Array<{ text: string }> } }).new_message.parts[0].text;
		expect(message).toMatch(/9:16/);
		expect(message).toMatch(/12 seconds/);
	});

	test('perItem grouping: one video per item, in input order', async () => {
		const run = await harness.run({
			nodes: [read(PHOTOS.slice(0, 2)), { type: 'nemoVideoPhotoToVideo', parameters: { ...fast, grouping: 'perItem', download: false } }],
		});
		expect(run.error).toBeUndefined();
		expect(run.output().map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(emu.requestsTo('session')).toHaveLength(2);
	});
});

test('fixtures exist', () => {
	expect(readFileSync(PHOTOS[0]).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
});
