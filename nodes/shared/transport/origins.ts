/**
 * Origins (scheme, host and port): where the bearer token may go, and which Base URLs may carry one at all.
 */

/** Scheme, host and port of a base URL: what a stored anonymous token (and its client id) is tied to. */
export function originOf(baseUrl: string): string {
	try {
		return new URL(baseUrl).origin;
	} catch {
		return '';
	}
}

/** The bearer token goes to the credential's base URL only: the same scheme, host and port. */
export function sameOrigin(a: string, b: string): boolean {
	try {
		return new URL(a).origin === new URL(b).origin;
	} catch {
		return false;
	}
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function isLoopbackHost(hostname: string): boolean {
	return LOOPBACK_HOSTS.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Returns a reason why a base URL is refused, or undefined when it may carry a token. */
export function baseUrlProblem(baseUrl: string): string | undefined {
	let url: URL;
	try {
		url = new URL(baseUrl);
	} catch {
		return `"${baseUrl}" is not a URL`;
	}
	if (url.protocol === 'https:') return undefined;
	if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
	return `"${url.origin}" is not https: the token would travel unencrypted. Use an https:// Base URL (plain http is accepted only for a loopback address such as http://127.0.0.1)`;
}
