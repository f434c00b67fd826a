/**
 * Issue 10, "Behind a proxy": every request the package makes (API, uploads, the event stream, CDN downloads) goes
 * through the proxy that HTTPS_PROXY / HTTP_PROXY name, except to NO_PROXY hosts, with the precedence of
 * proxy-from-env (what n8n's own requests use): lowercase variables first. The proxy here is a real forward proxy
 * on loopback, written below: absolute-URI requests for http, CONNECT tunnels for https.
 *
 * Loopback is often in a machine's default NO_PROXY; every test sets all the variables itself, so what the
 * machine running the suite has set does not count.
 */
import { execFile } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import { promisify } from 'node:util';

import { downloadPublic } from '../nodes/shared/transport/download';
import { OutboundRequestBlockedError, packageEgressGuard } from '../nodes/shared/transport/egressGuard';
import { proxyFor } from '../nodes/shared/transport/proxy';
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import { readBinary } from './harness';
import type { Harness } from './harness';
import { SeenText } from './helpers';

const run = promisify(execFile);
const TOKEN = 'nmv_usr_own_proxy_token_0123';
const PHOTOS = [1, 2].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const PROXY_VARIABLES = ['http', 'https', 'all', 'no'].flatMap((kind) =>
	[`${kind}_proxy`, `npm_config_${kind}_proxy`].flatMap((name) => [name, name.toUpperCase()]),
).concat(['npm_config_proxy', 'NPM_CONFIG_PROXY']);
const seen = new SeenText();

/**
 * A forward proxy: an absolute-URI request (`GET http://host:port/path`) is forwarded and its answer streamed back;
 * `CONNECT host:port` opens a tunnel. `hosts` is the proxy's own name resolution (a proxy resolves names itself).
 */
class ForwardProxy {
	readonly seen: Array<{ method: string; target: string }> = [];

	readonly hosts = new Map<string, string>();

	url = '';

	private server?: Server;

	private readonly sockets = new Set<Socket>();

	async start(): Promise<string> {
		this.server = createServer((req, res) => this.forward(req, res));
		this.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => this.tunnel(req, client, head));
		this.server.on('connection', (socket: Socket) => this.track(socket));
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this.url;
	}

	async stop(): Promise<void> {
		for (const socket of this.sockets) socket.destroy();
		await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
	}

	private track(socket: Socket): void {
		this.sockets.add(socket);
		socket.on('close', () => this.sockets.delete(socket));
	}

	private resolve(hostname: string): string {
		return this.hosts.get(hostname) ?? hostname;
	}

	private forward(req: IncomingMessage, res: ServerResponse): void {
		this.seen.push({ method: req.method ?? '', target: req.url ?? '' });
		const target = new URL(req.url ?? '');
		const headers = { ...req.headers };
		delete headers['proxy-connection'];
		const upstream = httpRequest(
			{ host: this.resolve(target.hostname), port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers, agent: false },
			(answer) => {
				res.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(res);
			},
		);
		upstream.on('error', () => {
			if (!res.headersSent) res.writeHead(502);
			res.end();
		});
		req.pipe(upstream);
	}

	private tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
		this.seen.push({ method: 'CONNECT', target: req.url ?? '' });
		const [host, port] = (req.url ?? '').split(':');
		const upstream = netConnect(Number(port), this.resolve(host), () => {
			client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
			upstream.write(head);
			upstream.pipe(client);
			client.pipe(upstream);
		});
		this.track(upstream);
		upstream.on('error', () => client.destroy());
		client.on('error', () => upstream.destroy());
	}
}

let emu: NemoVideoEmulator;
let proxy: ForwardProxy;
let harness: Harness;
const saved: Record<string, string | undefined> = {};

