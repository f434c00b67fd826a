import type { IDataObject, IExecuteFunctions, INode } from 'n8n-workflow';
import type { Readable } from 'node:stream';

import { APP_NAME, ATTRIBUTION_HEADERS } from '../constants';
import { uuid } from '../vendor';
import type { NemoVideoAuth } from './auth';
import { TokenKeeper } from './auth';
import { parseJsonKeepingBigIntegers, readEnvelope } from './envelope';
import type { FailureContext, NemoVideoFailure, NemoVideoFailureKind } from './errors';
import { NemoVideoApiError, classifyAnswer, describeFailure } from './errors';
import type { EgressGuard, HttpResponse } from './http';
import {
	BodyTooLargeError,
	discardBody,
	egressGuardFor,
	headerValue,
	packageEgressGuard,
	readTextBody,
	sameOrigin,
	sendHttp,
} from './http';
import { RateLimitGate, isAbortError, parseRetryAfter, sleepUnlessCancelled } from './wait';

/** A JSON answer larger than this is refused: no documented answer comes close. */
const MAX_JSON_BYTES = 32 * 1024 * 1024;
const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
const DEFAULT_BODY_TIMEOUT_MS = 60_000;
/** Retries of idempotent reads after a 5xx or a network error. */
const TRANSIENT_RETRIES = 2;
const TRANSIENT_BACKOFF_MS = 1_000;

export interface CallOptions {
	method: 'GET' | 'POST';
	/** Path on the base URL, from '/'. */
	path: string;
	/**
	 * A whole URL on the credential's origin to call instead of base URL + path: a URL the service returned,
	 * called as given (a base URL with a path must not be put in front of it again). `path` then only names it.
	 */
	url?: string;
	json?: unknown;
	/** Builds a fresh streamed body for each attempt (a stream cannot be replayed). */
	stream?: () => Promise<{ body: Readable; headers: Record<string, string> }>;
	/** True when sending it twice cannot charge or duplicate anything: defaults to GET. */
	idempotent?: boolean;
	accept?: string;
	headersTimeoutMs?: number;
	bodyTimeoutMs?: number;
	itemIndex?: number;
	fileName?: string;
	/** An extra signal that ends this call (a per-item deadline); the execution's cancel signal always does. */
	signal?: AbortSignal;
	/** For the clean-up calls made because the execution was cancelled (cancelling a render). */
	ignoreExecutionCancel?: boolean;
}

/** An answer whose body the caller reads as a stream (SSE, downloads). */
export interface OpenedStream {
	response: HttpResponse;
	auth: NemoVideoAuth;
}

/** The service's own words go into error messages: never with the token in them, should the service echo it. */
function redactToken(message: string | undefined, token: string): string | undefined {
	if (message === undefined) return undefined;
	const withoutOwn = token ? message.split(token).join('[token]') : message;
	return withoutOwn.replace(/nmv_usr_[A-Za-z0-9_-]+/g, '[token]');
}

function describeOperation(options: Pick<CallOptions, 'method' | 'path'>): string {
	// Paths carry session and render ids, never secrets; the query string is left out on purpose.
	return `${options.method} ${options.path.split('?')[0]}`;
}

/**
 * The one transport of the package: base URL, bearer token and attribution headers, connection reuse, timeouts,
 * cancellation, the 429 / 1001 / 400 retry rules, and the mapping of every documented failure to a NodeApiError.
 */
export class NemoVideoClient {
	readonly tokens: TokenKeeper;

	private extraClientId?: string;

	constructor(private readonly ctx: IExecuteFunctions) {
		this.tokens = new TokenKeeper(ctx);
	}

	get node(): INode {
		return this.ctx.getNode();
	}

	get cancelSignal(): AbortSignal | undefined {
		return this.ctx.getExecutionCancelSignal();
	}

	/** Sends a JSON call with every retry rule and returns the envelope's `data`. */
	async call<T = IDataObject>(options: CallOptions): Promise<T> {
		const { body } = await this.exchange(options, false);
		return (readEnvelope(200, body) as { data: unknown }).data as T;
	}

