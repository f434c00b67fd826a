/**
 * The two calls of the token keeper (auth.ts) that n8n's helpers send, not the retry engine: the anonymous token
 * call and the token check. Their paths are numbered as in docs/nemovideo-api.md (Endpoints); api.ts has the rest.
 */
import type { IHttpRequestOptions } from 'n8n-workflow';

import { apiHeaders } from './headers';

const ANONYMOUS_ISSUER_PATH = '/api/auth/anonymous-token'; // 1
/** The balance (5): free, read-only and small, so it also serves as the check of a token. */
export const CREDITS_PATH = '/api/credits/balance/simple';

/** The call that fetches an anonymous token, as errors name it. */
export const ANONYMOUS_TOKEN_CALL = `POST ${ANONYMOUS_ISSUER_PATH}`;

/** Answers are read by the token keeper, not by n8n: a 429 must hold the gate, and a 401 must not make n8n renew. */
const READ_BY_CALLER = { json: true, returnFullResponse: true, ignoreHttpStatusErrors: true, timeout: 30_000 } as const;

/** The anonymous token call (POST, no token, no body): the client id says whose token it is. */
export function anonymousTokenRequest(baseUrl: string, clientId: string): IHttpRequestOptions {
	return { method: 'POST', url: `${baseUrl}${ANONYMOUS_ISSUER_PATH}`, headers: apiHeaders({ clientId }), ...READ_BY_CALLER };
}

/** The balance call as a token check: with `token`, that token; without, the one n8n's authenticate adds. */
export function tokenCheckRequest(baseUrl: string, token?: string): IHttpRequestOptions {
	const headers = token === undefined ? {} : { headers: apiHeaders({ token }) };
	return { method: 'GET', url: `${baseUrl}${CREDITS_PATH}`, ...headers, ...READ_BY_CALLER };
}
