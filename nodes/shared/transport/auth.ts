import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestHelper,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { CREDENTIAL_TYPE, DEFAULT_BASE_URL } from '../constants';
import { uuid } from '../vendor';
import { messageOf } from './envelope';
import { NemoVideoApiError, ownCopy } from './errors';
import { baseUrlProblem, originOf } from './origins';
import { ANONYMOUS_TOKEN_CALL, anonymousTokenRequest, tokenCheckRequest } from './tokenCalls';
import { RateLimitGate, parseRetryAfter, rateLimitRule, sleepUnlessCancelled, untilCancelled } from './wait';

/** How a request authenticates. Held in memory for one node execution only; the token itself lives in the credential. */
export interface NemoVideoAuth {
	baseUrl: string;
	token: string;
	anonymous: boolean;
	clientId?: string;
	userId?: string;
}

/** How long a worker that lost the race for the first token keeps re-reading the credential for the winner's token. */
const RACE_REREAD_MS = [250, 500, 1000, 2000];
const RACE_WINDOW_MS = RACE_REREAD_MS.reduce((total, wait) => total + wait, 0);

function text(value: unknown): string {
	return typeof value === 'string' ? value.trim() : '';
}

/** The credential's Base URL as every request uses it: trimmed, the default when empty, no trailing slash. */
function normaliseBaseUrl(value: unknown): string {
	return (text(value) || DEFAULT_BASE_URL).replace(/\/+$/, '');
}

/** normaliseBaseUrl in n8n's expression language, for the credential test's request (it cannot call this code). */
export const BASE_URL_EXPRESSION = `={{(($credentials.baseUrl || "").trim() || "${DEFAULT_BASE_URL}").replace(/\\/+$/, "")}}`;

/**
 * The origin that issued the stored anonymous token. Credentials saved before `tokenOrigin` existed hold a token
 * without it: such a token is taken as the default service's (where nearly every one came from), so it keeps
 * working there and is never sent anywhere else; on any other Base URL a new token is fetched.
 */
export function issuingOrigin(data: ICredentialDataDecryptedObject): string {
	return text(data.tokenOrigin) || originOf(DEFAULT_BASE_URL);
}

/**
 * The credential's token for its Base URL now. A stored anonymous token is used only on the origin that issued
 * it (`issuingOrigin`): after a Base URL change it is never sent, and a token is fetched for the new origin.
 */
export function authFrom(data: ICredentialDataDecryptedObject): NemoVideoAuth | undefined {
	const baseUrl = normaliseBaseUrl(data.baseUrl);
	const own = text(data.accessToken);
	if (own) return { baseUrl, token: own, anonymous: false, clientId: text(data.clientId) || undefined };
	const anonymous = text(data.sessionToken);
	if (!anonymous || issuingOrigin(data) !== originOf(baseUrl)) return undefined;
	return {
		baseUrl,
		token: anonymous,
		anonymous: true,
		clientId: text(data.clientId) || undefined,
		userId: text(data.anonymousUserId) || undefined,
	};
}

/** The longest X-Client-Id the service takes (docs/nemovideo-api.md, endpoint 1). */
const MAX_CLIENT_ID_LENGTH = 64;

/**
 * What is wrong with the credential for an anonymous token, before anything is sent: its Base URL (see
 * baseUrlProblem), or a typed Client ID longer than the service takes. A typed Client ID is used exactly as typed,
 * never cut or replaced, so a wrong one is an error to fix. With an own access token the Client ID is not used.
 */
export function credentialProblem(data: ICredentialDataDecryptedObject): { problem: string; fix: string } | undefined {
	const problem = baseUrlProblem(normaliseBaseUrl(data.baseUrl));
	if (problem) return { problem, fix: 'Fix the Base URL field of the NemoVideo API credential.' };
	const clientId = text(data.clientId);
	if (!text(data.accessToken) && clientId.length > MAX_CLIENT_ID_LENGTH) {
		return {
			problem: `the Client ID is ${clientId.length} characters long, more than the ${MAX_CLIENT_ID_LENGTH} NemoVideo takes`,
			fix: 'Shorten the Client ID in the NemoVideo API credential, or leave it empty to have one made.',
		};
	}
	return undefined;
}

