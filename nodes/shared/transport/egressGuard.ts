/**
 * The outbound request guard: which addresses from the service's answers a request may go to (n8n's guard, else
 * the package's own from n8n's N8N_SSRF_* settings), and the error that names a refused address and its setting.
 */
import { lookup as dnsLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { BlockList, isIP } from 'node:net';

/** What a verdict of n8n's guard looks like (n8n-workflow's Result). */
export type EgressVerdict = { ok: true } | { ok: false; error: Error };

/**
 * The part of n8n's `NodeEgressFilter` (n8n-workflow 2.x, `this.helpers.getSecureEgressFilter()`) this package
 * uses; the package's own policy implements the same three checks.
 */
export interface EgressFilter {
	/** Checks a URL before any connection, resolving its host name. */
	validateUrl(url: string | URL): Promise<EgressVerdict>;
	/** Checks the host name lists and an IP literal, without DNS; throws when refused. */
	validateRedirectSync(url: string): void;
	/** A dns.lookup that refuses blocked addresses: the check at connect time, which DNS rebinding cannot pass. */
	createSecureLookup(): LookupFunction;
}

export interface EgressGuard {
	/** 'n8n': n8n's own guard; 'package': this package applying n8n's settings where n8n has no guard for nodes. */
	readonly by: 'n8n' | 'package';
	readonly filter: EgressFilter;
}

/**
 * The guard for addresses from the service's answers. Where n8n lets a node reach its guard
 * (`getSecureEgressFilter`, n8n 2.x), that one: n8n's settings, n8n's defaults (off unless
 * N8N_SSRF_PROTECTION_ENABLED=true), n8n's DNS cache. Elsewhere (n8n 1.x) the package applies the same
 * N8N_SSRF_* settings itself, also only when N8N_SSRF_PROTECTION_ENABLED is true, so a workflow behaves the same
 * on both lines. Feature detection, not a version string.
 */
export function egressGuardFor(helpers: object): EgressGuard | undefined {
	const n8nGuard = (helpers as { getSecureEgressFilter?: () => EgressFilter }).getSecureEgressFilter;
	if (typeof n8nGuard === 'function') {
		try {
			return { by: 'n8n', filter: n8nGuard.call(helpers) };
		} catch {
			// An n8n whose guard cannot start: the same settings, applied here.
		}
	}
	return packageEgressGuard();
}

/** n8n's defaults (@n8n/config `SSRF_DEFAULT_BLOCKED_IP_RANGES`): private, loopback, link-local, documentation. */
const DEFAULT_BLOCKED_IP_RANGES: readonly string[] = Object.freeze([
	'10.0.0.0/8',
	'172.16.0.0/12',
	'192.168.0.0/16',
	'127.0.0.0/8',
	'::1/128',
	'169.254.0.0/16',
	'fe80::/10',
	'fc00::/7',
	'fd00::/8',
	'0.0.0.0/8',
	'192.0.0.0/24',
	'192.0.2.0/24',
	'198.18.0.0/15',
	'198.51.100.0/24',
	'203.0.113.0/24',
]);

const SSRF_VARIABLES = [
	'N8N_SSRF_PROTECTION_ENABLED',
	'N8N_SSRF_BLOCKED_IP_RANGES',
	'N8N_SSRF_ALLOWED_IP_RANGES',
	'N8N_SSRF_ALLOWED_HOSTNAMES',
	'N8N_SSRF_BLOCKED_HOSTNAMES',
] as const;

/** A setting as n8n's config reads it: the variable, else the file named by `<name>_FILE`. */
function ssrfSetting(env: NodeJS.ProcessEnv, name: string): string | undefined {
	if (name in env) return env[name];
	const file = env[`${name}_FILE`];
	return file ? readFileSync(file, 'utf8').trim() : undefined;
}

const policies = new Map<string, EgressGuard | undefined>();

/** The package's own guard from the N8N_SSRF_* settings; one per distinct setting, so tests can change them. */
export function packageEgressGuard(env: NodeJS.ProcessEnv = process.env): EgressGuard | undefined {
	const key = JSON.stringify(SSRF_VARIABLES.map((name) => [env[name], env[`${name}_FILE`]]));
	if (!policies.has(key)) {
		const enabled = ['true', '1'].includes((ssrfSetting(env, SSRF_VARIABLES[0]) ?? '').toLowerCase());
		policies.set(key, enabled ? { by: 'package', filter: new EgressPolicy(policySettings(env)) } : undefined);
	}
	return policies.get(key);
}

interface PolicySettings {
	blockedIpRanges: string[];
	allowedIpRanges: string[];
	allowedHostnames: string[];
	blockedHostnames: string[];
}

function commaList(value: string | undefined): string[] {
	return (value ?? '').split(',').map((entry) => entry.trim()).filter(Boolean);
}

/** As @n8n/config parses them: `default` in the blocked list stands for the default ranges; unset = the defaults. */
function policySettings(env: NodeJS.ProcessEnv): PolicySettings {
	const blocked = ssrfSetting(env, 'N8N_SSRF_BLOCKED_IP_RANGES');
	const blockedIpRanges =
		blocked === undefined
			? [...DEFAULT_BLOCKED_IP_RANGES]
			: commaList(blocked.trim().replace(/^(['"])(.*)\1$/, '$2')).flatMap((entry) =>
					entry.toLowerCase() === 'default' ? DEFAULT_BLOCKED_IP_RANGES : [entry],
				);
	return {
		blockedIpRanges,
		allowedIpRanges: commaList(ssrfSetting(env, 'N8N_SSRF_ALLOWED_IP_RANGES')),
		allowedHostnames: commaList(ssrfSetting(env, 'N8N_SSRF_ALLOWED_HOSTNAMES')),
		blockedHostnames: commaList(ssrfSetting(env, 'N8N_SSRF_BLOCKED_HOSTNAMES')),
	};
}

/** A refusal by the package's own policy, with the fields n8n's SsrfBlockedIpError / HostnameError carry. */
class PolicyRefusal extends Error {
	constructor(
		readonly reason: 'ip' | 'hostname',
		readonly hostname: string,
		readonly ip?: string,
	) {
		super(reason === 'ip' ? `${ip} is a blocked address` : `${hostname} is a blocked host name`);
		this.name = reason === 'ip' ? 'SsrfBlockedIpError' : 'SsrfBlockedHostnameError';
	}
}

function ipRangeList(ranges: string[]): BlockList {
	const list = new BlockList();
	for (const range of ranges) {
		const [network, prefix] = range.split('/');
		const family = isIP(network);
		if (family === 0 || !/^\d+$/.test(prefix ?? '')) continue; // n8n warns and skips such an entry
		list.addSubnet(network, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
	}
	return list;
}

/** n8n's HostnameMatcher: exact names, `*.example.com` for subdomains; case and a final dot ignored. */
function hostnameMatcher(patterns: string[]): (hostname: string) => boolean {
	const normal = (name: string) => name.trim().toLowerCase().replace(/\.$/, '');
	const exact = new Set(patterns.map(normal).filter((name) => name && !name.startsWith('*.')));
	const suffixes = patterns.map(normal).filter((name) => name.startsWith('*.')).map((name) => name.slice(1));
	return (hostname) => {
		const name = normal(hostname);
		return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix) && name.length > suffix.length);
	};
}

function unbracketed(hostname: string): string {
	return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * n8n's SsrfProtectionService rules, for an n8n that has none: an allowed range wins over a blocked one; an
 * allowed host name skips the address check; a blocked host name is refused; every address a name resolves to
 * must pass.
 */
class EgressPolicy implements EgressFilter {
	private readonly blockedIps: BlockList;

	private readonly allowedIps: BlockList;

	private readonly allowedHost: (hostname: string) => boolean;

	private readonly blockedHost: (hostname: string) => boolean;

	constructor(settings: PolicySettings) {
		this.blockedIps = ipRangeList(settings.blockedIpRanges);
		this.allowedIps = ipRangeList(settings.allowedIpRanges);
		this.allowedHost = hostnameMatcher(settings.allowedHostnames);
		this.blockedHost = hostnameMatcher(settings.blockedHostnames);
	}

	async validateUrl(url: string | URL): Promise<EgressVerdict> {
		const { hostname } = new URL(url);
		try {
			await this.resolve(hostname, { all: true });
			return { ok: true };
		} catch (error) {
			// A refusal, or a name that does not resolve: either way nothing is sent.
			return { ok: false, error: error as Error };
		}
	}

	validateRedirectSync(url: string): void {
		const hostname = new URL(url).hostname;
		if (this.allowedHost(hostname)) return;
		if (this.blockedHost(hostname)) throw new PolicyRefusal('hostname', hostname);
		const ip = unbracketed(hostname);
		if (isIP(ip)) this.checkIp(ip, hostname);
	}

	createSecureLookup(): LookupFunction {
		return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
			this.resolve(hostname, options).then(
				(addresses) => {
					if (options.all) callback(null, addresses);
					else callback(null, addresses[0].address, addresses[0].family);
				},
				(error: Error) => callback(error, options.all ? [] : '', undefined),
			);
		}) as unknown as LookupFunction;
	}

	private checkIp(ip: string, hostname: string): void {
		const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
		if (this.allowedIps.check(ip, family)) return;
		if (this.blockedIps.check(ip, family)) throw new PolicyRefusal('ip', hostname, ip);
	}

	private async resolve(hostname: string, options: { all?: boolean }): Promise<Array<{ address: string; family: number }>> {
		const literal = unbracketed(hostname);
		const family = isIP(literal);
		if (family) {
			this.checkIp(literal, hostname);
			return [{ address: literal, family }];
		}
		const allowedByName = this.allowedHost(hostname);
		if (!allowedByName && this.blockedHost(hostname)) throw new PolicyRefusal('hostname', hostname);
		const addresses = await new Promise<Array<{ address: string; family: number }>>((resolve, reject) =>
			dnsLookup(hostname, { ...options, all: true }, (error, found) => (error ? reject(error) : resolve(found))),
		);
		if (!allowedByName) for (const { address } of addresses) this.checkIp(address, hostname);
		return addresses;
	}
}

/**
 * Before a request: directly, the URL is checked with its name resolved, and the connection's own lookup checks
 * again (an answer that changed in between is caught there). Through a proxy the proxy resolves the name, so only
 * the host name lists and an IP literal can be checked here: a name that the proxy resolves to a blocked address
 * is caught only if the proxy itself refuses internal addresses (n8n's own requests have the same limit).
 */
export async function checkTarget(target: URL, guard: EgressGuard, proxied: boolean): Promise<void> {
	const verdict = proxied ? checkNameOnly(target, guard) : await guard.filter.validateUrl(target);
	if (!verdict.ok) throw asBlockedError(verdict.error, target, guard) ?? verdict.error;
}

function checkNameOnly(target: URL, guard: EgressGuard): EgressVerdict {
	try {
		guard.filter.validateRedirectSync(target.toString());
		return { ok: true };
	} catch (error) {
		return { ok: false, error: error as Error };
	}
}

/** The guard refused an address: the error names it and the setting that allows it. */
export class OutboundRequestBlockedError extends Error {
	readonly code = 'NEMOVIDEO_OUTBOUND_BLOCKED';

	constructor(
		message: string,
		readonly description: string,
	) {
		super(message);
		this.name = 'OutboundRequestBlockedError';
	}
}

function refusalOf(error: unknown): { ip?: string; hostname?: string; name: string } | undefined {
	for (let current = error as { name?: string; cause?: unknown } | undefined, depth = 0; current && depth < 4; depth++) {
		if (current.name === 'SsrfBlockedIpError' || current.name === 'SsrfBlockedHostnameError') {
			return current as { ip?: string; hostname?: string; name: string };
		}
		current = current.cause as typeof current;
	}
	return undefined;
}

export function asBlockedError(error: unknown, target: URL, guard: EgressGuard): OutboundRequestBlockedError | undefined {
	const refusal = refusalOf(error);
	if (!refusal) return undefined;
	const host = target.hostname;
	const whose =
		guard.by === 'n8n'
			? "n8n's outbound request guard"
			: "the outbound request guard (this n8n has none for nodes, so the package applies n8n's N8N_SSRF_* settings)";
	if (refusal.name === 'SsrfBlockedHostnameError') {
		return new OutboundRequestBlockedError(
			`Refused to fetch ${target.origin}: ${host} is a blocked host name for ${whose}`,
			`The address came from NemoVideo's answer, not from the credential. To allow it, remove "${host}" from N8N_SSRF_BLOCKED_HOSTNAMES or add it to N8N_SSRF_ALLOWED_HOSTNAMES, then restart n8n.`,
		);
	}
	const ip = refusal.ip ?? unbracketed(host);
	return new OutboundRequestBlockedError(
		`Refused to fetch ${target.origin}: ${host === ip ? ip : `${host} resolves to ${ip}, which`} is in a blocked IP range for ${whose}`,
		`The address came from NemoVideo's answer, not from the credential. To allow it, add "${host}" to N8N_SSRF_ALLOWED_HOSTNAMES or "${ip}${isIP(ip) === 6 ? '/128' : '/32'}" (or its range) to N8N_SSRF_ALLOWED_IP_RANGES, then restart n8n. The blocked ranges are N8N_SSRF_BLOCKED_IP_RANGES (default: private, loopback and link-local addresses).`,
	);
}
