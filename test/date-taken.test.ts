/**
 * The date taken from a photo's first bytes (nodes/shared/dateTaken.ts), on files written by real tools
 * (test/exif-fixtures/make.sh: ExifTool, libheif's heif-enc, cwebp, ImageMagick).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DATE_TAKEN_HEAD_BYTES, dateTakenFromHead, exifBlock, instantOf, parseOffset } from '../nodes/shared/dateTaken';

const fixture = (name: string) => readFileSync(join(__dirname, 'exif-fixtures', name));

describe('date taken from files written by real tools', () => {
	test.each([
		['jpeg-offset.jpg', '2026-07-14T18:30:05+02:00', '2026-07-14', 120],
		['heic-offset.heic', '2026-07-14T18:30:05+02:00', '2026-07-14', 120],
		['webp-offset.webp', '2026-07-14T18:30:05+02:00', '2026-07-14', 120],
		['png-exif.png', '2026-07-16T07:45:00-05:00', '2026-07-16', -300],
	])('%s: DateTimeOriginal with its offset', (name, text, day, offsetMinutes) => {
		expect(dateTakenFromHead(fixture(name))).toEqual({ text, day, clockMs: Date.parse(`${text.slice(0, 19)}Z`), offsetMinutes });
	});

	test('a JPEG without an offset (little-endian EXIF): the clock time, no offset', () => {
		const date = dateTakenFromHead(fixture('jpeg-no-offset.jpg'));
		expect(date).toEqual({ text: '2026-07-15T09:00:00', day: '2026-07-15', clockMs: Date.parse('2026-07-15T09:00:00Z') });
	});

	test.each(['jpeg-no-exif.jpg', 'heic-no-exif.heic', 'png-no-exif.png', 'webp-no-exif.webp'])('%s: no EXIF, no date', (name) => {
		expect(exifBlock(fixture(name))).toBeUndefined();
		expect(dateTakenFromHead(fixture(name))).toBeUndefined();
	});

	test('only the modification date (DateTime) is not a date taken', () => {
		expect(exifBlock(fixture('jpeg-modify-only.jpg'))).toBeDefined();
		expect(dateTakenFromHead(fixture('jpeg-modify-only.jpg'))).toBeUndefined();
	});
});

describe('only the first bytes', () => {
	test('a JPEG of 20 MB: the date comes from the first 128 KB, the rest is never looked at', () => {
		const photo = fixture('jpeg-offset.jpg');
		const big = Buffer.concat([photo, Buffer.alloc(20 * 1024 * 1024, 0x55)]);
		expect(dateTakenFromHead(big.subarray(0, DATE_TAKEN_HEAD_BYTES))?.text).toBe('2026-07-14T18:30:05+02:00');
	});

	test.each(['jpeg-offset.jpg', 'heic-offset.heic', 'webp-offset.webp', 'png-exif.png'])('%s cut short at every length: no throw, and a date only when the block is whole', (name) => {
		const photo = fixture(name);
		const whole = dateTakenFromHead(photo);
		for (let length = 0; length < photo.length; length += 7) {
			const date = dateTakenFromHead(photo.subarray(0, length));
			if (date) expect(date).toEqual(whole);
		}
	});

	test('a WebP whose EXIF chunk lies past the bytes read (WebP puts it after the image data) is undated', () => {
		const photo = fixture('webp-offset.webp');
		const exifAt = photo.indexOf('EXIF');
		expect(dateTakenFromHead(photo.subarray(0, exifAt))).toBeUndefined();
	});

	test('garbage and other files give no date', () => {
		for (const bytes of [Buffer.alloc(0), Buffer.from('hello world'), Buffer.alloc(4096, 0xff), Buffer.from('RIFF\0\0\0\0WEBPEXIF\xff\xff\xff\xff', 'latin1')]) {
			expect(dateTakenFromHead(bytes)).toBeUndefined();
		}
	});
});

describe('offsets and instants', () => {
	test.each([
		['+02:00', 120],
		['-05:00', -300],
		['+0530', 330],
		['   :  ', undefined],
		['+25:00', undefined],
		[undefined, undefined],
	])('offset %p is %p minutes', (text, minutes) => expect(parseOffset(text)).toBe(minutes));

	test('a photo with an offset is placed by it; one without, by the workflow time zone', () => {
		const withOffset = dateTakenFromHead(fixture('jpeg-offset.jpg'))!;
		const without = dateTakenFromHead(fixture('jpeg-no-offset.jpg'))!;
		expect(new Date(instantOf(withOffset, 0)).toISOString()).toBe('2026-07-14T16:30:05.000Z');
		expect(new Date(instantOf(without, 60)).toISOString()).toBe('2026-07-15T08:00:00.000Z');
	});
});