/**
 * The n8n instance's own secret: its encryption key, which every process of the instance holds (queue mode needs
 * the same key on the main process and on every worker): `N8N_ENCRYPTION_KEY`, else the key n8n wrote into its
 * config file on first start. Undefined when neither can be read.
 */
function instanceSecret(): string | undefined {
	const fromEnv = text(process.env.N8N_ENCRYPTION_KEY);
	if (fromEnv) return fromEnv;
	const folder = text(process.env.N8N_USER_FOLDER) || homedir();
	try {
		const config = JSON.parse(readFileSync(join(folder, '.n8n', 'config'), 'utf8')) as { encryptionKey?: unknown };
		return text(config.encryptionKey) || undefined;
	} catch {
		return undefined;
	}
}

/**
 * The client id this instance uses for a credential on an origin when the user set none: an HMAC of the
 * credential's id and the origin under the instance's secret, shaped as a UUID (version 8, "custom"). Every
 * worker of the instance computes the same one, so workers racing for the first token ask for one client's one
 * token (the loser is refused and uses the winner's); nobody without the instance's key can compute it, though
 * the credential's id is in every exported workflow. Without a readable secret: a random UUID.
 */
export function derivedClientId(credentialKey: string, origin: string): string {
	const secret = instanceSecret();
	if (!secret) return uuid();
	const hex = createHmac('sha256', secret).update(`n8n-nodes-nemovideo/client-id/${origin}/${credentialKey}`).digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The client id for a new token: the credential's, or one this package makes (`derivedClientId` where the token
 * keeper knows the credential, else random) and stores with the token. Never computable from outside: anyone who
 * could compute it could fetch this anonymous user's next token and read its sessions. One this package made
 * belongs to the origin it was sent to: a new origin gets a new one, so no host learns the id that fetches
 * another host's tokens. A Client ID the user typed is always used as typed (credentialProblem refuses one too long).
 */
function clientIdFor(data: ICredentialDataDecryptedObject, origin: string, made: () => string = uuid): string {
	const clientId = text(data.clientId);
	const generated = clientId !== '' && clientId === text(data.generatedClientId);
	if (generated && text(data.tokenOrigin) !== '' && issuingOrigin(data) !== origin) return made();
	return clientId || made();
}

/**
 * The credential as the token keeper hands it to n8n for a new token: the stored token blanked (so n8n runs
 * preAuthentication), and the client id decided once here, so that the retry after a 429 asks for the same one.
 */
function askFor(data: ICredentialDataDecryptedObject, origin: string, credentialKey: string): ICredentialDataDecryptedObject {
	const clientId = clientIdFor(data, origin, () => derivedClientId(credentialKey, origin));
	const generated = clientId !== text(data.clientId);
	return {
		...data,
		sessionToken: '',
		tokenOrigin: '',
		clientId,
		...(generated ? { generatedClientId: clientId } : {}),
	};
}

interface RawResponse {
	statusCode: number;
	body?: unknown;
	headers?: Record<string, string | string[] | undefined>;
}

function bodyOf(response: RawResponse): IDataObject {
	const body = response.body;
	return body && typeof body === 'object' ? (body as IDataObject) : {};
}

function retryAfterOf(response: RawResponse): number | undefined {
	const value = response.headers?.['retry-after'];
	return parseRetryAfter(Array.isArray(value) ? value[0] : value);
}

/** A 429 holds the gate it is for (wait.ts has the rule): the origin's, or the token calls' (tokenCallGate). */
function noteRateLimit(response: RawResponse, gate: string): void {
	if (response.statusCode === 429) RateLimitGate.refused(gate, retryAfterOf(response));
}

/**
 * The gate of the anonymous token calls to an origin. A 429 there is the service's issuing quota (one token per
 * client id, and per IP, every 7 days: docs/nemovideo-api.md, Endpoints 1), not a limit on how fast the origin
 * takes requests. It holds the later token calls (another credential of this instance is refused by the same
 * per-IP quota), but not every request: holding the renders and uploads of credentials with their own tokens
 * for 30 s because one anonymous credential reached its weekly token would punish unrelated work (issue 16).
 * A 429 on any other call holds the origin's gate, which the token calls pass too.
 */
