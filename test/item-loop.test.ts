/**
 * The execution loop every node runs its items through (nodes/shared/itemLoop.ts), through n8n-core's engine
 * against the emulator: error items from upstream, Continue On Fail's error items, and what a failure keeps.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { NemoVideoEmulator } from './emulator';
import { scratchFolder, withEmulator } from './fixtures';
import type { Harness } from './harness';

const PHOTOS = [1, 2, 3].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_item_loop_token';
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };

let emu: NemoVideoEmulator;
let harness: Harness;
const scratch = scratchFolder('item-loop');

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

const read = (paths: string[]) => ({ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(paths) } });

function textFile(name: string): string {
	const path = join(scratch, name);
	writeFileSync(path, 'this is a text file, not a photo\n'.repeat(4));
	return path;
}

/** An item as n8n's Continue On Fail outputs it (WorkflowExecute: `{ json: { error: message } }`). */
const upstreamError = (message: string) => ({ json: { error: message }, pairedItem: { item: 0 } });

describe('an input item that is an error item is passed through, not acted on', () => {
	test('Upload (Continue On Fail, one bad file) → Generate: no new session and no AI message for the error item', async () => {
		const bad = textFile('scan.jpg');
		const run = await harness.run({
			nodes: [
				read([PHOTOS[0], bad, PHOTOS[1]]),
				{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '', grouping: 'perItem' }, continueOnFail: true },
				{ type: 'nemoVideoGenerate', name: 'Generate', parameters: { prompt: 'Make a slideshow' } },
			],
		});
		expect(run.error).toBeUndefined();
		const upload = run.output('Upload');
		expect(upload.map((item) => Boolean(item.json.error))).toEqual([false, true, false]);
		// Two sessions, both opened by Upload: Generate opened none for the error item.
		expect(emu.requestsTo('session')).toHaveLength(2);
		const messages = emu.requestsTo('sse');
		expect(messages).toHaveLength(2);
		expect(messages.map((request) => request.sessionId).sort()).toEqual([upload[0].json.sessionId, upload[2].json.sessionId].sort());

		const generated = run.output('Generate');
		expect(generated).toHaveLength(3);
		expect(generated.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(generated[1].json.error).toBe(upload[1].json.error);
		expect(generated[1].json.error).toMatch(/scan\.jpg/);
		expect(generated[1].json.sessionId).toBeUndefined();
		expect(generated[0].json.sessionId).toBe(upload[0].json.sessionId);
	});

	test('grouped Upload: the error item is never grouped with good items, and the node does not fail', async () => {
		const grouped = await harness.run({
			input: [
				{ json: { url: 'https://photos.example.com/a.jpg' } },
				upstreamError('The file "b.jpg" is not a type NemoVideo accepts'),
				{ json: { url: 'https://photos.example.com/c.jpg' } },
			],
			nodes: [{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '', source: 'url', urls: '={{ $json.url }}' } }],
		});
		expect(grouped.error).toBeUndefined();
		const out = grouped.output();
		expect(out).toHaveLength(2);
		expect(out[0].pairedItem).toEqual([{ item: 0 }, { item: 2 }]);
		expect(out[0].json.fileCount).toBe(2);
		expect(out[1]).toMatchObject({ json: { error: 'The file "b.jpg" is not a type NemoVideo accepts' }, pairedItem: { item: 1 } });
		expect(emu.requestsTo('upload')).toHaveLength(1);
		expect(emu.requestsTo('upload')[0].json).toEqual({ urls: ['https://photos.example.com/a.jpg', 'https://photos.example.com/c.jpg'], source_type: 'url' });
	});

	test('every node passes it through: Credits, Get State, Export and Photo to Video make no request for it', async () => {
		const error = upstreamError('NemoVideo session not found');
		for (const node of [
			{ type: 'nemoVideoCredits', parameters: {} },
			{ type: 'nemoVideoGetState', parameters: {} },
			{ type: 'nemoVideoExport', parameters: fast },
			{ type: 'nemoVideoPhotoToVideo', parameters: { ...fast, source: 'url', urls: 'https://photos.example.com/a.jpg' } },
		]) {
			const run = await harness.run({ input: [error], nodes: [node] });
			expect(run.error).toBeUndefined();
			expect(run.output()).toEqual([{ json: { error: 'NemoVideo session not found' }, pairedItem: { item: 0 } }]);
		}
		const calls = emu.requests.filter((request) => request.route !== 'admin');
		expect(calls).toEqual([]);
	});
});

