/**
 * The checks Upload and Photo to Video make before anything is sent: a file's type from its first bytes
 * (issue 9 point 18) and the list of URLs (issue 9 point 19).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IExecuteFunctions, INode } from 'n8n-workflow';

import { ACCEPTED_FILE_TYPES } from '../nodes/shared/constants';
import { detectFileType, parseUrlList } from '../nodes/shared/upload';
import type { AcceptedType } from '../nodes/shared/upload';
import { ffmpegPath } from './emulator/media';

const run = promisify(execFile);

let folder: string;

beforeAll(async () => {
	folder = await mkdtemp(join(tmpdir(), 'nemovideo-sniff-'));
});
afterAll(async () => await rm(folder, { recursive: true, force: true }));

/** A real file written by ffmpeg from a test source: `args` choose the codec and container. */
async function ffmpegFile(name: string, input: string[], args: string[]): Promise<Buffer> {
	const ffmpeg = ffmpegPath();
	if (!ffmpeg) throw new Error('ffmpeg of @ffmpeg-installer/ffmpeg (a dev dependency) is not installed: run npm ci');
	const path = join(folder, name);
	await run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...input, ...args, path]);
	return await readFile(path);
}

const VIDEO_SOURCE = ['-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=5', '-t', '0.4'];
const AUDIO_SOURCE = ['-f', 'lavfi', '-i', 'sine=d=0.2'];

/** An ISO-BMFF file without its leading `ftyp` box: how QuickTime files before 2001 begin. */
function withoutFtyp(file: Buffer): Buffer {
	expect(file.subarray(4, 8).toString('latin1')).toBe('ftyp');
	return file.subarray(file.readUInt32BE(0));
}

/** An `ftyp` box with the given major and compatible brands, as HEIF and AVIF writers put first. */
function ftyp(major: string, compatible: string[]): Buffer {
	const size = 16 + 4 * compatible.length;
	const box = Buffer.alloc(size);
	box.writeUInt32BE(size, 0);
	box.write('ftyp', 4, 'latin1');
	box.write(major, 8, 'latin1');
	box.write(compatible.join(''), 16, 'latin1');
	// The next box follows, as in a real file: `meta` of an image.
	return Buffer.concat([box, Buffer.from([0, 0, 0, 0x21]), Buffer.from('meta'), Buffer.alloc(40)]);
}

/** A RIFF file's first bytes: the container id, a size, the form type (WEBP, AVI, WAVE). */
function riff(form: string, id = 'RIFF'): Buffer {
	const head = Buffer.alloc(64);
	head.write(id, 0, 'latin1');
	head.writeUInt32LE(56, 4);
	head.write(form, 8, 'latin1');
	return head;
}

/** A Matroska (EBML) file's first bytes, its DocType naming the flavour. */
function ebml(docType: string): Buffer {
	return Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88]), Buffer.from(docType), Buffer.alloc(40)]);
}

