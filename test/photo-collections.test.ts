/**
 * Photo collections (issue 17) through n8n-core's engine against the emulator, run after run the way n8n runs a
 * workflow for months: a new Harness per run on one SavedWorkflow (its static data loaded when a run starts and
 * saved when it ends, unless manual), nights in sequence, two overlapping runs, a restart, a render failure
 * after the charge, albums by folder and by day, date order from EXIF, minimum photos and a quiet period.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import type { INodeExecutionData } from 'n8n-workflow';

import { forgetProcessMemory, MEMORY_KEY } from '../nodes/shared/photoMemory';
import type { NemoVideoEmulator } from './emulator';
import { scratchFolder, withEmulator } from './fixtures';
import { Harness, SavedWorkflow } from './harness';
import type { WorkflowRun } from './harness';
import { serviceCalls } from './helpers';

const TOKEN = 'nmv_usr_own_collections_token';
const SAMPLES = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const EXIF = (name: string) => join(__dirname, 'exif-fixtures', name);
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1, download: false };

let emu: NemoVideoEmulator;
let harness: Harness;
const scratch = scratchFolder('collections');
withEmulator({ config: { renderMs: 200, sseEventDelayMs: 1 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
beforeEach(() => forgetProcessMemory());

let testNumber = 0;
let root = scratch;
beforeEach(() => (root = join(scratch, `test-${++testNumber}`)));

/** A copy of a photo under `folder/name` (this test's folders); `variant` makes its content differ (a JPEG comment). */
function photo(source: string, folder: string, name = basename(source), variant?: string): string {
	const dir = join(root, folder);
	mkdirSync(dir, { recursive: true });
	const path = join(dir, name);
	if (variant === undefined) copyFileSync(source, path);
	else {
		const bytes = readFileSync(source);
		const comment = Buffer.from(variant);
		const segment = Buffer.concat([Buffer.from([0xff, 0xfe, 0, comment.length + 2]), comment]);
		writeFileSync(path, Buffer.concat([bytes.subarray(0, 2), segment, bytes.subarray(2)]));
	}
	return path;
}

/** Distinct photos (by content) named `prefix-1.jpg`… in one folder. */
function photos(count: number, folder: string, prefix = 'photo'): string[] {
	return Array.from({ length: count }, (_, index) => photo(SAMPLES[index % 5], folder, `${prefix}-${index + 1}.jpg`, `${folder}/${prefix}/${index}`));
}

interface RunOptions {
	mode?: 'trigger' | 'manual' | 'cli';
	input?: INodeExecutionData[];
	continueOnFail?: boolean;
}

/** One execution of Read Files → Photo to Video on the saved workflow, in a new Harness (a new run of n8n). */
function start(saved: SavedWorkflow, files: string[], parameters: Record<string, unknown>, options: RunOptions = {}) {
	const run = new Harness({ credentials: harness.credentials });
	const nodes = [
		...(files.length ? [{ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(files) } }] : []),
		{ type: 'nemoVideoPhotoToVideo', name: 'Photo to Video', parameters: { ...fast, ...parameters }, continueOnFail: options.continueOnFail },
	];
	return run.start({ nodes, saved, mode: options.mode ?? 'trigger', input: options.input });
}

async function night(saved: SavedWorkflow, files: string[], parameters: Record<string, unknown>, options: RunOptions = {}): Promise<WorkflowRun> {
	return await start(saved, files, parameters, options).done;
}

const counts = () => serviceCalls(emu);

const uploadedNames = () => emu.requestsTo('upload').flatMap((request) => (request.files ?? []).map((file) => file.filename));
const hints = (run: WorkflowRun) => run.run.data.resultData.runData['Photo to Video']?.[0]?.hints?.map((hint) => hint.message) ?? [];

describe('defaults keep the old behaviour', () => {
	test('no album option: one video of every photo, no album field, nothing remembered', async () => {
		const saved = new SavedWorkflow();
		const run = await night(saved, photos(3, 'trip'), {});
		expect(run.error).toBeUndefined();
		expect(run.output()).toHaveLength(1);
		expect(run.output()[0].json.album).toBeUndefined();
		expect(run.output()[0].json.files).toHaveLength(3);
		expect(saved.nodeData('Photo to Video')).toBeUndefined();
	});
});