export function tokenCallGate(origin: string): string {
	return `${origin} anonymous-token`;
}

/** Waits until both gates a token call goes through are open. */
async function passTokenCallGates(origin: string, signal?: AbortSignal): Promise<void> {
	await RateLimitGate.pass(origin, signal);
	await RateLimitGate.pass(tokenCallGate(origin), signal);
}

/** One GET of the balance with the stored token: true only when the service says 1001 (expired or invalid). */
async function storedTokenExpired(helpers: IHttpRequestHelper, baseUrl: string, token: string): Promise<boolean> {
	let response: RawResponse;
	try {
		response = (await helpers.helpers.httpRequest(tokenCheckRequest(baseUrl, token))) as RawResponse;
	} catch {
		// Unreachable: keep the token; the credential test's own request reports the network error.
		return false;
	}
	noteRateLimit(response, originOf(baseUrl));
	return Number(bodyOf(response).code) === 1001;
}

function tokenRefused(response: RawResponse, body: IDataObject): Error {
	const reason = messageOf(body) ?? 'no reason given';
	const retryAfterMs = retryAfterOf(response);
	const wait = retryAfterMs !== undefined ? `; the service asked to wait ${Math.round(retryAfterMs / 1000)} s` : '';
	const error = new Error(
		response.statusCode === 429
			? `The anonymous token limit was reached for this client id (HTTP 429: ${reason}${wait})`
			: `The anonymous token request failed (HTTP ${response.statusCode}, code ${String(body.code ?? '-')}: ${reason})`,
	);
	// Not `httpCode` or `statusCode`: n8n's NodeApiError would replace this message with a generic one.
	return Object.assign(error, {
		tokenCallStatus: response.statusCode,
		...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
	});
}

/** True when `clientId` is the one the user typed in the credential, not one this package made. */
function typedClientId(credentials: ICredentialDataDecryptedObject, clientId: string): boolean {
	return clientId === text(credentials.clientId) && clientId !== text(credentials.generatedClientId);
}

function clientIdRefused(response: RawResponse, body: IDataObject): Error {
	const error = new Error(
		`NemoVideo refused the Client ID typed in the credential (HTTP ${response.statusCode}: ${messageOf(body) ?? 'no reason given'})`,
	);
	return Object.assign(error, {
		tokenCallStatus: response.statusCode,
		fix: 'Correct the Client ID in the NemoVideo API credential, or leave it empty to have one made.',
	});
}

async function askForToken(helpers: IHttpRequestHelper, baseUrl: string, clientId: string): Promise<RawResponse> {
	return (await helpers.helpers.httpRequest(anonymousTokenRequest(baseUrl, clientId))) as RawResponse;
}

/** What preAuthentication has n8n store with a new token: the token, its client id, user, expiry and origin. */
function issuedToken(
	credentials: ICredentialDataDecryptedObject,
	clientId: string,
	data: IDataObject,
	origin: string,
): IDataObject {
	const generated = clientId !== text(credentials.clientId) || clientId === text(credentials.generatedClientId);
	return {
		sessionToken: String(data.token),
		clientId,
		generatedClientId: generated ? clientId : '',
		anonymousUserId: String(data.user_id ?? ''),
		tokenExpiresAt: String(data.expires_at ?? ''),
		tokenOrigin: origin,
	};
}

/** The anonymous token call, once (twice when the service refuses the client id with 400). */
async function fetchToken(
	helpers: IHttpRequestHelper,
	credentials: ICredentialDataDecryptedObject,
	baseUrl: string,
): Promise<IDataObject> {
	const origin = originOf(baseUrl);
	let clientId = clientIdFor(credentials, origin);
	let response = await askForToken(helpers, baseUrl, clientId);
	if (response.statusCode === 400) {
		// A typed Client ID is the user's: never replaced (nor overwritten in the credential), reported instead.
		if (typedClientId(credentials, clientId)) throw clientIdRefused(response, bodyOf(response));
		// The service did not take an id this package made: make a well-formed random one and try once more.
		clientId = uuid();
		response = await askForToken(helpers, baseUrl, clientId);
	}
	const body = bodyOf(response);
	const data = (body.data ?? {}) as IDataObject;
	if (response.statusCode < 300 && (body.code === 0 || body.code === undefined) && data.token) {
		return issuedToken(credentials, clientId, data, origin);
	}
	// A 429 with a Retry-After holds the token calls' gate. Without one it may be the answer to a race for this
	// client id's one token: the token keeper first looks for the winner's token before it applies the 30 s rule.
	if (retryAfterOf(response) !== undefined) noteRateLimit(response, tokenCallGate(origin));
	throw tokenRefused(response, body);
}

