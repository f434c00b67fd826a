/**
 * Issue 9, "Security: n8n's outbound request guard": an address that came from the service's answer (the MP4's
 * URL), not from the credential, passes n8n's guard (N8N_SSRF_*) before it is fetched, on every redirect hop and at
 * connect time. On n8n 2.x that is n8n's own guard (this.helpers.getSecureEgressFilter); on an n8n whose helpers
 * lack it (1.x) the package applies the same settings itself.
 *
 * The emulator runs on 127.0.0.1, which n8n's default blocked ranges include (127.0.0.0/8). The credential's Base
 * URL is exempt (it is the user's own choice), so the API works; its CDN, on another port, is an address from an
 * answer. This file turns the guard on and allows the name `localhost` only, through the same variables an
 * administrator sets. They are set before n8n's container first reads its config (lazily, at the first guard).
 */
process.env.N8N_SSRF_PROTECTION_ENABLED = 'true';
process.env.N8N_SSRF_ALLOWED_HOSTNAMES = 'localhost';

import type { IExecuteFunctions, INodeType } from 'n8n-workflow';

import { downloadPublic } from '../nodes/shared/transport/download';
import type { EgressGuard } from '../nodes/shared/transport/egressGuard';
import { OutboundRequestBlockedError, egressGuardFor, packageEgressGuard } from '../nodes/shared/transport/egressGuard';
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import { readBinary } from './harness';
import type { Harness } from './harness';
import { SeenText, sessionWithDraft } from './helpers';

const TOKEN = 'nmv_usr_own_ssrf_guard_token';
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 200, sseEventDelayMs: 1 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
afterAll(() => expect(seen.leaks([TOKEN])).toEqual([]));
beforeEach(() => {
	harness.nodeTypes.types['n8n-nodes-nemovideo.testFetch'] = fetchNode;
});

/**
 * What Export & Wait does with a video URL on another origin than the credential's (NemoVideoClient.download),
 * run by n8n-core so that `this.helpers` are n8n's own. `as` = 'n8n1' hides getSecureEgressFilter, as n8n 1.x has
 * none. Outputs the bytes' first eight, or the error's name, message and description.
 */
const fetchNode: INodeType = {
	description: {
		displayName: 'Test Fetch',
		name: 'testFetch',
		group: ['transform'],
		version: 1,
		description: '',
		defaults: { name: 'Test Fetch' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [
			{ displayName: 'URL', name: 'url', type: 'string', default: '' },
			{ displayName: 'As', name: 'as', type: 'string', default: 'n8n2' },
		],
	},
	async execute(this: IExecuteFunctions) {
		const url = this.getNodeParameter('url', 0) as string;
		const helpers = this.getNodeParameter('as', 0) === 'n8n1' ? { ...this.helpers, getSecureEgressFilter: undefined } : this.helpers;
		const guard = egressGuardFor(helpers);
		try {
			const response = await downloadPublic(url, undefined, guard);
			const bytes: Buffer[] = [];
			for await (const chunk of response.body) bytes.push(chunk as Buffer);
			return [[{ json: { guard: guard?.by ?? 'none', head: Buffer.concat(bytes).subarray(0, 8).toString('latin1') } }]];
		} catch (error) {
			const { name, message, description } = error as OutboundRequestBlockedError;
			return [[{ json: { guard: guard?.by ?? 'none', error: { name, message, description: description ?? '' } } }]];
		}
	},
};

interface Fetched {
	guard: string;
	head?: string;
	error?: { name: string; message: string; description: string };
}

async function fetchAs(url: string, as: 'n8n2' | 'n8n1' = 'n8n2'): Promise<Fetched> {
	const run = seen.run(await harness.run({ nodes: [{ type: 'testFetch', parameters: { url, as } }] }));
	expect(run.error).toBeUndefined();
	return run.output()[0].json as unknown as Fetched;
}

/** A finished render's video URL as the service gives it (on the emulator's CDN, 127.0.0.1). */
async function renderedVideoUrl(): Promise<string> {
	const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
	const run = seen.run(
		await harness.run({
			nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, download: false, pollIntervalSeconds: 0.2, timeoutMinutes: 1 } }],
		}),
	);
	expect(run.error).toBeUndefined();
	const url = new URL(String(run.output()[0].json.url));
	expect(url.origin).toBe(emu.cdnUrl);
	emu.requests = [];
	return url.toString();
}

const onLocalhost = (url: string) => url.replace('//127.0.0.1:', '//localhost:');