describe('only new photos, night after night', () => {
	const nightly = { onlyNewPhotos: true, minimumPhotos: 1 };

	test('night 1 makes a video, night 2 (the same photos, one renamed) charges nothing and outputs nothing, night 3 takes only the new ones', async () => {
		const saved = new SavedWorkflow();
		const first = photos(3, 'camera');
		const one = await night(saved, first, { options: nightly });
		expect(one.error).toBeUndefined();
		expect(one.output()).toHaveLength(1);
		expect(one.output()[0].json).toMatchObject({ album: 'all', photoCount: 3, status: 'completed' });
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 1 });

		const renamed = photo(first[0], 'elsewhere', 'IMG_9999.jpg');
		const two = await night(saved, [...first.slice(1), renamed], { options: nightly });
		expect(two.error).toBeUndefined();
		expect(two.run.status).toBe('success');
		expect(two.output()).toEqual([]);
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 1 });

		const fresh = photos(2, 'camera', 'new');
		const three = await night(saved, [...first, ...fresh], { options: nightly });
		expect(three.output()).toHaveLength(1);
		expect(three.output()[0].json).toMatchObject({ photoCount: 2, photos: ['new-1.jpg', 'new-2.jpg'] });
		expect(counts()).toEqual({ sessions: 2, uploads: 2, messages: 2, renders: 2 });
		expect(uploadedNames()).toEqual(['photo-1.jpg', 'photo-2.jpg', 'photo-3.jpg', 'new-1.jpg', 'new-2.jpg']);
	});

	test('a restart of n8n (the process memory gone) keeps what was saved: night 2 charges nothing', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(2, 'camera');
		expect((await night(saved, folder, { options: nightly })).output()).toHaveLength(1);
		forgetProcessMemory();
		const two = await night(saved, folder, { options: nightly });
		expect(two.output()).toEqual([]);
		expect(counts().messages).toBe(1);
	});

	test('a manual run says it is not remembered, and n8n saves nothing of it', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(2, 'camera');
		const manual = await night(saved, folder, { options: nightly }, { mode: 'manual' });
		expect(manual.output()).toHaveLength(1);
		expect(hints(manual).join(' ')).toMatch(/Manual run: n8n does not save what this node remembers/);
		expect(saved.saves).toBe(0);
		forgetProcessMemory();
		expect((await night(saved, folder, { options: nightly })).output()).toHaveLength(1);
		expect(counts().messages).toBe(2);
	});

	test('the state stays small: ids, hashes and times only', async () => {
		const saved = new SavedWorkflow();
		await night(saved, photos(5, 'camera'), { options: nightly });
		const stored = saved.nodeData('Photo to Video')?.[MEMORY_KEY] as { used: Record<string, string>; albums: object };
		expect(Object.values(stored.used).join('')).toHaveLength(5 * 12);
		expect(stored.albums).toEqual({});
		expect(JSON.stringify(stored).length).toBeLessThan(400);
	});
});

describe('minimum photos', () => {
	test('an album with fewer new photos sends nothing and its photos stay new; with enough, one video of all of them', async () => {
		const saved = new SavedWorkflow();
		const options = { onlyNewPhotos: true, minimumPhotos: 4 };
		const few = photos(3, 'camera');
		const one = await night(saved, few, { options });
		expect(one.error).toBeUndefined();
		expect(one.output()).toEqual([]);
		expect(counts()).toEqual({ sessions: 0, uploads: 0, messages: 0, renders: 0 });
		expect(hints(one).join(' ')).toMatch(/3 new photos, fewer than the minimum of 4/);
		const two = await night(saved, [...few, ...photos(1, 'camera', 'late')], { options });
		expect(two.output()).toHaveLength(1);
		expect(two.output()[0].json.photoCount).toBe(4);
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 1 });
	});
});