/**
 * The credential type's preAuthentication. n8n runs it when the stored token is empty, when told the credential
 * expired, and on every credential test (n8n/dist/credentials-helper.js): a stored token of this origin is then
 * checked with one balance call and kept unless the service says 1001; only then is a new one fetched. What
 * it returns n8n stores in the credential (`{}`: nothing to store, the stored values stay as they are).
 */
export async function preAuthenticate(
	helpers: IHttpRequestHelper,
	credentials: ICredentialDataDecryptedObject,
): Promise<IDataObject> {
	const baseUrl = normaliseBaseUrl(credentials.baseUrl);
	const wrong = credentialProblem(credentials);
	if (wrong) throw new Error(`NemoVideo API credential: ${wrong.problem}`);
	if (text(credentials.accessToken)) return {};
	// A 429 on any call holds these calls too, and one on a token call the next token call (at most 120 s).
	await passTokenCallGates(originOf(baseUrl));
	const stored = authFrom(credentials);
	if (stored && !(await storedTokenExpired(helpers, baseUrl, stored.token))) return {};
	return await fetchToken(helpers, credentials, baseUrl);
}

/** A failed token fetch, as n8n hands it back from httpRequestWithAuthentication (the credential's error is the cause). */
function refusalOf(error: unknown): { status?: number; retryAfterMs?: number; message: string; fix?: string } {
	interface Refusal {
		tokenCallStatus?: number;
		retryAfterMs?: number;
		message?: string;
		fix?: string;
	}
	const outer = error as Refusal & { cause?: Refusal };
	const cause = outer.cause ?? {};
	return {
		status: cause.tokenCallStatus ?? outer.tokenCallStatus,
		retryAfterMs: cause.retryAfterMs ?? outer.retryAfterMs,
		message: String(cause.message ?? outer.message ?? ''),
		fix: cause.fix ?? outer.fix,
	};
}

/** A token fetch of one execution, shared by every execution of this process that needs the same token. */
interface SharedFetch {
	promise: Promise<NemoVideoAuth>;
	/** The cancel signal of the execution that started it. */
	owner?: AbortSignal;
}

/** Token fetches in flight, per credential: items of one execution (and executions in one process) share one fetch. */
const inFlight = new Map<string, SharedFetch>();

/**
 * The token lifecycle. A user's own token is used as it is. An anonymous token is fetched by the credential
 * type's `preAuthentication` through n8n, which stores it encrypted in the credential, so it survives across
 * executions and workers; it is renewed only when the service says it expired (1001), never ahead of time.
 */
export class TokenKeeper {
	private current?: NemoVideoAuth;

	constructor(private readonly ctx: IExecuteFunctions) {}

	private get credentialKey(): string {
		const ref = this.ctx.getNode().credentials?.[CREDENTIAL_TYPE];
		return ref?.id ?? ref?.name ?? this.ctx.getNode().name;
	}

	async get(): Promise<NemoVideoAuth> {
		if (this.current) return this.current;
		const auth = authFrom(await this.readCredential());
		if (auth) {
			this.current = auth;
			return auth;
		}
		return await this.fetchAnonymous(undefined);
	}

	/** Called after a 1001 for `stale`: fetches a new anonymous token once, shared by every caller that saw the 1001. */
	async renew(stale: NemoVideoAuth): Promise<NemoVideoAuth> {
		if (!stale.anonymous) return stale;
		if (this.current && this.current.token !== stale.token) return this.current;
		return await this.fetchAnonymous(stale.token);
	}

