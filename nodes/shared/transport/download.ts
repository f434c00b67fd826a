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