withEmulator({ config: { renderMs: 200, sseEventDelayMs: 1 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
beforeAll(async () => {
	for (const name of PROXY_VARIABLES) saved[name] = process.env[name];
	proxy = new ForwardProxy();
	await proxy.start();
});
afterAll(async () => {
	setProxyEnv({});
	for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
	await proxy.stop();
	expect(seen.leaks([TOKEN])).toEqual([]);
});
beforeEach(() => {
	setProxyEnv({});
	proxy.seen.length = 0;
});

/** Sets exactly these proxy variables; every other one of them is removed. */
function setProxyEnv(values: Record<string, string>): void {
	for (const name of PROXY_VARIABLES) delete process.env[name];
	Object.assign(process.env, values);
}

const portOf = (url: string) => new URL(url).port;

/** Upload two photos, Generate, Export & Wait with the download: every kind of request the package makes. */
async function pipeline() {
	const result = seen.run(
		await harness.run({
			nodes: [
				{ type: 'test.readFiles', parameters: { paths: JSON.stringify(PHOTOS) } },
				{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
				{ type: 'nemoVideoGenerate', parameters: { prompt: 'a slideshow' } },
				{ type: 'nemoVideoExport', parameters: { pollIntervalSeconds: 0.2, timeoutMinutes: 1 } },
			],
		}),
	);
	expect(result.error).toBeUndefined();
	const bytes = await readBinary(result.output()[0].binary!.data);
	expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
	return result;
}

/** What the emulator got, as `METHOD origin/path`, to compare with what went through the proxy. */
function emulatorRequests(): string[] {
	return emu.requests
		.filter((request) => request.route !== 'admin')
		.map((request) => `${request.method} ${request.route === 'cdn' ? emu.cdnUrl : emu.baseUrl}${request.path}`);
}

const proxied = () => proxy.seen.map(({ method, target }) => `${method} ${target.split('?')[0]}`);

describe('through the proxy the environment names', () => {
	test('every request of a pipeline run goes through HTTP_PROXY: API, upload, event stream, CDN download', async () => {
		setProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: '' });
		await pipeline();
		const through = proxied();
		expect(through.length).toBeGreaterThan(0);
		expect([...through].sort()).toEqual(emulatorRequests().sort());
		const routes = new Set(emu.requests.map((request) => request.route));
		for (const route of ['session', 'upload', 'sse', 'renderStart', 'renderPoll', 'cdn']) expect(routes).toContain(route);
	});

	test('NO_PROXY hosts go direct, to the port when it names one', async () => {
		setProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: `localhost, 127.0.0.1:${portOf(emu.baseUrl)}` });
		await pipeline();
		// The API's port is exempt; the CDN, on another port of the same address, is not.
		expect(proxied().length).toBeGreaterThan(0);
		expect(proxied().every((line) => line.startsWith(`GET ${emu.cdnUrl}/renders/`))).toBe(true);
		expect(emu.requestsTo('cdn')).toHaveLength(proxied().length);

		proxy.seen.length = 0;
		setProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' });
		await pipeline();
		expect(proxied()).toEqual([]);
	});

	test('lowercase first, and an empty variable counts as unset, as in proxy-from-env', async () => {
		const other = new ForwardProxy();
		await other.start();
		try {
			const credits = async () => {
				const result = seen.run(await harness.run({ nodes: [{ type: 'nemoVideoCredits', parameters: {} }] }));
				expect(result.error).toBeUndefined();
			};
			setProxyEnv({ http_proxy: proxy.url, HTTP_PROXY: other.url });
			await credits();
			expect(proxy.seen).toHaveLength(1);
			expect(other.seen).toHaveLength(0);

			setProxyEnv({ http_proxy: '', HTTP_PROXY: other.url });
			await credits();
			expect(other.seen).toHaveLength(1);

			setProxyEnv({ HTTP_PROXY: proxy.url, no_proxy: '127.0.0.1', NO_PROXY: 'nothing.example' });
			await credits();
			expect(proxy.seen).toHaveLength(1);
		} finally {
			await other.stop();
		}
	});

	test('a proxy variable that is not a URL fails the call, naming the variable and not its value', async () => {
		setProxyEnv({ HTTP_PROXY: 'http://user:pr0xy-secret@[not-a-host' });
		const result = seen.run(await harness.run({ nodes: [{ type: 'nemoVideoCredits', parameters: {} }] }));
		const text = `${result.error?.message} ${result.error?.description}`;
		expect(text).toContain('The proxy in HTTP_PROXY is not a valid URL');
		expect(text).not.toContain('pr0xy-secret');
		expect(emu.requestsTo('credits')).toHaveLength(0);
	});

	test('https goes through a CONNECT tunnel, with the server certificate checked', async () => {
		const folder = await mkdtemp(join(tmpdir(), 'nemovideo-proxy-tls-'));
		let front: TlsServer | undefined;
		try {
			// A certificate for 127.0.0.1, trusted by the client process through NODE_EXTRA_CA_CERTS, as a
			// company's own CA would be; the TLS server in front of the emulator uses it.
			const key = join(folder, 'key.pem');
			const cert = join(folder, 'cert.pem');
			await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
			front = createTlsServer({ key: await readFile(key), cert: await readFile(cert) }, (socket) => {
				const upstream = netConnect(Number(portOf(emu.baseUrl)), '127.0.0.1');
				socket.pipe(upstream).pipe(socket);
				upstream.on('error', () => socket.destroy());
				socket.on('error', () => upstream.destroy());
			});
			await new Promise<void>((resolve) => front!.listen(0, '127.0.0.1', resolve));
			const httpsBase = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;

			// The client runs in its own process: NODE_EXTRA_CA_CERTS is read when Node starts.
			const script = [
				"const { NemoVideoClient } = require('./nodes/shared/transport/client.ts');",
				"const { credits } = require('./nodes/shared/transport/api.ts');",
				"const { ownTokenContext } = require('./test/helpers.ts');",
				`const ctx = ownTokenContext({ baseUrl: '${httpsBase}', accessToken: process.env.NEMOVIDEO_TEST_TOKEN });`,
				'credits(new NemoVideoClient(ctx)).then((credits) => console.log(JSON.stringify(credits)), (error) => { console.log(JSON.stringify({ error: error.message })); });',
			].join('\n');
			const env = { ...process.env, NODE_EXTRA_CA_CERTS: cert, HTTPS_PROXY: proxy.url, NO_PROXY: '', NEMOVIDEO_TEST_TOKEN: TOKEN };
			const { stdout } = await run(process.execPath, ['--import', 'tsx', '-e', script], { cwd: join(__dirname, '..'), env, timeout: 30_000 });
			expect(JSON.parse(stdout.trim())).toEqual({ available: 100_000, frozen: 0, total: 100_000 });
			expect(proxy.seen).toEqual([{ method: 'CONNECT', target: new URL(httpsBase).host }]);
			expect(emu.requestsTo('credits')).toHaveLength(1);
		} finally {
			await new Promise<void>((resolve) => (front ? front.close(() => resolve()) : resolve()));
			await rm(folder, { recursive: true, force: true });
		}
	});
});

