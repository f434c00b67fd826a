// Media helpers: type sniffing from magic bytes, image dimensions, the synthetic MP4, ranged streaming.
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { head, sendJson, type Ctx } from './http';
import type { FileType } from './types';

export const FIXTURES_DIR = join(__dirname, 'fixtures');
export const SAMPLE_MP4 = join(FIXTURES_DIR, 'sample.mp4');
export const SAMPLE_MP4_DURATION = 2;

/** Bytes kept from the start of each uploaded file for sniffing and image dimensions. */
export const SNIFF_BYTES = 128 * 1024;

export const ACCEPTED_FORMATS = 'mp4, mov, avi, webm, mkv, jpg, png, gif, webp, heic, mp3, wav, m4a, aac';

export interface Detected {
	format: string;
	fileType: FileType;
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'mif1', 'msf1', 'hevc', 'hevx', 'heim', 'heis', 'avif']);

/** Detects the file type from its first bytes; null when unknown. */
export function detectType(b: Buffer): Detected | null {
	const ascii = (from: number, to: number) => (b.length >= to ? b.toString('latin1', from, to) : '');
	if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { format: 'jpg', fileType: 'image' };
	if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a)
		return { format: 'png', fileType: 'image' };
	if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return { format: 'gif', fileType: 'image' };
	if (ascii(0, 4) === 'RIFF') {
		const kind = ascii(8, 12);
		if (kind === 'WEBP') return { format: 'webp', fileType: 'image' };
		if (kind === 'AVI ') return { format: 'avi', fileType: 'video' };
		if (kind === 'WAVE') return { format: 'wav', fileType: 'audio' };
		return null;
	}
	if (ascii(4, 8) === 'ftyp') {
		const brand = ascii(8, 12);
		if (HEIF_BRANDS.has(brand)) return { format: 'heic', fileType: 'image' };
		if (brand === 'M4A ' || brand === 'M4B ') return { format: 'm4a', fileType: 'audio' };
		if (brand === 'qt  ') return { format: 'mov', fileType: 'video' };
		return { format: 'mp4', fileType: 'video' };
	}
	if (b.length >= 4 && b.readUInt32BE(0) === 0x1a45dfa3) {
		const isWebm = b.subarray(0, 64).includes('webm');
		return { format: isWebm ? 'webm' : 'mkv', fileType: 'video' };
	}
	if (ascii(0, 3) === 'ID3') return { format: 'mp3', fileType: 'audio' };
	if (b.length >= 2 && b[0] === 0xff) {
		if (b[1] === 0xf1 || b[1] === 0xf9) return { format: 'aac', fileType: 'audio' };
		if (b[1] === 0xfb || b[1] === 0xfa || b[1] === 0xf3 || b[1] === 0xf2 || b[1] === 0xe3)
			return { format: 'mp3', fileType: 'audio' };
	}
	return null;
}

const EXT_TYPES: Record<string, Detected> = {
	jpg: { format: 'jpg', fileType: 'image' },
	jpeg: { format: 'jpg', fileType: 'image' },
	png: { format: 'png', fileType: 'image' },
	gif: { format: 'gif', fileType: 'image' },
	webp: { format: 'webp', fileType: 'image' },
	heic: { format: 'heic', fileType: 'image' },
	heif: { format: 'heic', fileType: 'image' },
	mp4: { format: 'mp4', fileType: 'video' },
	m4v: { format: 'mp4', fileType: 'video' },
	mov: { format: 'mov', fileType: 'video' },
	avi: { format: 'avi', fileType: 'video' },
	webm: { format: 'webm', fileType: 'video' },
	mkv: { format: 'mkv', fileType: 'video' },
	mp3: { format: 'mp3', fileType: 'audio' },
	wav: { format: 'wav', fileType: 'audio' },
	m4a: { format: 'm4a', fileType: 'audio' },
	aac: { format: 'aac', fileType: 'audio' },
};

/** Type from a file name or URL's extension (used for `{"urls":[…]}` uploads, which are never fetched). */
export function typeFromName(name: string): Detected | null {
	const m = /\.([a-z0-9]+)$/i.exec(name);
	return m ? (EXT_TYPES[m[1].toLowerCase()] ?? null) : null;
}

/** Image width/height from the first bytes (PNG, GIF, JPEG SOF, WEBP); undefined when not found. */
export function imageSize(b: Buffer, format: string): { width: number; height: number } | undefined {
	try {
		if (format === 'png' && b.length >= 24) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
		if (format === 'gif' && b.length >= 10) return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
		if (format === 'jpg') return jpegSize(b);
		if (format === 'webp' && b.length >= 30) {
			const chunk = b.toString('latin1', 12, 16);
			if (chunk === 'VP8X') return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
			if (chunk === 'VP8 ') return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
			if (chunk === 'VP8L') {
				const bits = b.readUInt32LE(21);
				return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
			}
		}
	} catch {
		// truncated header: fall through
	}
	return undefined;
}

