/**
 * The date a photo was taken, from the first bytes of its file (pure functions, no I/O): EXIF DateTimeOriginal,
 * with OffsetTimeOriginal and SubSecTimeOriginal when the photo has them, in JPEG, HEIC/HEIF, PNG and WebP.
 *
 * Library or own parser: the TIFF/EXIF part is read by `exif-reader` (MIT, 17 KB, no dependencies, bundled into
 * dist by vendor.ts like the other runtime libraries). It parses a Buffer it is given and tolerates one cut
 * short, so it works on the first bytes alone. The containers around the EXIF block are walked here, a few
 * lines each. Why not the others: `exifr` also walks containers, but has had no release since 2021, reads no
 * WebP, and turns dates into Date objects in the process's time zone; `exifreader` reads every container but
 * is MPL-2.0, 1.4 MB installed and pulls in an XML parser.
 *
 * Where the EXIF block sits: JPEG (APP1) and the HEIC of phones put it at the start. WebP puts it after the
 * image data (its container's rule), and so do libheif's and ImageMagick's writers: in such a file larger than
 * the bytes read it is not reached, and the photo counts as undated. PNG's EXIF in text chunks (ImageMagick's
 * "exif:*" and "Raw profile type exif") always follows the image data, so only the eXIf chunk is read.
 */
import { readExif } from './vendor';

/** How much of a file is read for its date: the EXIF block must start within it. */
export const DATE_TAKEN_HEAD_BYTES = 128 * 1024;

export interface DateTaken {
	/** As the photo says it: `2026-07-14T18:30:05`, with `+02:00` when it gives its offset. */
	text: string;
	/** The calendar day it was taken, where it was taken: `YYYY-MM-DD`. */
	day: string;
	/** The clock time read as if it were UTC, in ms (sub-seconds included). */
	clockMs: number;
	/** Minutes east of UTC, when the photo says it. */
	offsetMinutes?: number;
}

const ascii = (buffer: Buffer, start: number, end: number) => buffer.subarray(start, end).toString('latin1');

/** The block from `start` to `end`, when all of it was read: a block cut short may hold the date but not its offset. */
function whole(head: Buffer, start: number, end: number): Buffer | undefined {
	return end <= head.length && start < end ? head.subarray(start, end) : undefined;
}

/** JPEG: the APP1 segment that starts with `Exif\0\0`, before the image data (ITU T.81 markers). */
function jpegExif(head: Buffer): Buffer | undefined {
	let offset = 2;
	while (offset + 4 <= head.length) {
		if (head[offset] !== 0xff) return undefined;
		const marker = head[offset + 1];
		if (marker === 0xff) {
			offset += 1; // a fill byte
			continue;
		}
		if (marker === 0xda || marker === 0xd9) return undefined; // start of scan, end of image
		if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
			offset += 2; // markers without a length
			continue;
		}
		const length = head.readUInt16BE(offset + 2);
		const start = offset + 4;
		if (marker === 0xe1 && ascii(head, start, start + 6) === 'Exif\0\0') return whole(head, start, offset + 2 + length);
		offset += 2 + length;
	}
	return undefined;
}

/** PNG: the eXIf chunk (PNG 3rd edition; its data is the TIFF block itself). */
function pngExif(head: Buffer): Buffer | undefined {
	for (let offset = 8; offset + 8 <= head.length; ) {
		const length = head.readUInt32BE(offset);
		const type = ascii(head, offset + 4, offset + 8);
		if (type === 'eXIf') return whole(head, offset + 8, offset + 8 + length);
		if (type === 'IEND') return undefined;
		offset += 12 + length;
	}
	return undefined;
}

/** WebP: the RIFF `EXIF` chunk (Google's WebP container specification). */
function webpExif(head: Buffer): Buffer | undefined {
	for (let offset = 12; offset + 8 <= head.length; ) {
		const type = ascii(head, offset, offset + 4);
		const length = head.readUInt32LE(offset + 4);
		if (type === 'EXIF') return whole(head, offset + 8, offset + 8 + length);
		offset += 8 + length + (length & 1);
	}
	return undefined;
}