	private async readCredential(): Promise<ICredentialDataDecryptedObject> {
		const data = await this.ctx.getCredentials(CREDENTIAL_TYPE);
		const wrong = credentialProblem(data);
		if (wrong) {
			throw new NodeOperationError(this.ctx.getNode(), `NemoVideo API credential: ${wrong.problem}`, {
				description: wrong.fix,
			});
		}
		return data;
	}

	private async fetchAnonymous(staleToken: string | undefined): Promise<NemoVideoAuth> {
		const key = this.credentialKey;
		const signal = this.ctx.getExecutionCancelSignal();
		for (let shared = inFlight.get(key); shared; shared = inFlight.get(key)) {
			try {
				this.current = await untilCancelled(shared.promise, signal);
				return this.current;
			} catch (error) {
				// The shared fetch ran under its owner's cancel signal: when only the owner was cancelled, fetch anew.
				if (signal?.aborted || !shared.owner?.aborted) throw ownCopy(this.ctx.getNode(), error);
				if (inFlight.get(key) === shared) inFlight.delete(key);
			}
		}
		const own: SharedFetch = { owner: signal, promise: this.fetchThroughN8n(staleToken) };
		inFlight.set(key, own);
		try {
			this.current = await own.promise;
			return this.current;
		} catch (error) {
			// Every waiter gets an error of its own (ownCopy), the one that started the fetch too.
			throw ownCopy(this.ctx.getNode(), error);
		} finally {
			if (inFlight.get(key) === own) inFlight.delete(key);
		}
	}

	/**
	 * Has n8n run the credential's preAuthentication (it fetches and stores the token) by sending one request
	 * through n8n's authenticated helper with the stored token blanked. This is the cheapest way: a node reaches
	 * n8n's credentials helper (the only code that persists the token for every worker) only through
	 * httpRequestWithAuthentication / requestWithAuthentication, and both always send one request after
	 * preAuthentication. The node's own calls cannot carry it: they stream (uploads, SSE, downloads) through the
	 * package's HTTP client, which n8n's helpers do not replace. The balance GET is free, read-only and small,
	 * and its answer shows at once whether the new token works. Its 429 holds the gate like any other.
	 */
	private async fetchThroughN8n(staleToken: string | undefined): Promise<NemoVideoAuth> {
		const data = await this.readCredential();
		const known = authFrom(data);
		if (known && known.token !== staleToken) return known;
		const baseUrl = normaliseBaseUrl(data.baseUrl);
		const asked = askFor(data, originOf(baseUrl), this.credentialKey);
		let waitedMs: number | undefined;
		for (;;) {
			const sent = await this.sendThroughN8n(baseUrl, asked);
			if ('fetched' in sent) return sent.fetched;
			if ('checked' in sent) return await this.tokenStored(sent.checked, staleToken);
			const next = await this.afterRefusal(sent.refused, staleToken, baseUrl, waitedMs);
			if ('winner' in next) return next.winner;
			waitedMs = next.waitedMs;
		}
	}

	/**
	 * One check through n8n with the stored token blanked. `checked`: the check went through, with the token n8n
	 * wrote back (if it did); `fetched`: a token was fetched and only the check failed (a network error), so it is
	 * used and the node's own call reports the real problem; `refused`: no token came.
	 */
	private async sendThroughN8n(
		baseUrl: string,
		asked: ICredentialDataDecryptedObject,
	): Promise<{ checked: NemoVideoAuth | undefined } | { fetched: NemoVideoAuth } | { refused: unknown }> {
		// n8n writes the token preAuthentication returns into this object (and stores it): this execution
		// then uses the token it fetched, even when another worker's later write wins in the store.
		const sent: ICredentialDataDecryptedObject = { ...asked };
		try {
			await this.checkThroughN8n(baseUrl, sent);
		} catch (error) {
			const fetched = authFrom(sent);
			return fetched ? { fetched } : { refused: error };
		}
		return { checked: authFrom(sent) };
	}