describe('Continue On Fail error items carry the ids as fields', () => {
	test('a render that fails twice: sessionId, renderId and failedRenderIds', async () => {
		const upload = await harness.run({ nodes: [read(PHOTOS), { type: 'nemoVideoUpload', parameters: { sessionId: '' } }, { type: 'nemoVideoGenerate', parameters: { prompt: 'Make a slideshow' } }] });
		const sessionId = upload.output()[0].json.sessionId as string;
		emu.config.renderFailTimes = 2;
		const run = await harness.run({
			input: [{ json: { sessionId } }],
			nodes: [{ type: 'nemoVideoExport', parameters: { ...fast, download: false }, continueOnFail: true }],
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		const started = emu.requestsTo('renderStart').map((request) => (request.json as { id: string }).id);
		expect(started).toHaveLength(2);
		expect(item.json).toMatchObject({ sessionId, renderId: started[1], failedRenderIds: started });
		expect(String(item.json.error)).toMatch(/could not render/);
	});

	test('a render that outlasts the timeout: sessionId, renderId and an empty failedRenderIds', async () => {
		const upload = await harness.run({ nodes: [read(PHOTOS), { type: 'nemoVideoUpload', parameters: { sessionId: '' } }, { type: 'nemoVideoGenerate', parameters: { prompt: 'Make a slideshow' } }] });
		const sessionId = upload.output()[0].json.sessionId as string;
		emu.config.renderNeverFinishes = true;
		const run = await harness.run({
			input: [{ json: { sessionId } }],
			nodes: [{ type: 'nemoVideoExport', parameters: { pollIntervalSeconds: 0.2, timeoutMinutes: 0.05, download: false }, continueOnFail: true }],
		});
		const [item] = run.output();
		const [started] = emu.requestsTo('renderStart').map((request) => (request.json as { id: string }).id);
		expect(item.json).toMatchObject({ sessionId, renderId: started, failedRenderIds: [] });
		expect(String(item.json.error)).toContain(started);
	});

	test('Photo to Video failing after the upload: the error item names the session', async () => {
		emu.inject('sse', { kind: 'appCode', code: 2001 });
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoPhotoToVideo', parameters: { ...fast, source: 'url', urls: 'https://photos.example.com/a.jpg' }, continueOnFail: true }],
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(item.json.error).toMatch(/credits/i);
		expect(item.json.sessionId).toBe(emu.requestsTo('upload')[0].sessionId);
		expect(emu.requestsTo('renderStart')).toHaveLength(0);
	});
});

describe('what is an error item (issue 16 §6)', () => {
	test('a sheet row with an "error" column is data: it is acted on', async () => {
		const run = await harness.run({
			input: [{ json: { url: 'https://photos.example.com/a.jpg', error: 'none', row: 7 } }],
			nodes: [{ type: 'nemoVideoUpload', parameters: { sessionId: '', source: 'url', urls: '={{ $json.url }}' } }],
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.fileCount).toBe(1);
		expect(emu.requestsTo('upload')).toHaveLength(1);
	});

	test("a timed-out Export's error item fed to Export & Wait with Resume Render ID {{ $json.renderId }} finishes that render", async () => {
		const upload = await harness.run({ nodes: [read(PHOTOS), { type: 'nemoVideoUpload', parameters: { sessionId: '' } }, { type: 'nemoVideoGenerate', parameters: { prompt: 'Make a slideshow' } }] });
		const sessionId = upload.output()[0].json.sessionId as string;
		emu.config.renderMs = 1_500;
		const run = await harness.run({
			input: [{ json: { sessionId } }],
			nodes: [
				{ type: 'nemoVideoExport', name: 'Export', parameters: { pollIntervalSeconds: 0.2, timeoutMinutes: 0.01, download: false }, continueOnFail: true },
				{
					type: 'nemoVideoExport',
					name: 'Resume',
					parameters: { ...fast, download: false, options: { renderId: '={{ $json.renderId }}' } },
				},
			],
		});
		expect(run.error).toBeUndefined();
		const [timedOut] = run.output('Export');
		expect(String(timedOut.json.error)).toMatch(/did not finish/);
		const [renderId] = emu.requestsTo('renderStart').map((request) => (request.json as { id: string }).id);
		expect(run.output('Resume')[0].json).toMatchObject({ sessionId, renderId, status: 'completed' });
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
	});
});

describe('each failed item names its own work', () => {
	test('two items that wait on one failed token renewal each carry their own render in their error item', async () => {
		harness.credentials.set('anon', { baseUrl: emu.baseUrl });
		emu.config.renderMs = 4_000;
		// Both renders' first status checks get 1001; the renewal is refused after a moment, while both wait on it.
		emu.inject('renderPoll', { kind: 'appCode', code: 1001 }, 2);
		emu.inject('token', { kind: 'slow', delayMs: 800, then: { kind: 'appCode', code: 1001 } }, 2, 1);
		const urls = ['https://photos.example.com/a.jpg', 'https://photos.example.com/b.jpg'];
		const run = await harness.run({
			credentialId: 'anon',
			input: urls.map((url) => ({ json: { url } })),
			nodes: [
				{
					type: 'nemoVideoPhotoToVideo',
					parameters: { ...fast, download: false, grouping: 'perItem', source: 'url', urls: '={{ $json.url }}', options: { concurrency: 2 } },
					continueOnFail: true,
				},
			],
		});
		const items = run.output();
		expect(items.map((item) => String(item.json.error))).toEqual([expect.stringMatching(/token/), expect.stringMatching(/token/)]);
		const byRender = new Map([...emu.renders.values()].map((render) => [render.id, render.sessionId]));
		expect(items.map((item) => byRender.get(String(item.json.renderId)))).toEqual(items.map((item) => item.json.sessionId));
		expect(new Set(items.map((item) => item.json.renderId)).size).toBe(2);
		expect(emu.requestsTo('token').length).toBe(2);
	});
});
