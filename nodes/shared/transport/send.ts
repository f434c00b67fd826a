/**
 * Sending: the one function every request of the package goes through (undici), the connection pools it sends on
 * (direct, guarded, through a proxy), and the reading of the answers' bodies. Which proxy: proxy.ts; which
 * addresses: egressGuard.ts.
 */
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';

import type { Dispatcher } from '../vendor';
import { Agent, ProxyAgent, request } from '../vendor';
import type { EgressFilter, EgressGuard } from './egressGuard';
import { asBlockedError, checkTarget } from './egressGuard';
import type { ProxyChoice } from './proxy';
import { ProxySettingError, proxyFor } from './proxy';

const POOL_OPTIONS = {
	keepAliveTimeout: 10_000,
	keepAliveMaxTimeout: 60_000,
	connections: 32,
} as const;
const CONNECT_TIMEOUT_MS = 15_000;

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
	/**
	 * The outbound request guard for an address that did not come from the credential (a URL in the service's
	 * answer). Calls to the credential's own base URL go without one: that host is the user's own choice.
	 */
	guard?: EgressGuard;
}

export type HttpResponse = Dispatcher.ResponseData;

/**
 * Every request of the package goes through here: the API, uploads, the event stream and CDN downloads. It goes
 * through the proxy the environment names (see proxyFor), and, with a guard, only to an address the guard allows.
 */
export async function sendHttp(call: HttpCall): Promise<HttpResponse> {
	const target = new URL(call.url);
	const proxy = proxyFor(target);
	if (call.guard) await checkTarget(target, call.guard, proxy !== undefined);
	try {
		return await request(target, {
			method: call.method,
			headers: call.headers,
			body: call.body,
			signal: call.signal,
			dispatcher: proxy ? proxyAgent(proxy) : directAgent(call.guard),
			headersTimeout: call.headersTimeoutMs,
			bodyTimeout: call.bodyTimeoutMs,
		});
	} catch (error) {
		const blocked = call.guard ? asBlockedError(error, target, call.guard) : undefined;
		throw blocked ?? error;
	}
}

// ---- connections through a proxy ------------------------------------------------------------------------------------

/** One pool per proxy, made when a request first needs it: a proxy set later (or by a test) is picked up. */
const proxyAgents = new Map<string, Dispatcher>();

function proxyAgent(proxy: ProxyChoice): Dispatcher {
	let agent = proxyAgents.get(proxy.url);
	if (!agent) {
		if (!URL.canParse(proxy.url)) throw new ProxySettingError(proxy.variable);
		agent = new ProxyAgent({
			uri: proxy.url,
			...POOL_OPTIONS,
			// http requests go to the proxy as absolute-URI requests, as n8n's do; https ones through CONNECT.
			proxyTunnel: false,
			proxyTls: { timeout: CONNECT_TIMEOUT_MS },
		});
		proxyAgents.set(proxy.url, agent);
	}
	return agent;
}

// ---- direct connections ---------------------------------------------------------------------------------------------

function newAgent(lookup?: LookupFunction): Agent {
	return new Agent({ ...POOL_OPTIONS, connect: { timeout: CONNECT_TIMEOUT_MS, ...(lookup ? { lookup } : {}) } });
}

/** One keep-alive pool for every call to the API: connections are reused across items and nodes. */
let apiAgent: Agent | undefined;
/** A pool per guard, whose connections resolve names through the guard's lookup. */
const guardedAgents = new WeakMap<EgressFilter, Agent>();

function directAgent(guard: EgressGuard | undefined): Agent {
	if (!guard) return (apiAgent ??= newAgent());
	let agent = guardedAgents.get(guard.filter);
	if (!agent) {
		agent = newAgent(guard.filter.createSecureLookup());
		guardedAgents.set(guard.filter, agent);
	}
	return agent;
}

// ---- bodies ---------------------------------------------------------------------------------------------------------

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