describe('albums', () => {
	test('one video per folder, named by the folder, paired with its items', async () => {
		const italy = photos(2, '2026-07 Italy');
		const beach = photos(3, '2026-08 Beach');
		const run = await night(new SavedWorkflow(), [italy[0], beach[0], italy[1], beach[1], beach[2]], { grouping: 'folder' });
		expect(run.error).toBeUndefined();
		const out = run.output().map((item) => ({ album: item.json.album, photoCount: item.json.photoCount, paired: item.pairedItem }));
		expect(out).toEqual([
			{ album: '2026-07 Italy', photoCount: 2, paired: [{ item: 0 }, { item: 2 }] },
			{ album: '2026-08 Beach', photoCount: 3, paired: [{ item: 1 }, { item: 3 }, { item: 4 }] },
		]);
		expect(counts()).toEqual({ sessions: 2, uploads: 2, messages: 2, renders: 2 });
	});

	test('one video per day taken (EXIF), photos without a date in the album "undated"', async () => {
		const files = ['jpeg-no-exif.jpg', 'jpeg-offset.jpg', 'png-exif.png', 'webp-offset.webp', 'heic-offset.heic', 'jpeg-no-offset.jpg'].map((name) => photo(EXIF(name), 'phone'));
		const run = await night(new SavedWorkflow(), files, { grouping: 'day' });
		expect(run.error).toBeUndefined();
		const albums = Object.fromEntries(run.output().map((item) => [item.json.album, item.json.photos]));
		expect(albums).toEqual({
			undated: ['jpeg-no-exif.jpg'],
			'2026-07-14': ['jpeg-offset.jpg', 'webp-offset.webp', 'heic-offset.heic'],
			'2026-07-16': ['png-exif.png'],
			'2026-07-15': ['jpeg-no-offset.jpg'],
		});
	});
});

describe('order', () => {
	test('date taken: the upload order is the order the photos were taken, undated ones after in their input order', async () => {
		// 07-16 07:45 -05:00 (12:45 UTC), 07-14 18:30 +02:00, no date, 07-15 09:00 (no offset: the workflow's zone)
		const files = ['png-exif.png', 'jpeg-no-exif.jpg', 'jpeg-offset.jpg', 'webp-no-exif.webp', 'jpeg-no-offset.jpg'].map((name) => photo(EXIF(name), 'phone'));
		const run = await night(new SavedWorkflow(), files, { options: { order: 'dateTaken' } });
		expect(run.error).toBeUndefined();
		expect(uploadedNames()).toEqual(['jpeg-offset.jpg', 'jpeg-no-offset.jpg', 'png-exif.png', 'jpeg-no-exif.jpg', 'webp-no-exif.webp']);
		expect(run.output()[0].json.photos).toEqual(uploadedNames());
	});

	test('file name: IMG_2 before IMG_10', async () => {
		const files = [photo(SAMPLES[0], 'a', 'IMG_10.jpg'), photo(SAMPLES[1], 'a', 'IMG_2.jpg'), photo(SAMPLES[2], 'a', 'DSC_1.jpg')];
		await night(new SavedWorkflow(), files, { options: { order: 'name' } });
		expect(uploadedNames()).toEqual(['DSC_1.jpg', 'IMG_2.jpg', 'IMG_10.jpg']);
	});
});