describe('the type of a file from its first bytes', () => {
	const signatures: Array<[string, Buffer, AcceptedType]> = [
		['JPEG (FF D8 FF)', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]), 'jpg'],
		['PNG', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(24)]), 'png'],
		['GIF87a', Buffer.from('GIF87a\x01\x00\x01\x00', 'latin1'), 'gif'],
		['GIF89a', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), 'gif'],
		['RIFF WEBP', riff('WEBP'), 'webp'],
		['RIFF AVI', riff('AVI '), 'avi'],
		['RIFF WAVE', riff('WAVE'), 'wav'],
		['BW64 WAVE', riff('WAVE', 'BW64'), 'wav'],
		['ftyp isom', ftyp('isom', ['isom', 'iso2', 'avc1', 'mp41']), 'mp4'],
		['ftyp qt', ftyp('qt  ', ['qt  ']), 'mov'],
		['ftyp M4A', ftyp('M4A ', ['M4A ', 'mp42', 'isom']), 'm4a'],
		['ftyp heic', ftyp('heic', ['mif1', 'heic']), 'heic'],
		['EBML matroska', ebml('matroska'), 'mkv'],
		['EBML webm', ebml('webm'), 'webm'],
		['ID3 tag', Buffer.concat([Buffer.from('ID3\x04\x00\x00', 'latin1'), Buffer.alloc(20)]), 'mp3'],
		['ADTS AAC frame', Buffer.from([0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc]), 'aac'],
	];

	test.each(signatures)('%s is read as its type', (_name, head, type) => {
		expect(detectFileType(head)).toBe(type);
	});

	test('every type the service accepts has its signature above', () => {
		expect(new Set(signatures.map(([, , type]) => type))).toEqual(new Set(ACCEPTED_FILE_TYPES));
	});

	test('too few bytes, an unknown RIFF form or an unknown start is no type', () => {
		expect(detectFileType(Buffer.alloc(0))).toBeNull();
		expect(detectFileType(Buffer.from([0xff, 0xd8]))).toBeNull();
		expect(detectFileType(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBeNull();
		expect(detectFileType(riff('CDXA'))).toBeNull();
		expect(detectFileType(Buffer.from('%PDF-1.7\n'.padEnd(64, ' ')))).toBeNull();
		expect(detectFileType(Buffer.from('PK\x03\x04'.padEnd(64, '\0'), 'latin1'))).toBeNull();
	});

	test('a QuickTime file that begins with a wide, mdat, moov, free or skip atom is a mov', async () => {
		const mov = await ffmpegFile('clip.mov', VIDEO_SOURCE, ['-c:v', 'mjpeg', '-f', 'mov']);
		const wideFirst = withoutFtyp(mov);
		expect(wideFirst.subarray(4, 8).toString('latin1')).toBe('wide');
		expect(detectFileType(wideFirst)).toBe('mov');
		const mdatFirst = wideFirst.subarray(wideFirst.readUInt32BE(0));
		expect(mdatFirst.subarray(4, 8).toString('latin1')).toBe('mdat');
		expect(detectFileType(mdatFirst)).toBe('mov');

		const faststart = await ffmpegFile('faststart.mov', VIDEO_SOURCE, ['-c:v', 'mjpeg', '-movflags', 'faststart', '-f', 'mov']);
		const moovFirst = withoutFtyp(faststart);
		expect(moovFirst.subarray(4, 8).toString('latin1')).toBe('moov');
		expect(detectFileType(moovFirst)).toBe('mov');

		const mp4 = await ffmpegFile('clip.mp4', VIDEO_SOURCE, ['-c:v', 'mjpeg', '-f', 'mp4']);
		const freeFirst = withoutFtyp(mp4);
		expect(freeFirst.subarray(4, 8).toString('latin1')).toBe('free');
		expect(detectFileType(freeFirst)).toBe('mov');
		const skipFirst = Buffer.from(freeFirst);
		skipFirst.write('skip', 4, 'latin1');
		expect(detectFileType(skipFirst)).toBe('mov');

		// With its ftyp box the same files are still told apart by their brand.
		expect(detectFileType(mov)).toBe('mov');
		expect(detectFileType(mp4)).toBe('mp4');
	});

	test('text that happens to hold an atom name is not a mov', () => {
		expect(detectFileType(Buffer.from('Hi, free time is here; see you'))).toBeNull();
		expect(detectFileType(Buffer.from('\0\0\0\u0004moov'.padEnd(64, ' '), 'latin1'))).toBeNull();
	});

	test('an AVIF image is refused whatever its major brand; a HEIC with the same major brand is accepted', () => {
		expect(detectFileType(ftyp('avif', ['avif', 'mif1', 'miaf', 'MA1B']))).toBeNull();
		expect(detectFileType(ftyp('mif1', ['mif1', 'avif', 'miaf']))).toBeNull();
		expect(detectFileType(ftyp('msf1', ['msf1', 'avis', 'miaf']))).toBeNull();
		expect(detectFileType(ftyp('mif1', ['mif1', 'heic', 'miaf']))).toBe('heic');
		expect(detectFileType(ftyp('heic', ['mif1', 'heic']))).toBe('heic');
	});

	test('a UTF-16 text file is not an MP3; a real MP3 and AAC still are', async () => {
		expect(detectFileType(Buffer.from('\ufeffhello, this is a text file saved by Notepad', 'utf16le'))).toBeNull();
		const bigEndian = Buffer.from('\ufeffhello, big endian', 'utf16le').swap16();
		expect(bigEndian.subarray(0, 2)).toEqual(Buffer.from([0xfe, 0xff]));
		expect(detectFileType(bigEndian)).toBeNull();

		const mp3 = await ffmpegFile('tone.mp3', AUDIO_SOURCE, ['-c:a', 'libmp3lame', '-write_xing', '0', '-id3v2_version', '0']);
		expect(mp3[0]).toBe(0xff);
		expect(detectFileType(mp3)).toBe('mp3');
		const tagged = await ffmpegFile('tagged.mp3', AUDIO_SOURCE, ['-c:a', 'libmp3lame']);
		expect(detectFileType(tagged)).toBe('mp3');
		const aac = await ffmpegFile('tone.aac', AUDIO_SOURCE, ['-c:a', 'aac', '-f', 'adts']);
		expect(detectFileType(aac)).toBe('aac');
	});

	test('an RF64 WAV is a wav', async () => {
		const rf64 = await ffmpegFile('long.wav', AUDIO_SOURCE, ['-rf64', 'always']);
		expect(rf64.subarray(0, 4).toString('latin1')).toBe('RF64');
		expect(detectFileType(rf64)).toBe('wav');
		const plain = await ffmpegFile('short.wav', AUDIO_SOURCE, []);
		expect(detectFileType(plain)).toBe('wav');
	});
});

