import type { IExecuteFunctions, INode } from 'n8n-workflow';
import type { Readable } from 'node:stream';

import { uuid } from '../vendor';
import type { NemoVideoAuth } from './auth';
import { TokenKeeper } from './auth';
import { DOWNLOAD_BODY_TIMEOUT_MS, downloadPublic, refuseNonFile } from './download';
import { egressGuardFor } from './egressGuard';
import type { Envelope } from './envelope';
import { parseJsonKeepingBigIntegers, readEnvelope } from './envelope';
import type { FailureContext, NemoVideoFailure, NemoVideoFailureKind } from './errors';
import { NemoVideoApiError, classifyAnswer } from './errors';
import { apiHeaders } from './headers';
import { originOf, sameOrigin } from './origins';
import type { HttpResponse } from './send';
import { BodyTooLargeError, headerValue, readTextBody, sendHttp } from './send';
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
	/** An extra signal that ends this call; the execution's cancel signal always does. */
	signal?: AbortSignal;
	/**
	 * When the call, with its retries and waits, must have ended (epoch ms): a bounded tool call's remaining time,
	 * a wait's deadline. No attempt or retry starts after it, and every attempt gets only the time that is left.
	 */
	deadline?: number;
	/** For the clean-up calls made because the execution was cancelled (cancelling a render). */
	ignoreExecutionCancel?: boolean;
}

/** An answer whose body the caller reads as a stream (SSE, downloads). */
export interface OpenedStream {
	response: HttpResponse;
	auth: NemoVideoAuth;
}

/** A call that succeeded: with the envelope's `data` when its answer was JSON. */
interface Exchanged extends OpenedStream {
	data?: unknown;
}

/** What the caller does with a success: reads the JSON envelope, or takes the stream unread. */
type Expected = 'envelope' | 'stream';

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

/** The time a call has left before its deadline (no deadline: no limit). */
function timeLeft(options: Pick<CallOptions, 'deadline'>): number {
	return options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - Date.now();
}

/** Base URL + path, or the caller's whole URL, which must stay on the credential's origin: it carries the token. */
function urlFor(auth: NemoVideoAuth, options: CallOptions): string {
	if (options.url === undefined) return `${auth.baseUrl}${options.path}`;
	if (!sameOrigin(options.url, auth.baseUrl)) throw new Error('refused to send the token to a URL off the credential\'s origin');
	return options.url;
}

const TRANSIENT: ReadonlySet<NemoVideoFailureKind> = new Set(['serverError', 'network', 'timeout']);

/**
 * What one call may still retry: once after a 429 (after the wait it was told), once after a 1001 with a renewed
 * anonymous token, once after a 400 that asks for a client id, and an idempotent call twice after a 5xx, a
 * timeout or a network error. Each answer that proves the call was not done spends its own part.
 */
class RetryBudget {
	private readonly spent = new Set<'renewal' | 'clientId'>();

	private transient: number;

	/** The wait after the first 429, once the call was retried after it. */
	private waitedMs?: number;

	constructor(idempotent: boolean) {
		this.transient = idempotent ? TRANSIENT_RETRIES : 0;
	}

	/** A retry allowed once a call: true the first time it is asked for. */
	takeOnce(retry: 'renewal' | 'clientId'): boolean {
		if (this.spent.has(retry)) return false;
		this.spent.add(retry);
		return true;
	}

	takeTransient(): boolean {
		if (this.transient <= 0) return false;
		this.transient--;
		return true;
	}

	/** The 429 rule (wait.ts): one retry after a wait it allows. Undefined = retry; else the failure as told. */
	afterRateLimit(failure: NemoVideoFailure, rule: { waitMs: number; waits: boolean }): NemoVideoFailure | undefined {
		if (this.waitedMs === undefined && rule.waits) {
			this.waitedMs = rule.waitMs;
			return undefined;
		}
		return this.waitedMs === undefined
			? { ...failure, retryAfterMs: rule.waitMs, retryAfterTooLong: true }
			: { ...failure, retryAfterMs: this.waitedMs };
	}
}