describe('a charged step is never repeated', () => {
	const options = { onlyNewPhotos: true };

	test('a render that fails after the charge: the run fails naming the album; the next run renders the same session, no new message', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(3, 'camera');
		emu.config.renderFailTimes = 2; // the render and its one retry
		const one = await night(saved, folder, { options });
		expect(one.error?.description).toMatch(/was charged already: the next run renders it again from the same session/);
		const session = emu.requestsTo('session')[0];
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 2 });

		emu.config.renderFailTimes = 0;
		const two = await night(saved, folder, { options });
		expect(two.error).toBeUndefined();
		expect(two.output()).toHaveLength(1);
		expect(two.output()[0].json).toMatchObject({ album: 'all', photoCount: 3, status: 'completed', notice: expect.stringMatching(/without a new charge/) });
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 3 });
		expect(emu.requestsTo('renderStart')[2].sessionId).toBe(session.sessionId ?? two.output()[0].json.sessionId);

		const three = await night(saved, folder, { options });
		expect(three.output()).toEqual([]);
		expect(counts().renders).toBe(3);
	});

	test('a message refused for lack of credits charged nothing: the photos stay new and the next run makes the video', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(2, 'camera');
		emu.inject('sse', { kind: 'appCode', code: 2001 });
		const one = await night(saved, folder, { options });
		expect(one.error?.message).toMatch(/credits/i);
		expect(one.error?.description ?? '').not.toMatch(/charged/);
		const two = await night(saved, folder, { options });
		expect(two.output()).toHaveLength(1);
		expect(counts()).toEqual({ sessions: 2, uploads: 2, messages: 2, renders: 1 });
	});

	test('a download that fails after the render: the next run fetches the same render by its id', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(2, 'camera');
		emu.inject('cdn', { kind: 'serverError', status: 503 }, 10);
		emu.inject('download', { kind: 'serverError', status: 503 }, 10);
		const one = await night(saved, folder, { options, download: true });
		expect(one.error?.message).toMatch(/could not be downloaded/);
		const renderId = (emu.requestsTo('renderStart')[0].json as { id: string }).id;
		emu.clearFaults();
		const two = await night(saved, folder, { options, download: true });
		expect(two.error).toBeUndefined();
		expect(two.output()[0].json.renderId).toBe(renderId);
		expect(two.output()[0].binary?.data.mimeType).toBe('video/mp4');
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 1 });
	});
});

describe('two runs at once in one n8n process', () => {
	test('overlapping runs on the same new photos: one video, one charge, and the run that saves last keeps it all', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(3, 'camera');
		emu.config.renderMs = 800;
		const a = start(saved, folder, { options: { onlyNewPhotos: true } });
		const b = start(saved, folder, { options: { onlyNewPhotos: true } });
		const [runA, runB] = await Promise.all([a.done, b.done]);
		expect(runA.error ?? runB.error).toBeUndefined();
		expect(runA.output().length + runB.output().length).toBe(1);
		expect(counts()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 1 });
		expect(saved.saves).toBe(2);
		forgetProcessMemory();
		expect((await night(saved, folder, { options: { onlyNewPhotos: true } })).output()).toEqual([]);
		expect(counts().messages).toBe(1);
	});

	test('a run that starts while another is still charging an album leaves that album alone and keeps it in its save', async () => {
		const saved = new SavedWorkflow();
		emu.config.sseEventDelayMs = 40; // a slow AI: the first run is still in its message when the second ends
		const a = start(saved, photos(2, 'camera'), { options: { onlyNewPhotos: true } });
		await waitFor(() => emu.requestsTo('sse').length === 1);
		const b = await start(saved, photos(2, 'camera', 'other'), { options: { onlyNewPhotos: true } }).done;
		expect(b.output()).toHaveLength(1);
		const aRun = await a.done;
		expect(aRun.output()).toHaveLength(1);
		// Whichever saved last saved both albums' photos as used.
		const stored = saved.nodeData('Photo to Video')?.[MEMORY_KEY] as { used: Record<string, string> };
		expect(Object.values(stored.used).join('')).toHaveLength(4 * 12);
		expect(counts().messages).toBe(2);
	});
});

