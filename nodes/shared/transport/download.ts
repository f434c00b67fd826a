import type { Readable } from 'node:stream';
import { PassThrough, pipeline } from 'node:stream';

import type { EgressGuard } from './egressGuard';
import { packageEgressGuard } from './egressGuard';
import type { HttpResponse } from './send';
import { discardBody, headerValue, sendHttp } from './send';

/** The longest silence allowed between two chunks of a downloaded file. */
export const DOWNLOAD_BODY_TIMEOUT_MS = 120_000;
const DOWNLOAD_HEADERS_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 3;

/**
 * A plain download from a URL the service returned: no token, http(s) only, redirects checked by hand. The
 * address did not come from the credential, so every hop passes the outbound request guard (n8n's, else the
 * package's own from the N8N_SSRF_* settings: see egressGuardFor in egressGuard.ts).
 */
export async function downloadPublic(
	url: string,
	signal: AbortSignal | undefined,
	guard: EgressGuard | undefined = packageEgressGuard(),
): Promise<HttpResponse> {
	let current = url;
	for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
		refuseOtherSchemes(current);
		const response = await sendHttp({
			method: 'GET',
			url: current,
			headers: { Accept: '*/*' },
			signal,
			headersTimeoutMs: DOWNLOAD_HEADERS_TIMEOUT_MS,
			bodyTimeoutMs: DOWNLOAD_BODY_TIMEOUT_MS,
			guard,
		});
		const location = headerValue(response.headers, 'location');
		if (response.statusCode >= 300 && response.statusCode < 400 && location) {
			await discardBody(response);
			current = new URL(location, current).toString();
			continue;
		}
		if (response.statusCode >= 400) {
			await discardBody(response);
			throw new Error(`HTTP ${response.statusCode}`);
		}
		return response;
	}
	throw new Error('too many redirects');
}

function refuseOtherSchemes(url: string): void {
	const protocol = new URL(url).protocol;
	if (protocol !== 'https:' && protocol !== 'http:') {
		throw new Error(`refused to fetch a ${protocol} URL (only http and https are followed)`);
	}
}

/** Content types that are an answer about a file, never the file (a JSON envelope, an HTML error page). */
const NOT_A_FILE = /json|html|xml|^\s*text\//i;

function describeNonFile(contentType: string): string {
	if (/json/i.test(contentType)) return 'JSON';
	if (/html/i.test(contentType)) return 'an HTML page';
	return /xml/i.test(contentType) ? 'XML' : 'text';
}

/** An answer that is not a file (JSON, HTML, text) is never handed on as the video (issue 9, points 14 and 15). */
export async function refuseNonFile(response: HttpResponse): Promise<HttpResponse> {
	const contentType = headerValue(response.headers, 'content-type') ?? '';
	if (!NOT_A_FILE.test(contentType)) return response;
	await discardBody(response);
	throw new Error(
		`the answer was ${describeNonFile(contentType)} (${contentType.split(';')[0].trim()}, HTTP ${response.statusCode}), not the video file`,
	);
}

/** Chunks of a downloaded file read ahead of n8n's binary store (64 KiB each as they come off the socket: 512 KiB). */
const READ_AHEAD_CHUNKS = 8;

/**
 * A downloaded body for n8n's binary store: each chunk as it came off the connection, read ahead up to
 * READ_AHEAD_CHUNKS. The store writes a stream with one awaited file write per read (fs.promises.writeFile); read
 * that way, a byte stream hands over everything that arrived during the last write as one new Buffer (Readable
 * read() joins its buffered chunks): 92 to 94% of a 200 MB download was copied once more, and those copies drive
 * V8's full garbage collections, which n8n's large heap makes slow. In object mode a read takes one chunk, as it
 * came: for 200 MB in a fresh n8n process, full collections went from 12.5 to 7.5 and the node's time from 1.03 s
 * to 0.76 s (medians of 10 runs each, bench/upload-download.ts). An error on either side ends both: a
 * broken download fails the store's write, a failed write closes the connection.
 */
export function inArrivalChunks(body: Readable): Readable {
	const chunks = new PassThrough({ objectMode: true, highWaterMark: READ_AHEAD_CHUNKS });
	pipeline(body, chunks, () => {
		// the error, if any, is the one `chunks` was destroyed with: its reader gets it
	});
	return chunks;
}
