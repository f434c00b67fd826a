import type { IBinaryData, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { Readable } from 'node:stream';

import { ACCEPTED_FILE_TYPES, MAX_FILE_BYTES } from './constants';
import type { UploadPart, UploadedFile } from './transport/api';
import { uploadFiles } from './transport/api';
import type { NemoVideoClient } from './transport/client';

export type AcceptedType = (typeof ACCEPTED_FILE_TYPES)[number];

/** One file of an input item, checked and ready to stream from n8n's binary store. */
export interface PendingFile extends UploadPart {
	itemIndex: number;
	property: string;
	type: AcceptedType;
	/** The folder the file was read from, as n8n's file readers set it (albums by folder). */
	directory?: string;
	/** A stream of the file; `chunkSize` bounds each read (reading only the first bytes). */
	open(chunkSize?: number): Promise<Readable>;
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
/** Brands of AVIF (AV1 in HEIF), which the service does not accept; `mif1`/`msf1` are shared with HEIC. */
const AVIF_BRANDS = new Set(['avif', 'avis']);
const MOV_BRANDS = new Set(['qt  ']);
const M4A_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ']);
/** Atoms a QuickTime file may begin with: files written before `ftyp` existed (QuickTime File Format, 2001). */
const QUICKTIME_FIRST_ATOMS = new Set(['wide', 'mdat', 'moov', 'free', 'skip', 'pnot']);
/** RIFF and its 64-bit forms (RF64: EBU Tech 3306; BW64: ITU-R BS.2088), which hold WAV files over 4 GB. */
const RIFF_IDS = new Set(['RIFF', 'RF64', 'BW64']);

/** The file's real type from its first bytes (at least 64 wanted), whatever its name says. */
export function detectFileType(head: Buffer): AcceptedType | null {
	const ascii = (start: number, end: number) => head.subarray(start, end).toString('latin1');
	if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpg';
	if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
	if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
	if (RIFF_IDS.has(ascii(0, 4))) return riffType(ascii(8, 12));
	if (ascii(4, 8) === 'ftyp') return isoBrandType(head);
	if (startsWithQuickTimeAtom(head)) return 'mov';
	if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
		return head.includes(Buffer.from('webm')) ? 'webm' : 'mkv';
	}
	if (ascii(0, 3) === 'ID3') return 'mp3';
	return mpegAudioType(head);
}

function riffType(form: string): AcceptedType | null {
	if (form === 'WEBP') return 'webp';
	if (form === 'AVI ') return 'avi';
	if (form === 'WAVE') return 'wav';
	return null;
}

/** ISO base media (ISO/IEC 14496-12): the major brand, and for the HEIF family the compatible brands too. */
function isoBrandType(head: Buffer): AcceptedType | null {
	const major = head.subarray(8, 12).toString('latin1');
	const boxEnd = Math.min(head.readUInt32BE(0), head.length);
	const compatible: string[] = [];
	for (let offset = 16; offset + 4 <= boxEnd; offset += 4) compatible.push(head.subarray(offset, offset + 4).toString('latin1'));
	// An AVIF written with the generic HEIF major brand `mif1` says what it is among its compatible brands.
	if (AVIF_BRANDS.has(major) || (HEIF_BRANDS.has(major) && compatible.some((brand) => AVIF_BRANDS.has(brand)))) return null;
	if (HEIF_BRANDS.has(major)) return 'heic';
	if (MOV_BRANDS.has(major)) return 'mov';
	if (M4A_BRANDS.has(major)) return 'm4a';
	return 'mp4';
}

/**
 * A known first atom whose size fits a file the service accepts (0 = to the end of the file, 1 = a 64-bit size
 * follows). Text that happens to hold "free" at byte 4 has printable bytes as its size: over 500 MB, so refused.
 */
function startsWithQuickTimeAtom(head: Buffer): boolean {
	if (head.length < 8 || !QUICKTIME_FIRST_ATOMS.has(head.subarray(4, 8).toString('latin1'))) return false;
	const size = head.readUInt32BE(0);
	if (size === 0) return true;
	if (size === 1) return head.length >= 16 && fitsAcceptedSize(Number(head.readBigUInt64BE(8)), 16);
	return fitsAcceptedSize(size, 8);
}

function fitsAcceptedSize(size: number, header: number): boolean {
	return size >= header && size <= MAX_FILE_BYTES;
}

/**
 * An ADTS AAC frame, or an MPEG audio Layer III frame (an MP3 without ID3 tag) whose header fields are all valid:
 * a UTF-16 byte order mark (FF FE) has the sync bits but reads as Layer I, so it is not taken for MP3.
 */
function mpegAudioType(head: Buffer): AcceptedType | null {
	if (head.length < 4 || head[0] !== 0xff) return null;
	if ((head[1] & 0xf6) === 0xf0) return 'aac';
	const version = (head[1] >> 3) & 0x03;
	const layer = (head[1] >> 1) & 0x03;
	const bitrate = head[2] >> 4;
	const sampleRate = (head[2] >> 2) & 0x03;
	const emphasis = head[3] & 0x03;
	const layerThree = (head[1] & 0xe0) === 0xe0 && version !== 0x01 && layer === 0x01;
	return layerThree && bitrate !== 0x0f && sampleRate !== 0x03 && emphasis !== 0x02 ? 'mp3' : null;
}

async function readHead(stream: Readable, bytes = 64): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let size = 0;
	try {
		for await (const chunk of stream) {
			chunks.push(chunk as Buffer);
			size += (chunk as Buffer).length;
			if (size >= bytes) break;
		}
	} finally {
		stream.destroy();
	}
	return Buffer.concat(chunks).subarray(0, bytes);
}

