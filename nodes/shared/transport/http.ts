import type { Readable } from 'node:stream';
import type { Dispatcher } from '../vendor';
import { Agent, request } from '../vendor';

/** One keep-alive pool for every NemoVideo call of this process: connections are reused across items and nodes. */
const agent = new Agent({
	keepAliveTimeout: 10_000,
	keepAliveMaxTimeout: 60_000,
	connect: { timeout: 15_000 },
	connections: 32,
});

export interface HttpCall {
	method: 'GET' | 'POST';
	url: string;
	headers: Record<string, string>;
	body?: string | Readable;
	signal?: AbortSignal;
	/** Time allowed until the status line and headers arrive. */
	headersTimeoutMs: number;
	/** Longest silence allowed between two chunks of the body; 0 = none (the caller bounds it). */
	bodyTimeoutMs: number;
}

export type HttpResponse = Dispatcher.ResponseData;

export async function sendHttp(call: HttpCall): Promise<HttpResponse> {
	return await request(call.url, {
		method: call.method,
		headers: call.headers,
		body: call.body,
		signal: call.signal,
		dispatcher: agent,
		headersTimeout: call.headersTimeoutMs,
		bodyTimeout: call.bodyTimeoutMs,
	});
}

export function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
	const value = headers[name.toLowerCase()];
	return Array.isArray(value) ? value[0] : value;
}

export class BodyTooLargeError extends Error {
	constructor(readonly limit: number) {
		super(`The answer was larger than ${limit} bytes`);
	}
}

/** Reads a whole (small) body as text, refusing to hold more than `limit` bytes. */
export async function readTextBody(response: HttpResponse, limit: number): Promise<string> {
	const declared = Number(headerValue(response.headers, 'content-length'));
	if (Number.isFinite(declared) && declared > limit) {
		response.body.destroy();
		throw new BodyTooLargeError(limit);
	}
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of response.body) {
		const buffer = chunk as Buffer;
		size += buffer.length;
		if (size > limit) {
			response.body.destroy();
			throw new BodyTooLargeError(limit);
		}
		chunks.push(buffer);
	}
	return Buffer.concat(chunks).toString('utf8');
}

/** Drains and discards a body so the connection can be reused; never throws. */
export async function discardBody(response: HttpResponse): Promise<void> {
	try {
		await response.body.dump({ limit: 64 * 1024 });
	} catch {
		response.body.destroy();
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

export function isLoopbackHost(hostname: string): boolean {
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