	/** The token the check came back with, else the one in the store; none (or the stale one) means n8n kept none. */
	private async tokenStored(checked: NemoVideoAuth | undefined, staleToken: string | undefined): Promise<NemoVideoAuth> {
		const fetched = checked ?? authFrom(await this.readCredential());
		if (fetched && fetched.token !== staleToken) return fetched;
		throw new NodeOperationError(this.ctx.getNode(), 'The anonymous NemoVideo token was not stored', {
			description:
				'n8n did not keep the token the credential fetched. Save the NemoVideo API credential again and retry.',
		});
	}

	private async checkThroughN8n(baseUrl: string, sent: ICredentialDataDecryptedObject): Promise<void> {
		const ref = this.ctx.getNode().credentials?.[CREDENTIAL_TYPE];
		await RateLimitGate.pass(originOf(baseUrl), this.ctx.getExecutionCancelSignal());
		const response = (await this.ctx.helpers.httpRequestWithAuthentication.call(
			this.ctx,
			CREDENTIAL_TYPE,
			tokenCheckRequest(baseUrl),
			{ credentialsDecrypted: { id: ref?.id ?? '', name: ref?.name ?? '', type: CREDENTIAL_TYPE, data: sent } },
		)) as RawResponse;
		noteRateLimit(response, originOf(baseUrl));
	}

	/**
	 * The token call was refused. A 429 follows the transport's rule (wait.ts): Retry-After, else 30 s, one retry,
	 * and a Retry-After over 120 s fails at once; before any wait, the winner of a race for this client id's one
	 * token may have stored it. Returns the wait made before the retry; throws when there is no retry.
	 */
	private async afterRefusal(
		error: unknown,
		staleToken: string | undefined,
		baseUrl: string,
		waitedMs: number | undefined,
	): Promise<{ winner: NemoVideoAuth } | { waitedMs: number }> {
		const refusal = refusalOf(error);
		if (refusal.status !== 429) {
			throw new NodeOperationError(this.ctx.getNode(), 'Could not get an anonymous NemoVideo token', {
				description: `${refusal.message}. ${refusal.fix ?? 'Check the Base URL of the NemoVideo API credential and try again, or set your own access token in it.'}`,
			});
		}
		const rule = rateLimitRule(refusal.retryAfterMs);
		const lookFor = waitedMs !== undefined || !rule.waits ? 0 : Math.min(rule.waitMs, RACE_WINDOW_MS);
		const winner = await this.awaitStoredToken(staleToken, lookFor);
		if (winner) return { winner };
		if (waitedMs !== undefined || !rule.waits) {
			throw this.rateLimitError({ retryAfterMs: waitedMs ?? rule.waitMs, retryAfterTooLong: waitedMs === undefined });
		}
		const origin = originOf(baseUrl);
		RateLimitGate.refused(tokenCallGate(origin), refusal.retryAfterMs);
		await passTokenCallGates(origin, this.ctx.getExecutionCancelSignal());
		const late = await this.storedToken(staleToken);
		return late ? { winner: late } : { waitedMs: rule.waitMs };
	}

	private rateLimitError(told: { retryAfterMs: number; retryAfterTooLong: boolean }): NemoVideoApiError {
		const failure = { kind: 'rateLimited' as const, httpStatus: 429, operation: ANONYMOUS_TOKEN_CALL, ...told };
		return new NemoVideoApiError(this.ctx.getNode(), failure, { anonymous: true });
	}

	private async storedToken(staleToken: string | undefined): Promise<NemoVideoAuth | undefined> {
		const auth = authFrom(await this.readCredential());
		return auth && auth.token !== staleToken ? auth : undefined;
	}

	/** Re-reads the credential for another worker's token, for at most `boundMs` (one read when 0). */
	private async awaitStoredToken(staleToken: string | undefined, boundMs: number): Promise<NemoVideoAuth | undefined> {
		const signal = this.ctx.getExecutionCancelSignal();
		const deadline = Date.now() + boundMs;
		for (const wait of RACE_REREAD_MS) {
			const auth = await this.storedToken(staleToken);
			if (auth) return auth;
			const left = deadline - Date.now();
			if (left <= 0) return undefined;
			await sleepUnlessCancelled(Math.min(wait, left), signal);
		}
		return await this.storedToken(staleToken);
	}
}