describe("n8n's guard, where n8n lets a node reach it (n8n 2.x)", () => {
	test('a render answer pointing the download at a blocked address is not fetched: the video comes from the credential', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		const run = seen.run(
			await harness.run({ nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, pollIntervalSeconds: 0.2, timeoutMinutes: 1 } }] }),
		);
		expect(run.error).toBeUndefined();
		// The CDN at 127.0.0.1 came from the answer: refused before a connection; the credential's endpoint served it.
		expect(emu.requestsTo('cdn')).toHaveLength(0);
		expect(emu.requestsTo('download')).toHaveLength(1);
		const bytes = await readBinary(run.output()[0].binary!.data);
		expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
	});

	test('the refusal says which address and which setting allows it', async () => {
		const url = await renderedVideoUrl();
		const fetched = await fetchAs(url);
		expect(fetched.guard).toBe('n8n');
		expect(fetched.error?.name).toBe('OutboundRequestBlockedError');
		expect(fetched.error?.message).toBe(
			`Refused to fetch ${emu.cdnUrl}: 127.0.0.1 is in a blocked IP range for n8n's outbound request guard`,
		);
		expect(fetched.error?.description).toContain('add "127.0.0.1" to N8N_SSRF_ALLOWED_HOSTNAMES or "127.0.0.1/32"');
		expect(fetched.error?.description).toContain('N8N_SSRF_ALLOWED_IP_RANGES');
		expect(emu.requestsTo('cdn')).toHaveLength(0);
	});

	test('an allowed host passes', async () => {
		const fetched = await fetchAs(onLocalhost(await renderedVideoUrl()));
		expect(fetched).toEqual({ guard: 'n8n', head: expect.stringContaining('ftyp') });
		expect(emu.requestsTo('cdn')).toHaveLength(1);
	});

	test('a redirect hop to a blocked address is refused', async () => {
		const url = await renderedVideoUrl();
		emu.inject('cdn', { kind: 'cdnRedirect', location: url }, 1);
		const fetched = await fetchAs(onLocalhost(url));
		expect(fetched.error?.message).toBe(
			`Refused to fetch ${emu.cdnUrl}: 127.0.0.1 is in a blocked IP range for n8n's outbound request guard`,
		);
		// The allowed first hop was fetched (and answered with the redirect); the blocked one never was.
		expect(emu.requestsTo('cdn').map((request) => request.fault)).toEqual(['cdnRedirect']);
	});
});

describe("the package's own guard, where n8n has none for nodes (n8n 1.x)", () => {
	const saved = { ...process.env };
	afterEach(() => {
		for (const name of Object.keys(process.env)) if (name.startsWith('N8N_SSRF_')) delete process.env[name];
		Object.assign(process.env, saved);
	});

	test('the same settings refuse a blocked address, a blocked redirect hop, and let an allowed host pass', async () => {
		const url = await renderedVideoUrl();
		const refused = await fetchAs(url, 'n8n1');
		expect(refused.guard).toBe('package');
		expect(refused.error?.message).toMatch(/^Refused to fetch http:\/\/127\.0\.0\.1:\d+: 127\.0\.0\.1 is in a blocked IP range for the outbound request guard \(this n8n has none for nodes, so the package applies n8n's N8N_SSRF_\* settings\)$/);
		expect(refused.error?.description).toContain('N8N_SSRF_ALLOWED_HOSTNAMES');

		expect(await fetchAs(onLocalhost(url), 'n8n1')).toEqual({ guard: 'package', head: expect.stringContaining('ftyp') });

		emu.inject('cdn', { kind: 'cdnRedirect', location: url }, 1);
		const redirected = await fetchAs(onLocalhost(url), 'n8n1');
		expect(redirected.error?.message).toMatch(/^Refused to fetch http:\/\/127\.0\.0\.1:\d+: /);
		expect(emu.requestsTo('cdn').map((request) => request.fault)).toEqual([undefined, 'cdnRedirect']);
	});

	test('as in n8n, the guard is off unless N8N_SSRF_PROTECTION_ENABLED is true; the ranges and names are settings', async () => {
		const url = await renderedVideoUrl();
		delete process.env.N8N_SSRF_PROTECTION_ENABLED;
		expect(await fetchAs(url, 'n8n1')).toEqual({ guard: 'none', head: expect.stringContaining('ftyp') });

		process.env.N8N_SSRF_PROTECTION_ENABLED = 'true';
		process.env.N8N_SSRF_ALLOWED_IP_RANGES = '127.0.0.0/8';
		expect(await fetchAs(url, 'n8n1')).toEqual({ guard: 'package', head: expect.stringContaining('ftyp') });

		process.env.N8N_SSRF_ALLOWED_HOSTNAMES = '';
		process.env.N8N_SSRF_BLOCKED_HOSTNAMES = '*.internal,localhost';
		const byName = await fetchAs(onLocalhost(url), 'n8n1');
		expect(byName.error?.message).toMatch(/localhost is a blocked host name/);
		expect(byName.error?.description).toContain('remove "localhost" from N8N_SSRF_BLOCKED_HOSTNAMES');

		process.env.N8N_SSRF_BLOCKED_IP_RANGES = '10.0.0.0/8';
		delete process.env.N8N_SSRF_ALLOWED_IP_RANGES;
		expect(await fetchAs(url, 'n8n1')).toEqual({ guard: 'package', head: expect.stringContaining('ftyp') });
		process.env.N8N_SSRF_BLOCKED_IP_RANGES = 'default';
		expect((await fetchAs(url, 'n8n1')).error?.name).toBe('OutboundRequestBlockedError');
	});

	test('the address is checked again when the connection is made, so a DNS answer that changes cannot pass', async () => {
		const url = onLocalhost(await renderedVideoUrl());
		delete process.env.N8N_SSRF_ALLOWED_HOSTNAMES;
		const policy = packageEgressGuard()!;
		// The check before the request saw a public address; the connection's own lookup then gets 127.0.0.1.
		const rebound: EgressGuard = {
			by: 'package',
			filter: {
				validateUrl: async () => ({ ok: true }),
				validateRedirectSync: () => {},
				createSecureLookup: () => policy.filter.createSecureLookup(),
			},
		};
		const refusal = await downloadPublic(url, undefined, rebound).catch((error: unknown) => error);
		expect(refusal).toBeInstanceOf(OutboundRequestBlockedError);
		expect((refusal as Error).message).toMatch(/^Refused to fetch http:\/\/localhost:\d+: localhost resolves to 127\.0\.0\.1, which is in a blocked IP range/);
		expect(emu.requestsTo('cdn')).toHaveLength(0);
	});
});
