/**
 * The proxy rules: which proxy, if any, a request goes through, read from the environment as n8n reads it.
 * The connection through the chosen proxy is made where requests are sent (send.ts).
 */

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

/** A proxy for one request, and the variable it came from (named in errors; the value may hold a password). */
export interface ProxyChoice {
	url: string;
	variable: string;
}

/** A variable as proxy-from-env reads it: the lowercase name first; an empty value counts as unset. */
function proxyVariable(env: NodeJS.ProcessEnv, name: string): { value: string; variable: string } | undefined {
	for (const variable of [name.toLowerCase(), name.toUpperCase()]) {
		const value = env[variable];
		if (value) return { value, variable };
	}
	return undefined;
}

/**
 * The proxy for a URL by the rules n8n's own requests follow: n8n resolves its proxy with `proxy-from-env` 1.1
 * (a dependency of @n8n/backend-network), which takes, for a request of scheme S, the first set of
 * `npm_config_S_proxy`, `S_proxy`, `npm_config_proxy`, `all_proxy`, each name lowercase first, then uppercase (so
 * https uses HTTPS_PROXY, http HTTP_PROXY); `no_proxy` (or `npm_config_no_proxy`) exempts hosts. The npm_config_*
 * names are what npm sets from its own proxy settings when it starts a process, so `npm run`/`npx n8n` behave alike.
 * undici's EnvHttpProxyAgent differs on five points, which is why it is not used: an empty lowercase variable
 * hides the uppercase one there; https goes through HTTP_PROXY when HTTPS_PROXY is unset; ALL_PROXY and the npm
 * names are ignored; and a NO_PROXY entry `example.com` exempts its subdomains too. A proxy without a scheme gets
 * the request's scheme, as in proxy-from-env. The variables are read on every request (a few lookups), so a
 * changed environment takes effect at once.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): ProxyChoice | undefined {
	const scheme = target.protocol.replace(/:$/, '');
	const port = Number(target.port) || DEFAULT_PORTS[target.protocol] || 0;
	if (target.hostname === '' || !shouldProxy(target.hostname, port, env)) return undefined;
	const chosen = [`npm_config_${scheme}_proxy`, `${scheme}_proxy`, 'npm_config_proxy', 'all_proxy']
		.map((name) => proxyVariable(env, name))
		.find((found) => found !== undefined);
	if (!chosen) return undefined;
	const url = chosen.value.includes('://') ? chosen.value : `${scheme}://${chosen.value}`;
	return { url, variable: chosen.variable };
}

/**
 * proxy-from-env's NO_PROXY rules: entries split on commas or spaces; `*` alone exempts every host; `host:port`
 * applies to that port only; a plain entry matches that host exactly; `.example.com` and `*.example.com` match
 * its subdomains; `*example.com` matches any host ending so. IP ranges (CIDR) are not understood, as there.
 */
function shouldProxy(hostname: string, port: number, env: NodeJS.ProcessEnv): boolean {
	const noProxy = ((proxyVariable(env, 'npm_config_no_proxy') ?? proxyVariable(env, 'no_proxy'))?.value ?? '').toLowerCase();
	if (noProxy === '') return true;
	if (noProxy === '*') return false;
	return noProxy.split(/[,\s]/).every((entry) => entry === '' || !noProxyEntryMatches(entry, hostname, port));
}

function noProxyEntryMatches(entry: string, hostname: string, port: number): boolean {
	const withPort = /^(.+):(\d+)$/.exec(entry);
	const entryPort = withPort ? Number.parseInt(withPort[2], 10) : 0;
	if (entryPort && entryPort !== port) return false;
	const host = withPort ? withPort[1] : entry;
	if (!/^[.*]/.test(host)) return hostname === host;
	return hostname.endsWith(host.startsWith('*') ? host.slice(1) : host);
}

export class ProxySettingError extends Error {
	constructor(readonly variable: string) {
		super(`The proxy in ${variable} is not a valid URL: set it to http://host:port (or unset it)`);
	}
}