describe("proxy-from-env's rules for the variables", () => {
	const at = (url: string, env: Record<string, string>) => proxyFor(new URL(url), env)?.url;
	const P = 'http://proxy.example:3128';

	test('https uses HTTPS_PROXY only, never HTTP_PROXY; ALL_PROXY is the fallback of both', () => {
		expect(at('https://api.example/', { HTTP_PROXY: P })).toBeUndefined();
		expect(at('http://api.example/', { HTTP_PROXY: P })).toBe(P);
		expect(at('https://api.example/', { HTTPS_PROXY: P })).toBe(P);
		expect(at('https://api.example/', { ALL_PROXY: P })).toBe(P);
		expect(at('https://api.example/', { https_proxy: 'proxy.example:8080' })).toBe('https://proxy.example:8080');
		expect(proxyFor(new URL('https://api.example/'), { https_proxy: P })?.variable).toBe('https_proxy');
	});

	test("npm's own proxy settings, as npm passes them to a process it starts, come before and after the plain ones", () => {
		const npm = 'http://npm-proxy.example:8080';
		expect(at('https://api.example/', { npm_config_https_proxy: npm, HTTPS_PROXY: P })).toBe(npm);
		expect(at('https://api.example/', { npm_config_proxy: npm, HTTPS_PROXY: P })).toBe(P);
		expect(at('https://api.example/', { npm_config_proxy: npm, ALL_PROXY: P })).toBe(npm);
		expect(at('https://api.example/', { HTTPS_PROXY: P, npm_config_no_proxy: 'api.example', NO_PROXY: 'other.example' })).toBeUndefined();
	});

	test.each([
		['example.com', 'https://example.com/', undefined],
		['example.com', 'https://sub.example.com/', P],
		['.example.com', 'https://sub.example.com/', undefined],
		['.example.com', 'https://example.com/', P],
		['*.example.com', 'https://a.b.example.com/', undefined],
		['*example.com', 'https://myexample.com/', undefined],
		['example.com:8443', 'https://example.com:8443/', undefined],
		['example.com:8443', 'https://example.com/', P],
		['example.com:443', 'https://example.com/', undefined],
		['*', 'https://anything.example/', undefined],
		['a.example  EXAMPLE.com', 'https://example.com/', undefined],
		['[::1]', 'https://[::1]:9000/', undefined],
		['10.0.0.0/8', 'https://10.1.2.3/', P],
	])('NO_PROXY=%s: %s', (noProxy, url, expected) => {
		expect(at(url, { HTTPS_PROXY: P, NO_PROXY: noProxy })).toBe(expected);
	});
});

describe('the outbound request guard behind a proxy', () => {
	afterEach(() => {
		delete process.env.N8N_SSRF_PROTECTION_ENABLED;
	});

	test('a blocked address is refused before the proxy sees it; a name is left to the proxy to resolve', async () => {
		setProxyEnv({ HTTP_PROXY: proxy.url, NO_PROXY: '' });
		process.env.N8N_SSRF_PROTECTION_ENABLED = 'true';
		const exported = seen.run(
			await harness.run({
				nodes: [
					{ type: 'test.readFiles', parameters: { paths: JSON.stringify(PHOTOS) } },
					{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
					{ type: 'nemoVideoGenerate', parameters: { prompt: 'a slideshow' } },
					{ type: 'nemoVideoExport', parameters: { download: false, pollIntervalSeconds: 0.2, timeoutMinutes: 1 } },
				],
			}),
		);
		expect(exported.error).toBeUndefined();
		const videoUrl = String(exported.output()[0].json.url);
		proxy.seen.length = 0;

		const refusal = await downloadPublic(videoUrl, undefined, packageEgressGuard()).catch((error: unknown) => error);
		expect(refusal).toBeInstanceOf(OutboundRequestBlockedError);
		expect(proxy.seen).toEqual([]);

		// This machine cannot resolve the name; the proxy can. Through a proxy only names and IP literals are checked.
		proxy.hosts.set('cdn.nemovideo.test', '127.0.0.1');
		const byName = videoUrl.replace('//127.0.0.1:', '//cdn.nemovideo.test:');
		const response = await downloadPublic(byName, undefined, packageEgressGuard());
		const head = Buffer.from(await response.body.arrayBuffer()).subarray(4, 8).toString('latin1');
		expect(head).toBe('ftyp');
		expect(proxied()).toEqual([`GET ${byName}`]);
	});
});