/** The least of IExecuteFunctions that parseUrlList reads: the node and its `urls` parameter. */
function urlsContext(urls: unknown): IExecuteFunctions {
	const node = { name: 'Upload', type: 'n8n-nodes-nemovideo.nemoVideoUpload' } as INode;
	return { getNode: () => node, getNodeParameter: () => urls } as unknown as IExecuteFunctions;
}

const CLOUDINARY = 'https://res.cloudinary.com/x/image/upload/w_300,h_200/p.jpg';
const PLAIN = 'https://example.com/photos/b.jpg';

describe('the list of URLs', () => {
	test('a URL with commas in it stays whole in a new-line list', () => {
		expect(parseUrlList(urlsContext(`${CLOUDINARY}\n${PLAIN}\r\n`), 0)).toEqual([CLOUDINARY, PLAIN]);
	});

	test('a comma list splits only where the next entry starts with a scheme such as https://', () => {
		expect(parseUrlList(urlsContext(`${CLOUDINARY},${PLAIN}, HTTP://example.com/c.jpg,`), 0)).toEqual([
			CLOUDINARY,
			PLAIN,
			'HTTP://example.com/c.jpg',
		]);
		expect(parseUrlList(urlsContext('https://example.com/a.jpg, https://example.com/b.jpg'), 0)).toEqual([
			'https://example.com/a.jpg',
			'https://example.com/b.jpg',
		]);
	});

	test('a JSON array, as text or from an expression, is taken as it is', () => {
		expect(parseUrlList(urlsContext(JSON.stringify([CLOUDINARY, PLAIN])), 0)).toEqual([CLOUDINARY, PLAIN]);
		expect(parseUrlList(urlsContext(` [ "${CLOUDINARY}" ] `), 0)).toEqual([CLOUDINARY]);
		expect(parseUrlList(urlsContext([CLOUDINARY, ` ${PLAIN} `]), 0)).toEqual([CLOUDINARY, PLAIN]);
	});

	test('a broken JSON array or a non-URL entry fails the item, naming the entry', () => {
		expect(() => parseUrlList(urlsContext(`["${CLOUDINARY}",]`), 0)).toThrow(/JSON array/);
		expect(() => parseUrlList(urlsContext([CLOUDINARY, 42]), 0)).toThrow(/"42" is not an http\(s\) URL/);
		expect(() => parseUrlList(urlsContext(`${PLAIN},ftp://example.com/x.jpg`), 0)).toThrow(
			/^"ftp:\/\/example.com\/x.jpg" is not an http\(s\) URL$/,
		);
		expect(() => parseUrlList(urlsContext(' \n , '), 0)).toThrow(/"URLs" is empty/);
	});
});