	/**
	 * Opens a call whose success answer is a stream. Failures that come as JSON are mapped and retried by the
	 * same rules as `call`; a success is handed to the caller unread.
	 */
	async open(options: CallOptions): Promise<OpenedStream> {
		const { response, auth } = await this.exchange(options, true);
		return { response, auth };
	}

	private async exchange(
		options: CallOptions,
		wantStream: boolean,
	): Promise<OpenedStream & { body?: unknown }> {
		const idempotent = options.idempotent ?? options.method === 'GET';
		let renewed = false;
		/** The wait after the first 429, once the call was retried after it. */
		let waitedMs: number | undefined;
		let clientIdAdded = false;
		let transientLeft = idempotent ? TRANSIENT_RETRIES : 0;

		for (;;) {
			// No early renewal: a token is renewed only on 1001, and a streamed body is reopened for the replay.
			const auth = await this.tokens.get();
			const origin = new URL(auth.baseUrl).origin;
			const signal = this.signalFor(options);
			if (!options.ignoreExecutionCancel) await RateLimitGate.pass(origin, signal);

			const outgoing = await this.bodyFor(options);
			let response: HttpResponse;
			try {
				response = await sendHttp({
					method: options.method,
					url: urlFor(auth, options),
					headers: { ...this.headersFor(auth, options), ...outgoing.headers },
					body: outgoing.body,
					signal,
					headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
					bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
				});
			} catch (error) {
				const failure = this.transportFailure(error, options);
				if (failure.kind !== 'cancelled' && transientLeft-- > 0) {
					await sleepUnlessCancelled(TRANSIENT_BACKOFF_MS, this.cancelSignal);
					continue;
				}
				throw this.toError(failure, auth, options);
			}

			const contentType = headerValue(response.headers, 'content-type') ?? '';
			if (wantStream && response.statusCode < 300 && !contentType.includes('application/json')) {
				return { response, auth };
			}
			const body = await this.readBody(response, options, auth);
			if (readEnvelope(response.statusCode, body).ok) return { response, auth, body };

			const failure = this.answerFailure(response, body, options, auth);
			if (failure.kind === 'rateLimited') {
				// Every 429 holds the origin's gate for every request (the one rule, wait.ts); this call is retried once.
				const rule = RateLimitGate.refused(origin, failure.retryAfterMs);
				if (waitedMs === undefined && rule.waits) {
					waitedMs = rule.waitMs;
					continue;
				}
				const told = waitedMs === undefined
					? { ...failure, retryAfterMs: rule.waitMs, retryAfterTooLong: true }
					: { ...failure, retryAfterMs: waitedMs };
				throw this.toError(told, auth, options);
			}
			if (failure.kind === 'tokenExpired' && auth.anonymous && !renewed) {
				renewed = true;
				await this.tokens.renew(auth);
				continue;
			}
			if (failure.kind === 'missingClientId' && !clientIdAdded) {
				clientIdAdded = true;
				this.extraClientId = auth.clientId ?? uuid();
				continue;
			}
			if (failure.kind === 'serverError' && transientLeft-- > 0) {
				await sleepUnlessCancelled(TRANSIENT_BACKOFF_MS, this.cancelSignal);
				continue;
			}
			throw this.toError(failure, auth, options);
		}
	}

	private signalFor(options: Pick<CallOptions, 'signal' | 'ignoreExecutionCancel'>): AbortSignal | undefined {
		const execution = options.ignoreExecutionCancel ? undefined : this.cancelSignal;
		const signals = [execution, options.signal].filter(
			(signal): signal is AbortSignal => signal !== undefined,
		);
		if (signals.length === 0) return undefined;
		return signals.length === 1 ? signals[0] : AbortSignal.any(signals);
	}

	private headersFor(auth: NemoVideoAuth, options: CallOptions): Record<string, string> {
		const headers: Record<string, string> = {
			...ATTRIBUTION_HEADERS,
			Authorization: `Bearer ${auth.token}`,
			Accept: options.accept ?? 'application/json',
		};
		const clientId = (auth.anonymous ? auth.clientId : undefined) ?? this.extraClientId;
		if (clientId) headers['X-Client-Id'] = clientId;
		if (options.json !== undefined) headers['Content-Type'] = 'application/json';
		return headers;
	}

