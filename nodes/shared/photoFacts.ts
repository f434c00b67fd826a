/**
 * What Photo to Video's albums need to know of each photo, read in one pass over n8n's binary stream: its
 * content key (SHA-256, streamed: memory does not grow with the file) and the date it was taken (from its first
 * 128 KB: dateTaken.ts). Without a hash only the first 128 KB are read; the stream is then closed.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

import type { DateTaken } from './dateTaken';
import { DATE_TAKEN_HEAD_BYTES, dateTakenFromHead } from './dateTaken';
import { photoKey } from './photoMemory';

export interface PhotoFacts {
	/** Content key (photoMemory.ts photoKey), when asked for. */
	key?: string;
	date?: DateTaken;
	/** Bytes taken from the stream. */
	bytesRead: number;
}

/** Reads bounded by this when only the first bytes are wanted: two reads make the 128 KB. */
const HEAD_CHUNK_BYTES = DATE_TAKEN_HEAD_BYTES / 2;

/** Reads of 1 MB when hashing: a quarter less time than the default 64 KB on a whole file, memory still bounded. */
const HASH_CHUNK_BYTES = 1024 * 1024;

/** Reads one photo's facts from a fresh stream of it (`open(chunkSize)`: n8n's binary stream). */
export async function readPhotoFacts(
	open: (chunkSize?: number) => Promise<Readable>,
	wanted: { key: boolean; date: boolean },
): Promise<PhotoFacts> {
	if (!wanted.key && !wanted.date) return { bytesRead: 0 };
	const stream = await open(wanted.key ? HASH_CHUNK_BYTES : HEAD_CHUNK_BYTES);
	const hash = wanted.key ? createHash('sha256') : undefined;
	const head: Buffer[] = [];
	let headBytes = 0;
	let bytesRead = 0;
	try {
		for await (const chunk of stream) {
			const bytes = chunk as Buffer;
			bytesRead += bytes.length;
			hash?.update(bytes);
			if (wanted.date && headBytes < DATE_TAKEN_HEAD_BYTES) {
				const part = bytes.subarray(0, DATE_TAKEN_HEAD_BYTES - headBytes);
				head.push(part);
				headBytes += part.length;
			}
			if (!hash && headBytes >= DATE_TAKEN_HEAD_BYTES) break;
		}
	} finally {
		stream.destroy();
	}
	return {
		key: hash ? photoKey(hash.digest()) : undefined,
		date: wanted.date ? dateTakenFromHead(Buffer.concat(head)) : undefined,
		bytesRead,
	};
}

/** The key of a photo given by URL: the service fetches it, n8n never has its bytes, so the URL is its identity. */
export function urlKey(url: string): string {
	return photoKey(createHash('sha256').update(`url:${url}`).digest());
}
