/**
 * NemoVideo Export & Wait through n8n-core's real engine against the emulator: the deadline, the download's
 * answers, a Base URL with a path, the ids an error carries, and resuming or checking a render by its id
 * (`options.renderId`, `options.onTimeout`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { renderIdsOf } from '../nodes/shared/exportAndWait';
import { SAMPLE_MP4 } from './emulator';
import type { NemoVideoEmulator } from './emulator';
import { sessionThroughNodes, withEmulator } from './fixtures';
import { readBinary } from './harness';
import type { Harness } from './harness';
import { sessionWithDraft } from './helpers';

const TOKEN = 'nmv_usr_own_export_token';
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };
const SAMPLE = readFileSync(SAMPLE_MP4);

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 400, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
const readySession = async () => await sessionWithDraft(emu.baseUrl, TOKEN);
const exportNode = (parameters: Record<string, unknown>, continueOnFail?: boolean) => ({
	type: 'nemoVideoExport',
	name: 'Export',
	parameters,
	continueOnFail,
});
const PHOTOS = [1, 2, 3].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));

/** A session with photos, as the Upload node makes it (no draft yet). */
const uploadedSession = async () => await sessionThroughNodes(harness, PHOTOS, { prompt: false });
const startedRenderIds = () => emu.requestsTo('renderStart').map((request) => (request.json as { id: string }).id);

describe('the deadline', () => {
	test('a render that finishes before the deadline is reported finished: one last poll at the deadline', async () => {
		const sessionId = await readySession();
		emu.config.renderMs = 1_000;
		// Deadline 1.8 s; the first poll of the schedule would come at 2.92 s.
		const run = await harness.run({ nodes: [exportNode({ sessionId, download: false, timeoutMinutes: 0.03 })] });
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json).toMatchObject({ status: 'completed', renderId: startedRenderIds()[0] });
		expect(emu.requestsTo('renderPoll')).toHaveLength(1);
	});

	test('a render still running at the deadline fails naming both ids and what to do', async () => {
		const sessionId = await readySession();
		emu.config.renderMs = 5_000;
		const run = await harness.run({ nodes: [exportNode({ sessionId, pollIntervalSeconds: 0.2, timeoutMinutes: 0.01 })] });
		const [renderId] = startedRenderIds();
		expect(run.error?.message).toContain(renderId);
		expect(run.error?.message).toContain(sessionId);
		expect(run.error?.description).toMatch(/Resume Render ID/);
		expect(renderIdsOf(run.error)).toEqual({ sessionId, renderId, failedRenderIds: [] });
	});
});

describe('the download', () => {
	test('a 200 JSON answer from the download endpoint is an error naming both ids, never an empty MP4', async () => {
		const sessionId = await readySession();
		emu.inject('cdn', { kind: 'serverError', status: 503 }, 5);
		emu.inject('download', { kind: 'jsonOk' }, 5);
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast })] });
		const [renderId] = startedRenderIds();
		expect(run.error?.message).toMatch(/could not be downloaded/);
		expect(run.error?.message).toContain(renderId);
		expect(run.error?.description).toContain(sessionId);
		expect(run.error?.description).toMatch(/JSON/);
		expect(renderIdsOf(run.error)).toMatchObject({ sessionId, renderId, url: expect.stringContaining(renderId) });
		expect(run.output('Export')).toHaveLength(0);
	});

	test('a 200 JSON answer from the video URL falls back to the download endpoint and its real MP4', async () => {
		const sessionId = await readySession();
		emu.inject('cdn', { kind: 'jsonOk' }, 1);
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast })] });
		expect(run.error).toBeUndefined();
		const binary = run.output()[0].binary!.data;
		expect((await readBinary(binary)).equals(SAMPLE)).toBe(true);
		expect(emu.requestsTo('download')).toHaveLength(1);
	});
});

describe('a download broken in the middle', () => {
	test('falls back to the download endpoint and stores the whole video, not the part that came', async () => {
		const sessionId = await readySession();
		emu.config.outputSizeBytes = 8 * 1024 * 1024;
		emu.inject('cdn', { kind: 'cutBody', afterBytes: 1024 * 1024 }, 1);
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast })] });
		expect(run.error).toBeUndefined();
		const video = await readBinary(run.output()[0].binary!.data);
		expect(video.length).toBe(8 * 1024 * 1024);
		expect(video.subarray(4, 8).toString('latin1')).toBe('ftyp');
		expect(emu.requestsTo('download')).toHaveLength(1);
	});

	test('broken on both sources: fails naming the render, with nothing stored', async () => {
		const sessionId = await readySession();
		emu.config.outputSizeBytes = 8 * 1024 * 1024;
		emu.inject('cdn', { kind: 'cutBody', afterBytes: 1024 * 1024 }, 1);
		emu.inject('download', { kind: 'cutBody', afterBytes: 1024 * 1024 }, 1);
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast })] });
		expect(run.error?.message).toMatch(/could not be downloaded/);
		expect(run.error?.message).toContain(startedRenderIds()[0]);
		expect(run.output('Export')).toHaveLength(0);
	});
});