function humanSize(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(2)} MB (${bytes} bytes)`;
}

/** The binary property names to upload from one item: a comma list, or `*` for every binary the item has. */
function binaryPropertyNames(ctx: IExecuteFunctions, itemIndex: number): string[] {
	const raw = String(ctx.getNodeParameter('binaryProperties', itemIndex, 'data') ?? '').trim();
	const item = ctx.getInputData()[itemIndex];
	if (raw === '*') {
		const names = Object.keys(item.binary ?? {});
		if (names.length === 0) {
			throw new NodeOperationError(ctx.getNode(), `Item ${itemIndex} has no binary data to upload`, {
				itemIndex,
				description:
					'Put a node that reads files (for example "Read/Write Files from Disk") before this one, or switch "Source" to URLs.',
			});
		}
		return names;
	}
	const names = raw.split(',').map((name) => name.trim()).filter(Boolean);
	if (names.length === 0) {
		throw new NodeOperationError(ctx.getNode(), '"Binary Properties" is empty', {
			itemIndex,
			description: 'Name the binary properties that hold the photos (for example "data"), or "*" for all of them.',
		});
	}
	return names;
}

/**
 * Collects and checks every file of one item before anything is sent: present, not empty, at most 200 MB, and
 * of an accepted type by its first bytes. A bad file fails the item with the file named.
 */
export async function collectItemFiles(ctx: IExecuteFunctions, itemIndex: number): Promise<PendingFile[]> {
	const item = ctx.getInputData()[itemIndex];
	const files: PendingFile[] = [];
	for (const property of binaryPropertyNames(ctx, itemIndex)) {
		const binary: IBinaryData | undefined = item.binary?.[property];
		if (!binary) {
			const available = Object.keys(item.binary ?? {});
			throw new NodeOperationError(ctx.getNode(), `Item ${itemIndex} has no binary property "${property}"`, {
				itemIndex,
				description: available.length
					? `This item's binary properties are: ${available.join(', ')}. Set "Binary Properties" to one of them, or "*".`
					: 'This item has no binary data. Put a node that reads files before this one, or switch "Source" to URLs.',
			});
		}
		files.push(await checkFile(ctx, itemIndex, property, binary));
	}
	return files;
}

/** A binary's size and a way to stream it: from n8n's binary store (filesystem, S3 modes), else from the item. */
async function storedBinary(
	ctx: IExecuteFunctions,
	binary: IBinaryData,
): Promise<{ size: number; open: UploadPart['open'] }> {
	const id = binary.id;
	if (!id) {
		const data = binary.data ?? '';
		return { size: Buffer.byteLength(data, 'base64'), open: async () => Readable.from([Buffer.from(data, 'base64')]) };
	}
	const metadata = await ctx.helpers.getBinaryMetadata(id);
	return {
		size: Number(metadata.fileSize ?? binary.bytes ?? 0),
		open: async (chunkSize?: number) => await ctx.helpers.getBinaryStream(id, chunkSize),
	};
}

