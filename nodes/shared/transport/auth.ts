import type {
	ICredentialDataDecryptedObject,
	IExecuteFunctions,
	IHttpRequestOptions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { createHash } from 'node:crypto';

import { CREDENTIAL_TYPE, DEFAULT_BASE_URL } from '../constants';
import { baseUrlProblem } from './http';
import { sleepUnlessCancelled } from './wait';

/** How a request authenticates. Held in memory for one node execution only; the token itself lives in the credential. */
export interface NemoVideoAuth {
	baseUrl: string;
	token: string;
	anonymous: boolean;
	clientId?: string;
	userId?: string;
}

/** Anonymous tokens this close to their `expires_at` are renewed before a request whose body cannot be replayed. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

/** How long a worker that lost the race for the first token keeps re-reading the credential for the winner's token. */
const RACE_REREAD_MS = [250, 500, 1000, 2000];
/** The seed's wait before the one retry of a refused token call, when the answer gives no Retry-After. */
const TOKEN_RETRY_AFTER_MS = 30_000;

function text(value: unknown): string {
	return typeof value === 'string' ? value.trim() : '';
}

export function normaliseBaseUrl(value: unknown): string {
	return (text(value) || DEFAULT_BASE_URL).replace(/\/+$/, '');
}

function authFrom(data: ICredentialDataDecryptedObject): NemoVideoAuth | undefined {
	const baseUrl = normaliseBaseUrl(data.baseUrl);
	const own = text(data.accessToken);
	if (own) return { baseUrl, token: own, anonymous: false, clientId: text(data.clientId) || undefined };
	const anonymous = text(data.sessionToken);
	if (!anonymous) return undefined;
	return {
		baseUrl,
		token: anonymous,
		anonymous: true,
		clientId: text(data.clientId) || undefined,
		userId: text(data.anonymousUserId) || undefined,
	};
}

function expiresSoon(data: ICredentialDataDecryptedObject): boolean {
	const expiresAt = Date.parse(text(data.tokenExpiresAt));
	return Number.isFinite(expiresAt) && expiresAt - Date.now() < RENEW_BEFORE_EXPIRY_MS;
}

/**
 * The client id used when the credential has none: derived from the credential's id, so every worker that races
 * for the first token asks for the same client's one token (the loser is refused and uses the winner's), instead
 * of each generating its own id and fetching a second token. Stored with the token once fetched.
 */
export function stableClientId(credentialKey: string): string {
	const hex = createHash('sha256').update(`n8n-nodes-nemovideo/client-id/${credentialKey}`).digest('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Token fetches in flight, per credential: items of one execution (and executions in one process) share one fetch. */
const inFlight = new Map<string, Promise<NemoVideoAuth>>();

/**
 * The token lifecycle. A user's own token is used as it is. An anonymous token is fetched by the credential
 * type's `preAuthentication` through n8n, which stores it encrypted in the credential, so it survives across
 * executions and workers; it is renewed only when the service says it expired (1001).
 */
export class TokenKeeper {
	private current?: NemoVideoAuth;

	constructor(private readonly ctx: IExecuteFunctions) {}

	private get credentialKey(): string {
		const ref = this.ctx.getNode().credentials?.[CREDENTIAL_TYPE];
		return ref?.id ?? ref?.name ?? this.ctx.getNode().name;
	}

	async get(options: { freshForStream?: boolean } = {}): Promise<NemoVideoAuth> {
		if (this.current && !options.freshForStream) return this.current;
		const data = await this.readCredential();
		const auth = authFrom(data);
		if (auth && !(auth.anonymous && options.freshForStream && expiresSoon(data))) {
			this.current = auth;
			return auth;
		}
		return await this.fetchAnonymous(auth?.token);
	}

	/** Called after a 1001 for `stale`: fetches a new anonymous token once, shared by every caller that saw the 1001. */
	async renew(stale: NemoVideoAuth): Promise<NemoVideoAuth> {
		if (!stale.anonymous) return stale;
		if (this.current && this.current.token !== stale.token) return this.current;
		return await this.fetchAnonymous(stale.token);
	}

	private async readCredential(): Promise<ICredentialDataDecryptedObject> {
		const data = await this.ctx.getCredentials(CREDENTIAL_TYPE);
		const problem = baseUrlProblem(normaliseBaseUrl(data.baseUrl));
		if (problem) {
			throw new NodeOperationError(this.ctx.getNode(), `NemoVideo API credential: ${problem}`, {
				description: 'Fix the Base URL field of the NemoVideo API credential.',
			});
		}
		return data;
	}

	private async fetchAnonymous(staleToken: string | undefined): Promise<NemoVideoAuth> {
		const key = this.credentialKey;
		let pending = inFlight.get(key);
		if (!pending) {
			pending = this.fetchThroughN8n(staleToken).finally(() => inFlight.delete(key));
			inFlight.set(key, pending);
		}
		this.current = await pending;
		return this.current;
	}

	/**
	 * Runs a cheap authenticated call through n8n, with the stored token blanked when it is stale: n8n then calls
	 * the credential's preAuthentication, stores the new token and uses it. The stored credential is read back.
	 */
	private async fetchThroughN8n(staleToken: string | undefined): Promise<NemoVideoAuth> {
		const data = await this.readCredential();
		const known = authFrom(data);
		if (known && known.token !== staleToken && !(known.anonymous && expiresSoon(data))) return known;

		const node = this.ctx.getNode();
		const ref = node.credentials?.[CREDENTIAL_TYPE];
		const check: IHttpRequestOptions = {
			method: 'GET',
			url: `${normaliseBaseUrl(data.baseUrl)}/api/credits/balance/simple`,
			json: true,
			timeout: 30_000,
		};
		for (let attempt = 0; ; attempt++) {
			try {
				await this.ctx.helpers.httpRequestWithAuthentication.call(this.ctx, CREDENTIAL_TYPE, check, {
					credentialsDecrypted: {
						id: ref?.id ?? '',
						name: ref?.name ?? '',
						type: CREDENTIAL_TYPE,
						data: { ...data, sessionToken: '', clientId: text(data.clientId) || stableClientId(this.credentialKey) },
					},
				});
				break;
			} catch (error) {
				// preAuthentication stores the token before n8n sends the check call: when only the check failed
				// (no credits, a 5xx…), use the token; the node's own call then reports the real problem.
				const stored = authFrom(await this.readCredential());
				if (stored && stored.token !== staleToken) return stored;
				if (String((error as { httpCode?: unknown }).httpCode) === '429') {
					// Another worker may have won the race for this client id's one token: use the token it stored.
					const winner = await this.awaitStoredToken(staleToken);
					if (winner) return winner;
					// Otherwise a plain rate limit: the seed's rule is one retry after the wait.
					if (attempt === 0) {
						const cause = (error as { cause?: { retryAfterMs?: number } }).cause;
						await sleepUnlessCancelled(cause?.retryAfterMs ?? TOKEN_RETRY_AFTER_MS, this.ctx.getExecutionCancelSignal());
						continue;
					}
				}
				throw new NodeOperationError(node, 'Could not get an anonymous NemoVideo token', {
					description: `${(error as Error).message}. Anonymous tokens are limited to one per client id every 7 days: wait and try again, or set your own access token in the NemoVideo API credential.`,
				});
			}
		}
		const stored = authFrom(await this.readCredential());
		if (!stored) {
			throw new NodeOperationError(node, 'The anonymous NemoVideo token was not stored', {
				description:
					'n8n did not keep the token the credential fetched. Save the NemoVideo API credential again and retry.',
			});
		}
		return stored;
	}

	private async awaitStoredToken(staleToken: string | undefined): Promise<NemoVideoAuth | undefined> {
		const signal = this.ctx.getExecutionCancelSignal();
		for (const wait of RACE_REREAD_MS) {
			const auth = authFrom(await this.readCredential());
			if (auth && auth.token !== staleToken) return auth;
			await sleepUnlessCancelled(wait, signal);
		}
		return undefined;
	}
}
