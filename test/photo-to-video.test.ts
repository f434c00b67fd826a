/**
 * Photo to Video through n8n-core's engine against the emulator: photos by URL, and never charging for
 * nothing with One per Item (issue 9 §9): every item's files are checked before any item is sent, and a later
 * failure lets the started items finish and names what they made.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { NemoVideoPhotoToVideo } from '../nodes/NemoVideoPhotoToVideo/NemoVideoPhotoToVideo.node';
import { NemoVideoUpload } from '../nodes/NemoVideoUpload/NemoVideoUpload.node';
import type { NemoVideoEmulator } from './emulator';
import { scratchFolder, withEmulator } from './fixtures';
import type { Harness } from './harness';
import { serviceCalls } from './helpers';

const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const PHOTO_URLS = [1, 2, 3, 4, 5].map((n) => `https://photos.example.com/trip/photo-${n}.jpg`);
const TOKEN = 'nmv_usr_own_photo_to_video_token';
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };

let emu: NemoVideoEmulator;
let harness: Harness;
const scratch = scratchFolder('p2v');

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

const read = (paths: string[]) => ({ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(paths) } });
const perItem = { ...fast, grouping: 'perItem', download: false, options: { concurrency: 5 } };

function textFile(name: string): string {
	const path = join(scratch, name);
	writeFileSync(path, 'this is a text file, not a photo\n'.repeat(4));
	return path;
}

const charged = () => serviceCalls(emu);

describe('Source: URLs', () => {
	test('five photo URLs make one video; the service gets the URLs, no file is read', async () => {
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoPhotoToVideo', parameters: { ...fast, download: false, source: 'url', urls: PHOTO_URLS.join('\n') } }],
		});
		expect(run.error).toBeUndefined();
		const [video] = run.output();
		expect(video.json).toMatchObject({ status: 'completed' });
		expect(String(video.json.url)).toMatch(/^http/);
		expect(video.json.files).toHaveLength(5);
		expect(emu.requestsTo('upload')).toHaveLength(1);
		expect(emu.requestsTo('upload')[0].json).toEqual({ urls: PHOTO_URLS, source_type: 'url' });
		expect(charged()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 1 });
	});

	test('One per Item with URLs from each item: one video per item', async () => {
		const run = await harness.run({
			input: [{ json: { photos: PHOTO_URLS.slice(0, 2) } }, { json: { photos: PHOTO_URLS.slice(2) } }],
			nodes: [{ type: 'nemoVideoPhotoToVideo', parameters: { ...perItem, source: 'url', urls: '={{ $json.photos }}' } }],
		});
		expect(run.error).toBeUndefined();
		expect(run.output().map((item) => (item.json.files as unknown[]).length)).toEqual([2, 3]);
		expect(charged().renders).toBe(2);
	});

	test('an entry that is not an http(s) URL fails before anything is sent', async () => {
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoPhotoToVideo', parameters: { ...fast, source: 'url', urls: `${PHOTO_URLS[0]}\nfile:///etc/passwd` } }],
		});
		expect(run.error?.message).toContain('file:///etc/passwd');
		expect(charged()).toEqual({ sessions: 0, uploads: 0, messages: 0, renders: 0 });
	});

	test('the parameters are the ones of Upload, and Binary Properties shows only for binary', () => {
		const properties = new NemoVideoPhotoToVideo().description.properties;
		const upload = new NemoVideoUpload().description.properties;
		for (const name of ['source', 'urls', 'binaryProperties']) {
			expect(properties.find((property) => property.name === name)).toEqual(upload.find((property) => property.name === name));
		}
		expect(properties.find((property) => property.name === 'source')?.default).toBe('binary');
		expect(properties.find((property) => property.name === 'binaryProperties')?.displayOptions).toEqual({ show: { source: ['binary'] } });
		expect(properties.find((property) => property.name === 'urls')?.displayOptions).toEqual({ show: { source: ['url'] } });
	});
});

describe('One per Item never charges for nothing', () => {
	test('a bad file in the last item fails the node before any item is sent', async () => {
		const run = await harness.run({ nodes: [read([PHOTOS[0], PHOTOS[1], textFile('receipt.jpg')]), { type: 'nemoVideoPhotoToVideo', parameters: perItem }] });
		expect(run.error?.message).toContain('receipt.jpg');
		expect(charged()).toEqual({ sessions: 0, uploads: 0, messages: 0, renders: 0 });
	});

	test('under Continue On Fail the bad item becomes an error item and only the good ones are charged', async () => {
		const run = await harness.run({
			nodes: [read([PHOTOS[0], textFile('receipt.jpg'), PHOTOS[1]]), { type: 'nemoVideoPhotoToVideo', parameters: perItem, continueOnFail: true }],
		});
		expect(run.error).toBeUndefined();
		const out = run.output();
		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(out.map((item) => item.json.status ?? 'error')).toEqual(['completed', 'error', 'completed']);
		expect(out[1].json.error).toContain('receipt.jpg');
		expect(charged()).toEqual({ sessions: 2, uploads: 2, messages: 2, renders: 2 });
	});

	test('a later failure lets the started items finish, and the error names their render ids and URLs', async () => {
		emu.config.renderMs = 600;
		// The first AI message is refused (no credits); the other two items are already under way by then.
		emu.inject('sse', { kind: 'appCode', code: 2001 });
		const run = await harness.run({ nodes: [read(PHOTOS.slice(0, 3)), { type: 'nemoVideoPhotoToVideo', parameters: perItem }] });
		expect(run.error?.message).toMatch(/credits/i);
		expect(charged()).toMatchObject({ messages: 3, renders: 2 });
		const renders = emu.requestsTo('renderStart').map((request) => request.json as { id: string; sessionId: string });
		const description = String(run.error?.description);
		for (const render of renders) {
			expect(description).toContain(render.id);
			expect(description).toContain(render.sessionId);
			expect(description).toMatch(new RegExp(`${render.id}[^;]*completed, http`));
		}
		expect(description).toMatch(/Resume Render ID/);
		expect((run.error?.context as { finishedWork?: unknown[] }).finishedWork).toHaveLength(2);
	});

	test('after a failure no item that had not started is started', async () => {
		emu.inject('sse', { kind: 'appCode', code: 2001 });
		const run = await harness.run({
			nodes: [read(PHOTOS.slice(0, 3)), { type: 'nemoVideoPhotoToVideo', parameters: { ...perItem, options: { concurrency: 1 } } }],
		});
		expect(run.error?.message).toMatch(/credits/i);
		expect(charged()).toEqual({ sessions: 1, uploads: 1, messages: 1, renders: 0 });
	});
});

describe('Source: binary files', () => {
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