interface Box {
	type: string;
	/** Where its content starts (after size and type, and after version and flags for a full box). */
	start: number;
	end: number;
}

/** The boxes (ISO/IEC 14496-12) between `start` and `end`; a box running past the head ends at the head. */
function boxes(head: Buffer, start: number, end: number): Box[] {
	const found: Box[] = [];
	for (let offset = start; offset + 8 <= end; ) {
		let size = head.readUInt32BE(offset);
		let header = 8;
		if (size === 1 && offset + 16 <= end) {
			size = Number(head.readBigUInt64BE(offset + 8));
			header = 16;
		} else if (size === 0) size = end - offset;
		if (size < header) break;
		found.push({ type: ascii(head, offset + 4, offset + 8), start: offset + header, end: Math.min(offset + size, end) });
		offset += size;
	}
	return found;
}

/** Reads an unsigned big-endian number of 0, 2, 4 or 8 bytes (iloc's field sizes). */
function readSized(head: Buffer, offset: number, bytes: number): number {
	if (bytes === 0) return 0;
	if (bytes === 2) return head.readUInt16BE(offset);
	if (bytes === 4) return head.readUInt32BE(offset);
	return Number(head.readBigUInt64BE(offset));
}

/** The item id of the `Exif` item, from `iinf`'s `infe` boxes (versions 2 and 3 carry the item type). */
function exifItemId(head: Buffer, iinf: Box): number | undefined {
	const version = head[iinf.start];
	const entries = iinf.start + 4 + (version === 0 ? 2 : 4);
	for (const infe of boxes(head, entries, iinf.end)) {
		if (infe.type !== 'infe') continue;
		const infeVersion = head[infe.start];
		if (infeVersion < 2) continue;
		const idBytes = infeVersion === 2 ? 2 : 4;
		const id = readSized(head, infe.start + 4, idBytes);
		if (ascii(head, infe.start + 4 + idBytes + 2, infe.start + 4 + idBytes + 6) === 'Exif') return id;
	}
	return undefined;
}

/** Where an item's data is, from `iloc` (first extent): in the file, or inside the `idat` box. */
function itemLocation(head: Buffer, iloc: Box, itemId: number): { offset: number; length: number; inIdat: boolean } | undefined {
	const version = head[iloc.start];
	let at = iloc.start + 4;
	const offsetSize = head[at] >> 4;
	const lengthSize = head[at] & 0x0f;
	const baseOffsetSize = head[at + 1] >> 4;
	const indexSize = version >= 1 ? head[at + 1] & 0x0f : 0;
	at += 2;
	const count = version < 2 ? head.readUInt16BE(at) : head.readUInt32BE(at);
	at += version < 2 ? 2 : 4;
	for (let item = 0; item < count && at < iloc.end; item++) {
		const id = version < 2 ? head.readUInt16BE(at) : head.readUInt32BE(at);
		at += version < 2 ? 2 : 4;
		const method = version >= 1 ? head.readUInt16BE(at) & 0x0f : 0;
		if (version >= 1) at += 2;
		at += 2; // data_reference_index
		const base = readSized(head, at, baseOffsetSize);
		at += baseOffsetSize;
		const extents = head.readUInt16BE(at);
		at += 2;
		const first = { offset: 0, length: 0 };
		for (let extent = 0; extent < extents; extent++) {
			at += indexSize;
			const offset = readSized(head, at, offsetSize);
			const length = readSized(head, at + offsetSize, lengthSize);
			at += offsetSize + lengthSize;
			if (extent === 0) Object.assign(first, { offset, length });
		}
		if (id === itemId) return { offset: base + first.offset, length: first.length, inIdat: method === 1 };
	}
	return undefined;
}

/**
 * HEIC/HEIF: the `Exif` item of the `meta` box (ISO/IEC 23008-12), found through `iinf` and `iloc`. Its data
 * starts with a 4-byte offset to the TIFF header (Annex A.2.1).
 */