/**
 * The retry engine every endpoint (api.ts) goes through: base URL, bearer token and attribution headers,
 * timeouts, cancellation, the 429 / 1001 / 400 / 5xx retry rules, and the mapping of every documented failure
 * to a NodeApiError.
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
	async call<T = unknown>(options: CallOptions): Promise<T> {
		const { data } = await this.exchange(options, 'envelope');
		return data as T;
	}

	/**
	 * Opens a call whose success answer is a stream. Failures that come as JSON are mapped and retried by the
	 * same rules as `call`; a success is handed to the caller unread.
	 */
	async open(options: CallOptions): Promise<OpenedStream> {
		const { response, auth } = await this.exchange(options, 'stream');
		return { response, auth };
	}

	/**
	 * Streams a finished file. A URL the service returned is fetched as given, with the token only when it is on
	 * the credential's origin; a path is an endpoint under the base URL. An answer that is not a file is refused.
	 */
	async download(
		source: { url: string } | { path: string },
		call: Pick<CallOptions, 'itemIndex' | 'signal' | 'deadline'> = {},
	): Promise<HttpResponse> {
		const auth = await this.tokens.get();
		if ('url' in source && !sameOrigin(source.url, auth.baseUrl)) {
			const guard = egressGuardFor(this.ctx.helpers);
			return await refuseNonFile(await downloadPublic(source.url, this.signalFor(call), guard));
		}
		const { response } = await this.open({
			method: 'GET',
			path: 'url' in source ? new URL(source.url).pathname : source.path,
			url: 'url' in source ? source.url : undefined,
			accept: '*/*',
			itemIndex: call.itemIndex,
			signal: call.signal,
			deadline: call.deadline,
			bodyTimeoutMs: DOWNLOAD_BODY_TIMEOUT_MS,
		});
		return await refuseNonFile(response);
	}

	toError(failure: NemoVideoFailure, auth: NemoVideoAuth | undefined, options: CallOptions): NemoVideoApiError {
		const context: FailureContext = {
			anonymous: auth?.anonymous ?? false,
			userId: auth?.userId,
			fileName: options.fileName,
		};
		return new NemoVideoApiError(this.ctx.getNode(), failure, context, options.itemIndex);
	}

	/** Sends the call until it succeeds or its retry budget says the failure stands. */
	private async exchange(options: CallOptions, expected: Expected): Promise<Exchanged> {
		const budget = new RetryBudget(options.idempotent ?? options.method === 'GET');
		for (;;) {
			// No early renewal: a token is renewed only on 1001, and a streamed body is reopened for the replay.
			const auth = await this.tokens.get();
			const attempt = await this.attempt(options, auth, expected);
			if ('done' in attempt) return attempt.done;
			await this.retryOrThrow(attempt.failure, budget, auth, options);
		}
	}

	/** One sending of the call, after the origin's rate-limit gate: its success, or what went wrong. */
	private async attempt(
		options: CallOptions,
		auth: NemoVideoAuth,
		expected: Expected,
	): Promise<{ done: Exchanged } | { failure: NemoVideoFailure }> {
		const signal = this.signalFor(options);
		const left = timeLeft(options);
		if (left <= 0) return { failure: { kind: 'timeout', operation: describeOperation(options) } };
		try {
			if (!options.ignoreExecutionCancel) await RateLimitGate.pass(originOf(auth.baseUrl), signal);
		} catch (error) {
			return { failure: this.transportFailure(error, options) };
		}
		const outgoing = await this.bodyFor(options);
		let response: HttpResponse;
		try {
			response = await sendHttp({
				method: options.method,
				url: urlFor(auth, options),
				headers: { ...this.headersFor(auth, options), ...outgoing.headers },
				body: outgoing.body,
				signal,
				headersTimeoutMs: Math.min(options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, left),
				bodyTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
			});
		} catch (error) {
			return { failure: this.transportFailure(error, options) };
		}
		const contentType = headerValue(response.headers, 'content-type') ?? '';
		if (expected === 'stream' && response.statusCode < 300 && !contentType.includes('application/json')) {
			return { done: { response, auth } };
		}
		const body = await this.readBody(response, options, auth);
		const envelope = readEnvelope(response.statusCode, body);
		if (envelope.ok) return { done: { response, auth, data: envelope.data } };
		return { failure: this.answerFailure(response, body, envelope, options, auth) };
	}

	/** Spends the retry budget on a failure and returns to send the call again (after any wait); else throws it. */
	private async retryOrThrow(
		failure: NemoVideoFailure,
		budget: RetryBudget,
		auth: NemoVideoAuth,
		options: CallOptions,
	): Promise<void> {
		if (failure.kind === 'rateLimited') {
			// Every 429 holds the origin's gate for every request (the one rule, wait.ts); the retry waits there.
			const rule = RateLimitGate.refused(originOf(auth.baseUrl), failure.retryAfterMs);
			const told = budget.afterRateLimit(failure, rule);
			if (told === undefined && rule.waitMs < timeLeft(options)) return;
			throw this.toError(told ?? { ...failure, retryAfterMs: rule.waitMs, retryAfterPastDeadline: true }, auth, options);
		}
		if (failure.kind === 'tokenExpired' && auth.anonymous && budget.takeOnce('renewal')) {
			await this.tokens.renew(auth);
			return;
		}
		if (failure.kind === 'missingClientId' && budget.takeOnce('clientId')) {
			this.extraClientId = auth.clientId ?? uuid();
			return;
		}
		if (TRANSIENT.has(failure.kind) && TRANSIENT_BACKOFF_MS < timeLeft(options) && budget.takeTransient()) {
			await sleepUnlessCancelled(TRANSIENT_BACKOFF_MS, this.cancelSignal);
			return;
		}
		throw this.toError(failure, auth, options);
	}

	private signalFor(options: Pick<CallOptions, 'signal' | 'ignoreExecutionCancel' | 'deadline'>): AbortSignal | undefined {
		const execution = options.ignoreExecutionCancel ? undefined : this.cancelSignal;
		const deadline = options.deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, options.deadline - Date.now()));
		const signals = [execution, options.signal, deadline].filter(
			(signal): signal is AbortSignal => signal !== undefined,
		);
		if (signals.length === 0) return undefined;
		return signals.length === 1 ? signals[0] : AbortSignal.any(signals);
	}

	private headersFor(auth: NemoVideoAuth, options: CallOptions): Record<string, string> {
		const clientId = (auth.anonymous ? auth.clientId : undefined) ?? this.extraClientId;
		return {
			...apiHeaders({ token: auth.token, clientId }),
			Accept: options.accept ?? 'application/json',
			...(options.json !== undefined ? { 'Content-Type': 'application/json' } : {}),
		};
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
		envelope: Extract<Envelope, { ok: false }>,
		options: CallOptions,
		auth: NemoVideoAuth,
	): NemoVideoFailure {
		const message = redactToken(envelope.message, auth.token);
		const unreadable = (body as { unreadable?: boolean } | undefined)?.unreadable === true;
		let kind: NemoVideoFailureKind = classifyAnswer(response.statusCode, envelope.appCode, message);
		if (unreadable && (kind === 'apiError' || response.statusCode < 300)) kind = 'badResponse';
		return {
			kind,
			httpStatus: response.statusCode,
			appCode: envelope.appCode,
			serviceMessage: unreadable ? 'the answer was not JSON' : message,
			operation: describeOperation(options),
			retryAfterMs: parseRetryAfter(headerValue(response.headers, 'retry-after')),
		};
	}

	private transportFailure(error: unknown, options: CallOptions): NemoVideoFailure {
		const operation = describeOperation(options);
		if (this.cancelSignal?.aborted && !options.ignoreExecutionCancel) return { kind: 'cancelled', operation };
		const code = (error as { code?: string }).code ?? '';
		const deadlinePassed = timeLeft(options) <= 0 || (error as { name?: string }).name === 'TimeoutError';
		if (deadlinePassed || isAbortError(error) || code.includes('TIMEOUT')) return { kind: 'timeout', operation };
		return { kind: 'network', operation, serviceMessage: code || (error as Error).message };
	}
}