describe('quiet period: uploads that trickle in', () => {
	const quiet = { options: { quietPeriodMinutes: 0.02, onlyNewPhotos: true, order: 'dateTaken' } }; // 1.2 s

	test('photos over three executions go into one session as they come; the first run after the quiet period makes one video in date order', async () => {
		const saved = new SavedWorkflow();
		const late = photo(EXIF('jpeg-offset.jpg'), 'inbox'); // taken first, arrives last
		const one = await night(saved, [photo(EXIF('png-exif.png'), 'inbox')], quiet);
		expect(one.error).toBeUndefined();
		expect(one.output()).toEqual([]);
		expect(hints(one).join(' ')).toMatch(/1 photo collected in session/);
		const two = await night(saved, [photo(EXIF('jpeg-no-offset.jpg'), 'inbox')], quiet);
		expect(two.output()).toEqual([]);
		const three = await night(saved, [late], quiet);
		expect(three.output()).toEqual([]);
		expect(counts()).toEqual({ sessions: 1, uploads: 3, messages: 0, renders: 0 });

		// A Schedule Trigger's item (no photos) before the quiet period has passed finishes nothing.
		const early = await night(saved, [], quiet, { input: [{ json: {} }] });
		expect(early.error).toBeUndefined();
		expect(early.output()).toEqual([]);
		expect(counts().messages).toBe(0);

		const lastUpload = emu.requestsTo('upload').at(-1)!.at;
		await waitFor(() => Date.now() > lastUpload + 1300);
		const due = await night(saved, [], quiet, { input: [{ json: {} }] });
		expect(due.error).toBeUndefined();
		expect(due.output()).toHaveLength(1);
		expect(due.output()[0].json).toMatchObject({ album: 'all', photoCount: 3, photos: ['jpeg-offset.jpg', 'jpeg-no-offset.jpg', 'png-exif.png'] });
		expect(counts()).toEqual({ sessions: 1, uploads: 3, messages: 1, renders: 1 });
		const message = (emu.requestsTo('sse')[0].json as { new_message: { parts: Array<{ text: string }> } }).new_message.parts[0].text;
		expect(message).toMatch(/in this order: jpeg-offset.jpg, jpeg-no-offset.jpg, png-exif.png\.$/);
		const segments = emu.session(String(due.output()[0].json.sessionId))?.draft;
		expect(JSON.stringify(segments)).toMatch(/jpeg-offset.jpg.*jpeg-no-offset.jpg.*png-exif.png/);

		const after = await night(saved, [], quiet, { input: [{ json: {} }] });
		expect(after.output()).toEqual([]);
		expect(counts().messages).toBe(1);
	});

	test('albums by folder each keep their own quiet period; below the minimum an album keeps waiting', async () => {
		const saved = new SavedWorkflow();
		const params = { grouping: 'folder', options: { quietPeriodMinutes: 0.02, minimumPhotos: 2 } };
		await night(saved, [...photos(2, 'Italy'), ...photos(1, 'Beach')], params);
		const lastUpload = emu.requestsTo('upload').at(-1)!.at;
		await waitFor(() => Date.now() > lastUpload + 1300);
		const due = await night(saved, [], params, { input: [{ json: {} }] });
		expect(due.output().map((item) => item.json.album)).toEqual(['Italy']);
		expect(hints(due).join(' ')).toMatch(/Album "Beach": 1 photo collected .* once it has 2 photos/);
		expect(counts()).toEqual({ sessions: 2, uploads: 2, messages: 1, renders: 1 });
	});

	test('an album whose session the service no longer has is given up once, named; its photos count as new again', async () => {
		const saved = new SavedWorkflow();
		const folder = photos(2, 'inbox');
		const params = { options: { quietPeriodMinutes: 0.02, onlyNewPhotos: true } };
		await night(saved, folder, params);
		const sessionId = emu.requestsTo('upload')[0].sessionId!;
		emu.deleteSession(sessionId);
		const lastUpload = emu.requestsTo('upload').at(-1)!.at;
		await waitFor(() => Date.now() > lastUpload + 1300);
		const due = await night(saved, [], params, { input: [{ json: {} }] });
		expect(due.error?.description).toMatch(new RegExp(`Session ${sessionId} of album "all" no longer exists on NemoVideo.*count as new again`));
		const again = await night(saved, folder, params);
		expect(again.error).toBeUndefined();
		expect(serviceCalls(emu).sessions).toBe(2);
	});

	test('without a quiet period an item without photos is still an error', async () => {
		const run = await night(new SavedWorkflow(), [], { options: { onlyNewPhotos: true } }, { input: [{ json: {} }] });
		expect(run.error?.message).toMatch(/has no binary/);
	});
});

/** Waits for a condition of the emulator or the clock, with a bound. */
async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