async function checkFile(
	ctx: IExecuteFunctions,
	itemIndex: number,
	property: string,
	binary: IBinaryData,
): Promise<PendingFile> {
	const fileName = binary.fileName ?? `${property}${binary.fileExtension ? `.${binary.fileExtension}` : ''}`;
	const { size, open } = await storedBinary(ctx, binary);
	const where = `"${fileName}" (item ${itemIndex}, binary property "${property}")`;
	if (size === 0) {
		throw new NodeOperationError(ctx.getNode(), `The file ${where} is empty`, {
			itemIndex,
			description: 'Nothing was uploaded for this item. Check the node that read the file.',
		});
	}
	if (size > MAX_FILE_BYTES) {
		throw new NodeOperationError(ctx.getNode(), `The file ${where} is too large: ${humanSize(size)}`, {
			itemIndex,
			description: `NemoVideo accepts files of at most 200 MB. Nothing was uploaded for this item. Compress or resize the photo, or trim the video.`,
		});
	}
	const type = detectFileType(await readHead(await open()));
	if (!type) {
		throw new NodeOperationError(ctx.getNode(), `The file ${where} is not a type NemoVideo accepts`, {
			itemIndex,
			description: `Its content is not one of: ${ACCEPTED_FILE_TYPES.join(', ')} (the type is read from the file's first bytes, not its name). Nothing was uploaded for this item.`,
		});
	}
	return {
		itemIndex,
		property,
		fileName,
		mimeType: binary.mimeType || 'application/octet-stream',
		size,
		type,
		open,
		...(binary.directory ? { directory: binary.directory } : {}),
	};
}

/**
 * Streams files to a session, `perRequest` at a time, as repeated `files` fields of one multipart body each. Each
 * attempt reopens the files from n8n's binary store, so a retried request never needs a buffered copy.
 */
export async function uploadInBatches(
	client: NemoVideoClient,
	sessionId: string,
	files: PendingFile[],
	options: { perRequest: number; itemIndex: number; deadline?: number },
): Promise<UploadedFile[]> {
	const uploaded: UploadedFile[] = [];
	for (let start = 0; start < files.length; start += options.perRequest) {
		const batch = files.slice(start, start + options.perRequest);
		const call = { itemIndex: options.itemIndex, deadline: options.deadline };
		uploaded.push(...(await uploadFiles(client, { sessionId, files: batch }, call)));
	}
	return uploaded;
}

/**
 * A comma between two URLs: followed by optional spaces and a scheme (`https://`; any scheme, so that an
 * `ftp://` entry is refused by name rather than glued to the URL before it). A comma inside a URL (Cloudinary's
 * `w_300,h_200`, a query string) is not followed by a scheme and stays part of its URL.
 */
const COMMA_BEFORE_URL = /,(?=\s*[a-z][a-z\d+.-]*:\/\/)/i;

/**
 * The `urls` parameter as entries: an array from an expression, a JSON array as text, or a newline list whose
 * lines may hold several URLs separated by commas (the field is documented as a "comma or newline list").
 */
function urlEntries(ctx: IExecuteFunctions, itemIndex: number, raw: unknown): string[] {
	if (Array.isArray(raw)) return raw.map((entry) => String(entry));
	const text = String(raw ?? '').trim();
	if (text.startsWith('[')) return jsonArrayEntries(ctx, itemIndex, text);
	return text
		.split(/\r?\n/)
		.flatMap((line) => line.split(COMMA_BEFORE_URL))
		.map((entry) => entry.trim().replace(/^,+|,+$/g, ''));
}

/** No URL starts with `[`: such a value is meant as a JSON array, and a broken one is said so. */
function jsonArrayEntries(ctx: IExecuteFunctions, itemIndex: number, text: string): string[] {
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		parsed = undefined;
	}
	if (!Array.isArray(parsed)) {
		throw new NodeOperationError(ctx.getNode(), '"URLs" starts with "[" but is not a JSON array', {
			itemIndex,
			description: 'Write the URLs as a JSON array of strings (["https://…", "https://…"]), or one URL per line.',
		});
	}
	return parsed.map((entry) => String(entry));
}

/** A list of http(s) URLs; anything else fails the item, naming the entry. */
export function parseUrlList(ctx: IExecuteFunctions, itemIndex: number): string[] {
	const raw = ctx.getNodeParameter('urls', itemIndex, '') as unknown;
	const entries = urlEntries(ctx, itemIndex, raw)
		.map((entry) => entry.trim())
		.filter(Boolean);
	if (entries.length === 0) {
		throw new NodeOperationError(ctx.getNode(), '"URLs" is empty', {
			itemIndex,
			description:
				'Give one or more http(s) URLs of photos or videos: one per line (safest: a URL may contain commas), separated by commas, or as a JSON array.',
		});
	}
	for (const entry of entries) {
		let protocol = '';
		try {
			protocol = new URL(entry).protocol;
		} catch {
			protocol = '';
		}
		if (protocol !== 'http:' && protocol !== 'https:') {
			throw new NodeOperationError(ctx.getNode(), `"${entry}" is not an http(s) URL`, {
				itemIndex,
				description: 'Each entry of "URLs" must start with https:// or http://. Put one URL per line if a URL contains commas.',
			});
		}
	}
	return entries;
}
