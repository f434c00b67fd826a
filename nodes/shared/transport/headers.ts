/**
 * What every request to the API carries, whichever way it is sent: through the retry engine (client.ts), through
 * n8n's helpers (tokenCalls.ts), or by n8n for the credential (its authenticate and test request).
 */
import { ATTRIBUTION_HEADERS } from '../constants';

/**
 * The headers of every request (docs/nemovideo-api.md, Envelope, auth, headers): the attribution headers (without
 * them export fails with HTTP 402), the bearer token when there is one, and the client id when one is sent.
 */
export function apiHeaders(sender: { token?: string; clientId?: string }): Record<string, string> {
	const headers: Record<string, string> = { ...ATTRIBUTION_HEADERS };
	if (sender.token !== undefined) headers.Authorization = `Bearer ${sender.token}`;
	if (sender.clientId) headers['X-Client-Id'] = sender.clientId;
	return headers;
}