function heifExif(head: Buffer): Buffer | undefined {
	const meta = boxes(head, 0, head.length).find((box) => box.type === 'meta');
	if (!meta) return undefined;
	const children = boxes(head, meta.start + 4, meta.end);
	const iinf = children.find((box) => box.type === 'iinf');
	const iloc = children.find((box) => box.type === 'iloc');
	if (!iinf || !iloc) return undefined;
	const id = exifItemId(head, iinf);
	if (id === undefined) return undefined;
	const location = itemLocation(head, iloc, id);
	if (!location) return undefined;
	const idat = children.find((box) => box.type === 'idat');
	const start = location.inIdat ? (idat ? idat.start + location.offset : -1) : location.offset;
	if (start < 0 || start + 4 > head.length) return undefined;
	const tiffOffset = head.readUInt32BE(start);
	const end = location.length > 0 ? start + location.length : head.length;
	return whole(head, start + 4 + tiffOffset, end);
}

/** The EXIF (TIFF) block of a photo from its first bytes, whichever of the four containers it is in. */
export function exifBlock(head: Buffer): Buffer | undefined {
	try {
		if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return jpegExif(head);
		if (head.length >= 8 && head.readUInt32BE(0) === 0x89504e47 && head.readUInt32BE(4) === 0x0d0a1a0a) return pngExif(head);
		if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return webpExif(head);
		if (ascii(head, 4, 8) === 'ftyp') return heifExif(head);
	} catch {
		// A length that points past the bytes read (a file cut short, or a broken one): no EXIF found.
	}
	return undefined;
}

/** `+02:00` / `-0530` → minutes east of UTC; undefined for anything else (`   :  ` when the camera did not know). */
export function parseOffset(text: unknown): number | undefined {
	const match = typeof text === 'string' ? /^\s*([+-])(\d{2}):?(\d{2})\s*$/.exec(text) : null;
	if (!match) return undefined;
	const minutes = Number(match[2]) * 60 + Number(match[3]);
	if (minutes > 14 * 60) return undefined;
	return match[1] === '-' ? -minutes : minutes;
}

function formatOffset(minutes: number): string {
	const sign = minutes < 0 ? '-' : '+';
	const abs = Math.abs(minutes);
	return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** The date taken in an EXIF block: DateTimeOriginal (with its sub-seconds and offset), or undefined. */
export function dateTakenFromExif(tiff: Buffer): DateTaken | undefined {
	let photo: Record<string, unknown> | undefined;
	try {
		photo = readExif(tiff).Photo as Record<string, unknown> | undefined;
	} catch {
		return undefined;
	}
	const original = photo?.DateTimeOriginal;
	if (!(original instanceof Date) || Number.isNaN(original.getTime())) return undefined;
	const subSeconds = /^\s*(\d{1,3})/.exec(String(photo?.SubSecTimeOriginal ?? ''));
	const clockMs = original.getTime() + (subSeconds ? Math.round(Number(`0.${subSeconds[1]}`) * 1000) : 0);
	const offsetMinutes = parseOffset(photo?.OffsetTimeOriginal);
	const iso = original.toISOString().slice(0, 19);
	return {
		text: offsetMinutes === undefined ? iso : `${iso}${formatOffset(offsetMinutes)}`,
		day: iso.slice(0, 10),
		clockMs,
		...(offsetMinutes === undefined ? {} : { offsetMinutes }),
	};
}

/** The date a photo was taken, from its first bytes (up to DATE_TAKEN_HEAD_BYTES), or undefined. */
export function dateTakenFromHead(head: Buffer): DateTaken | undefined {
	const tiff = exifBlock(head.subarray(0, DATE_TAKEN_HEAD_BYTES));
	return tiff && tiff.length >= 8 ? dateTakenFromExif(tiff) : undefined;
}

/**
 * The moment a photo was taken, in ms since the epoch: its clock time less its offset; a photo that gives no
 * offset is taken to be in `defaultOffsetMinutes` (the workflow's time zone).
 */
export function instantOf(date: DateTaken, defaultOffsetMinutes: number): number {
	return date.clockMs - (date.offsetMinutes ?? defaultOffsetMinutes) * 60_000;
}
