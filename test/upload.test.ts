/**
 * The NemoVideo Upload node through n8n-core's real engine against the emulator: one session for a folder or one
 * per item, the checks it makes before anything is sent (type from the content, size), Continue On Fail, and URLs
 * sent as the JSON form. The checks themselves (type sniffing, the URL list): test/upload-checks.test.ts.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import type { NemoVideoEmulator } from './emulator';
import { scratchFolder, withEmulator } from './fixtures';
import type { Harness } from './harness';

const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_upload_token';
const CLOUDINARY = 'https://res.cloudinary.com/x/image/upload/w_300,h_200/p.jpg';
const PLAIN = 'https://example.com/photos/b.jpg';

let emu: NemoVideoEmulator;
let harness: Harness;
const scratch = scratchFolder('upload');

withEmulator({ config: { renderMs: 500, sseEventDelayMs: 5 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

const read = (paths: string[]) => ({ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(paths) } });

describe('checks before anything is sent', () => {
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
});

describe('URLs instead of files', () => {
	test('URLs go as the JSON form', async () => {
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoUpload', parameters: { sessionId: '', source: 'url', urls: 'https://example.com/a.jpg,\nhttps://example.com/b.png' } }],
		});
		expect(run.error).toBeUndefined();
		expect(emu.requestsTo('upload')[0].json).toEqual({ urls: ['https://example.com/a.jpg', 'https://example.com/b.png'], source_type: 'url' });
		expect(run.output()[0].json.files).toHaveLength(2);
	});

	test('the Upload node sends a URL with commas to the service whole', async () => {
		const result = await harness.run({
			nodes: [{ type: 'nemoVideoUpload', parameters: { source: 'url', urls: `${CLOUDINARY}\n${PLAIN}` } }],
		});
		expect(result.error).toBeUndefined();
		const sent = emu.requestsTo('upload').map((request) => request.json);
		expect(sent).toEqual([{ urls: [CLOUDINARY, PLAIN], source_type: 'url' }]);
		expect((result.output()[0].json.files as Array<{ filename: string }>).map((file) => file.filename)).toEqual([
			'p.jpg',
			'b.jpg',
		]);
	});
});

test('fixtures exist', () => {
	expect(readFileSync(PHOTOS[0]).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
});