function jpegSize(b: Buffer): { width: number; height: number } | undefined {
	let i = 2;
	while (i + 9 < b.length) {
		if (b[i] !== 0xff) {
			i++;
			continue;
		}
		const marker = b[i + 1];
		if (marker === 0xff) {
			i++;
			continue;
		}
		if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
			i += 2;
			continue;
		}
		const len = b.readUInt16BE(i + 2);
		const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
		if (isSof) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
		i += 2 + len;
	}
	return undefined;
}

export function mimeOf(format: string): string {
	const m: Record<string, string> = {
		jpg: 'image/jpeg',
		png: 'image/png',
		gif: 'image/gif',
		webp: 'image/webp',
		heic: 'image/heic',
		mp4: 'video/mp4',
		mov: 'video/quicktime',
		avi: 'video/x-msvideo',
		webm: 'video/webm',
		mkv: 'video/x-matroska',
		mp3: 'audio/mpeg',
		wav: 'audio/wav',
		m4a: 'audio/mp4',
		aac: 'audio/aac',
	};
	return m[format] ?? 'application/octet-stream';
}

/** The ffmpeg binary of @ffmpeg-installer/ffmpeg, or undefined when it is not installed. */
export function ffmpegPath(): string | undefined {
	try {
		const p = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
		return p && existsSync(p) ? p : undefined;
	} catch {
		return undefined;
	}
}

// ---- the synthetic MP4: `ftyp` + one `mdat` box filling exactly `size` bytes, generated on the fly ----

function syntheticHeader(size: number): Buffer {
	const ftyp = Buffer.alloc(24);
	ftyp.writeUInt32BE(24, 0);
	ftyp.write('ftypisom', 4, 'latin1');
	ftyp.writeUInt32BE(0x200, 12);
	ftyp.write('isommp41', 16, 'latin1');
	const rest = size - 24;
	let mdat: Buffer;
	if (rest <= 0xffffffff) {
		mdat = Buffer.alloc(8);
		mdat.writeUInt32BE(Math.max(rest, 8), 0);
		mdat.write('mdat', 4, 'latin1');
	} else {
		mdat = Buffer.alloc(16);
		mdat.writeUInt32BE(1, 0);
		mdat.write('mdat', 4, 'latin1');
		mdat.writeBigUInt64BE(BigInt(rest), 8);
	}
	return Buffer.concat([ftyp, mdat]);
}

/** Bytes [start, end] (inclusive) of the synthetic MP4 of `size` bytes; byte at position p of the payload is p & 0xff. */
export function syntheticStream(size: number, start = 0, end = size - 1): Readable {
	const header = syntheticHeader(size);
	const CHUNK = 64 * 1024;
	const pattern = Buffer.alloc(256);
	for (let i = 0; i < 256; i++) pattern[i] = i;
	const rotated = Buffer.concat([pattern, pattern]);
	let pos = start;
	return new Readable({
		highWaterMark: CHUNK,
		read() {
			if (pos > end) {
				this.push(null);
				return;
			}
			const len = Math.min(CHUNK, end - pos + 1);
			const buf = Buffer.allocUnsafe(len);
			const off = pos & 0xff;
			buf.fill(rotated.subarray(off, off + 256));
			if (pos < header.length) header.copy(buf, 0, pos, Math.min(header.length, pos + len));
			pos += len;
			this.push(buf);
		},
	});
}

/** Parses a single `bytes=a-b` range; undefined when absent or unsupported, 'invalid' when unsatisfiable. */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
	if (!h) return undefined;
	const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
	if (!m || (m[1] === '' && m[2] === '')) return undefined;
	let start: number;
	let end: number;
	if (m[1] === '') {
		start = Math.max(0, size - Number(m[2]));
		end = size - 1;
	} else {
		start = Number(m[1]);
		end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
	}
	if (start > end || start >= size) return 'invalid';
	return { start, end };
}

/**
 * Streams a file (or the synthetic MP4 when `path` is a number of bytes) with Content-Length and single-range
 * support, never holding it in memory.
 */
export function streamMedia(
	ctx: Ctx,
	source: { path: string; size: number } | { synthetic: number },
	contentType: string,
	extraHeaders: Record<string, string> = {},
): void {
	const size = 'synthetic' in source ? source.synthetic : source.size;
	const range = parseRange(ctx.req.headers.range, size);
	if (range === 'invalid') {
		sendJson(ctx, 416, { code: 416, message: 'Range not satisfiable' }, { 'Content-Range': `bytes */${size}` });
		return;
	}
	const start = range?.start ?? 0;
	const end = range?.end ?? size - 1;
	const headers: Record<string, string | number> = {
		'Content-Type': contentType,
		'Content-Length': Math.max(0, end - start + 1),
		'Accept-Ranges': 'bytes',
		...extraHeaders,
	};
	if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
	head(ctx, range ? 206 : 200, headers);
	if (ctx.req.method === 'HEAD' || size === 0) {
		ctx.res.end();
		return;
	}
	const body = 'synthetic' in source ? syntheticStream(size, start, end) : createReadStream(source.path, { start, end });
	pipeline(body, ctx.res, () => undefined);
}