describe('a Base URL with a path (https://host/nemo)', () => {
	beforeEach(() => {
		emu.config.basePath = '/nemo';
		// The service's own output URL is on the same host, outside the API's path.
		emu.config.cdnSeparateHost = false;
		harness.credentials.set('cred-1', { baseUrl: emu.baseUrl, accessToken: TOKEN });
	});

	test('the video URL the service returned is fetched as given, not re-based under the path', async () => {
		const sessionId = await readySession();
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast })] });
		expect(run.error).toBeUndefined();
		expect((await readBinary(run.output()[0].binary!.data)).equals(SAMPLE)).toBe(true);
		expect(emu.requestsTo('cdn').map((request) => request.path)).toEqual([`/renders/${startedRenderIds()[0]}.mp4`]);
	});

	test('the download endpoint is built from the base URL once, also when resuming after a timeout', async () => {
		const sessionId = await readySession();
		emu.config.renderMs = 1_500;
		const late = await harness.run({ nodes: [exportNode({ sessionId, pollIntervalSeconds: 0.2, timeoutMinutes: 0.01 })] });
		const [renderId] = startedRenderIds();
		expect(late.error?.message).toContain(renderId);

		emu.inject('cdn', { kind: 'serverError', status: 503 }, 5);
		const resumed = await harness.run({ nodes: [exportNode({ sessionId, ...fast, options: { renderId } })] });
		expect(resumed.error).toBeUndefined();
		expect((await readBinary(resumed.output()[0].binary!.data)).equals(SAMPLE)).toBe(true);
		expect(emu.requestsTo('download').map((request) => request.path)).toEqual([`/nemo/api/render/proxy/${renderId}/download`]);
		expect(startedRenderIds()).toHaveLength(1);
	});
});

describe('errors carry the ids', () => {
	test('two failed renders: the error names the session and both render ids, as fields too', async () => {
		const sessionId = await readySession();
		emu.config.renderFailTimes = 2;
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast })] });
		const ids = startedRenderIds();
		expect(ids).toHaveLength(2);
		expect(run.error?.message).toContain(sessionId);
		expect(run.error?.description).toContain(ids[0]);
		expect(run.error?.description).toContain(ids[1]);
		expect(renderIdsOf(run.error)).toEqual({ sessionId, renderId: ids[1], failedRenderIds: ids });
	});

	test('under Continue On Fail the error item has sessionId, renderId and failedRenderIds as fields', async () => {
		const sessionId = await readySession();
		emu.config.renderFailTimes = 2;
		const run = await harness.run({ nodes: [exportNode({ sessionId, ...fast }, true)] });
		expect(run.error).toBeUndefined();
		const ids = startedRenderIds();
		expect(run.output()[0].json).toMatchObject({ sessionId, renderId: ids[1], failedRenderIds: ids, error: expect.stringContaining(sessionId) });
	});

	test('an error that is not about a render carries no ids', () => {
		expect(renderIdsOf(new Error('plain'))).toBeUndefined();
		expect(renderIdsOf(undefined)).toBeUndefined();
	});
});

describe('resuming and checking a render by its id', () => {
	test('onTimeout "returnStatus": an unfinished render is a normal item; calling again with its id finishes it, one render in all', async () => {
		const sessionId = await readySession();
		emu.config.renderMs = 1_500;
		const first = await harness.run({
			nodes: [exportNode({ sessionId, download: false, pollIntervalSeconds: 0.2, timeoutMinutes: 0.01, options: { onTimeout: 'returnStatus' } })],
		});
		expect(first.error).toBeUndefined();
		const [renderId] = startedRenderIds();
		const item = first.output()[0].json;
		expect(item).toMatchObject({ sessionId, renderId });
		expect(['pending', 'processing']).toContain(item.status);
		expect(typeof item.progress).toBe('number');

		const second = await harness.run({
			nodes: [exportNode({ sessionId, ...fast, download: false, options: { renderId, onTimeout: 'returnStatus' } })],
		});
		expect(second.error).toBeUndefined();
		expect(second.output()[0].json).toMatchObject({ sessionId, renderId, status: 'completed', url: expect.stringContaining(renderId) });
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
	});

	test('with a render id the session id is not needed', async () => {
		const sessionId = await readySession();
		const started = await harness.run({ nodes: [exportNode({ sessionId, waitForCompletion: false })] });
		const renderId = String(started.output()[0].json.renderId);
		const resumed = await harness.run({ nodes: [exportNode({ sessionId: '', ...fast, options: { renderId } })] });
		expect(resumed.error).toBeUndefined();
		expect(resumed.output()[0].json).toMatchObject({ renderId, status: 'completed' });
		expect((await readBinary(resumed.output()[0].binary!.data)).equals(SAMPLE)).toBe(true);
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
	});

	test('Wait for Completion off with a render id checks its status once and returns', async () => {
		const sessionId = await readySession();
		emu.config.renderMs = 60_000;
		const started = await harness.run({ nodes: [exportNode({ sessionId, waitForCompletion: false })] });
		const renderId = String(started.output()[0].json.renderId);
		const since = emu.requestsTo('renderPoll').length;
		const check = await harness.run({ nodes: [exportNode({ sessionId: '', waitForCompletion: false, options: { renderId } })] });
		expect(check.error).toBeUndefined();
		expect(check.output()[0].json).toMatchObject({ renderId });
		expect(['pending', 'processing']).toContain(check.output()[0].json.status);
		expect(emu.requestsTo('renderPoll').length - since).toBe(1);
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
	});

	test('the status check of a finished render gives its URL without downloading', async () => {
		const sessionId = await readySession();
		const finished = await harness.run({ nodes: [exportNode({ sessionId, ...fast, download: false })] });
		const renderId = String(finished.output()[0].json.renderId);
		const check = await harness.run({ nodes: [exportNode({ sessionId, waitForCompletion: false, options: { renderId } })] });
		expect(check.output()[0].json).toMatchObject({ sessionId, renderId, status: 'completed', url: expect.stringContaining(renderId) });
		expect(check.output()[0].binary).toBeUndefined();
		expect(emu.requestsTo('download')).toHaveLength(0);
	});
});

describe('a session made by the Upload and Generate nodes', () => {
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