	private async bodyFor(
		options: CallOptions,
	): Promise<{ body?: string | Readable; headers: Record<string, string> }> {
		if (options.json !== undefined) return { body: JSON.stringify(options.json), headers: {} };
		if (options.stream) return await options.stream();
		return { headers: {} };
	}

	/** Reads a JSON answer; what is not JSON comes back as `{unreadable}` so the status decides what it means. */
	private async readBody(
		response: HttpResponse,
		options: CallOptions,
		auth: NemoVideoAuth,
	): Promise<unknown> {
		let text: string;
		try {
			text = await readTextBody(response, MAX_JSON_BYTES);
		} catch (error) {
			if (error instanceof BodyTooLargeError) {
				throw this.toError(
					{
						kind: 'badResponse',
						httpStatus: response.statusCode,
						operation: describeOperation(options),
						serviceMessage: `answer larger than ${MAX_JSON_BYTES / 1024 / 1024} MB`,
					},
					auth,
					options,
				);
			}
			throw this.toError(this.transportFailure(error, options), auth, options);
		}
		if (text.trim() === '') return {};
		try {
			return parseJsonKeepingBigIntegers(text);
		} catch {
			return { unreadable: true };
		}
	}

	private answerFailure(
		response: HttpResponse,
		body: unknown,
		options: CallOptions,
		auth: NemoVideoAuth,
	): NemoVideoFailure {
		const envelope = readEnvelope(response.statusCode, body);
		const appCode = envelope.ok ? undefined : envelope.appCode;
		const message = envelope.ok ? undefined : redactToken(envelope.message, auth.token);
		const unreadable = (body as { unreadable?: boolean } | undefined)?.unreadable === true;
		let kind: NemoVideoFailureKind = classifyAnswer(response.statusCode, appCode, message);
		if (unreadable && (kind === 'apiError' || response.statusCode < 300)) kind = 'badResponse';
		return {
			kind,
			httpStatus: response.statusCode,
			appCode,
			serviceMessage: unreadable ? 'the answer was not JSON' : message,
			operation: describeOperation(options),
			retryAfterMs: parseRetryAfter(headerValue(response.headers, 'retry-after')),
		};
	}

	private transportFailure(error: unknown, options: CallOptions): NemoVideoFailure {
		const operation = describeOperation(options);
		if (this.cancelSignal?.aborted && !options.ignoreExecutionCancel) return { kind: 'cancelled', operation };
		const code = (error as { code?: string }).code ?? '';
		if (isAbortError(error) || code.includes('TIMEOUT')) return { kind: 'timeout', operation };
		return { kind: 'network', operation, serviceMessage: code || (error as Error).message };
	}

	toError(failure: NemoVideoFailure, auth: NemoVideoAuth | undefined, options: CallOptions): NemoVideoApiError {
		const context: FailureContext = {
			anonymous: auth?.anonymous ?? false,
			userId: auth?.userId,
			fileName: options.fileName,
		};
		const { message, description } = describeFailure(failure, context);
		return new NemoVideoApiError(this.ctx.getNode(), failure, message, description, options.itemIndex);
	}

	/**
	 * Streams a finished file. A URL the service returned is fetched as given, with the token only when it is on
	 * the credential's origin; a path is an endpoint under the base URL. An answer that is not a file (JSON, HTML,
	 * text) is refused: it is never handed on as the video (issue 9, points 14 and 15).
	 */
	async download(
		source: { url: string } | { path: string },
		options: { itemIndex?: number; signal?: AbortSignal } = {},
	): Promise<HttpResponse> {
		const auth = await this.tokens.get();
		const url = 'url' in source ? source.url : undefined;
		let response: HttpResponse;
		if (url === undefined || sameOrigin(url, auth.baseUrl)) {
			({ response } = await this.open({
				method: 'GET',
				path: url === undefined ? (source as { path: string }).path : new URL(url).pathname,
				url,
				accept: '*/*',
				itemIndex: options.itemIndex,
				signal: options.signal,
				bodyTimeoutMs: 120_000,
			}));
		} else {
			response = await downloadPublic(url, this.signalFor({ signal: options.signal }), egressGuardFor(this.ctx.helpers));
		}
		const contentType = headerValue(response.headers, 'content-type') ?? '';
		if (NOT_A_FILE.test(contentType)) {
			await discardBody(response);
			throw new Error(`the answer was ${describeNonFile(contentType)} (${contentType.split(';')[0].trim()}, HTTP ${response.statusCode}), not the video file`);
		}
		return response;
	}

	// ---- endpoints ----------------------------------------------------------------------------

	async createSession(itemIndex?: number): Promise<{ sessionId: string; taskId?: string }> {
		const data = await this.call<IDataObject>({
			method: 'POST',
			path: '/api/tasks/me/with-session/nemo_agent',
			json: { task_name: 'project', language: 'en' },
			itemIndex,
		});
		// A string even when the service wrote a JSON number: readBody keeps long integers as their digits.
		const sessionId = data.session_id;
		if (typeof sessionId !== 'string' && !(typeof sessionId === 'number' && Number.isSafeInteger(sessionId))) {
			throw this.toError(
				{ kind: 'badResponse', operation: 'POST /api/tasks/me/with-session/nemo_agent', serviceMessage: 'no session_id' },
				undefined,
				{ method: 'POST', path: '', itemIndex },
			);
		}
		return { sessionId: String(sessionId), taskId: data.task_id as string | undefined };
	}

	async credits(itemIndex?: number): Promise<{ available: number; frozen: number; total: number }> {
		const data = await this.call<IDataObject>({
			method: 'GET',
			path: '/api/credits/balance/simple',
			itemIndex,
		});
		const available = Number(data.available ?? 0);
		const frozen = Number(data.frozen ?? 0);
		return { available, frozen, total: Number(data.total ?? available + frozen) };
	}

	async state(sessionId: string, itemIndex?: number, signal?: AbortSignal): Promise<IDataObject> {
		return await this.call<IDataObject>({
			method: 'GET',
			path: `/api/state/${APP_NAME}/me/${encodeURIComponent(sessionId)}/latest`,
			itemIndex,
			signal,
		});
	}
}

/** Content types that are an answer about a file, never the file (a JSON envelope, an HTML error page). */
const NOT_A_FILE = /json|html|xml|^\s*text\//i;

function describeNonFile(contentType: string): string {
	if (/json/i.test(contentType)) return 'JSON';
	if (/html/i.test(contentType)) return 'an HTML page';
	return /xml/i.test(contentType) ? 'XML' : 'text';
}

/** Base URL + path, or the caller's whole URL, which must stay on the credential's origin: it carries the token. */
function urlFor(auth: NemoVideoAuth, options: CallOptions): string {
	if (options.url === undefined) return `${auth.baseUrl}${options.path}`;
	if (!sameOrigin(options.url, auth.baseUrl)) throw new Error('refused to send the token to a URL off the credential\'s origin');
	return options.url;
}

/**
 * A plain download from a URL the service returned: no token, http(s) only, redirects checked by hand. The
 * address did not come from the credential, so every hop passes the outbound request guard (n8n's, else the
 * package's own from the N8N_SSRF_* settings: see egressGuardFor in http.ts).
 */
export async function downloadPublic(
	url: string,
	signal: AbortSignal | undefined,
	guard: EgressGuard | undefined = packageEgressGuard(),
): Promise<HttpResponse> {
	let current = url;
	for (let hop = 0; hop <= 3; hop++) {
		const protocol = new URL(current).protocol;
		if (protocol !== 'https:' && protocol !== 'http:') {
			throw new Error(`refused to fetch a ${protocol} URL (only http and https are followed)`);
		}
		const response = await sendHttp({
			method: 'GET',
			url: current,
			headers: { Accept: '*/*' },
			signal,
			headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
			bodyTimeoutMs: 120_000,
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
