// NemoVideo API emulator: a real HTTP server on 127.0.0.1 (plus a second "CDN" server) speaking the protocol of
// docs/nemovideo-api.md. Used in-process by jest and as a child process (cli.ts) by end-to-end tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultQueue, playFault } from './faults';
import { flatHeaders, randomHex, sendJson, type Ctx } from './http';
import { handleAdmin } from './routes/admin';
import { handleToken } from './routes/auth';
import { handleCreateSession, handleCredits, handleState } from './routes/session';
import { handleSse } from './routes/sse';
import { handleUpload } from './routes/uploads';
import { handleCancel, handleDownload, handlePoll, handleRenderStart, refreshRender } from './routes/renders';
import { handleCdn } from './routes/cdn';
import {
	DEFAULT_CONFIG,
	type Account,
	type EmulatedRender,
	type EmulatedSession,
	type EmulatorConfig,
	type Fault,
	type RecordedRequest,
	type Route,
	type TokenRecord,
} from './types';

export * from './types';
export { FIXTURES_DIR, SAMPLE_MP4, ffmpegPath } from './media';

const DAY = 24 * 3600 * 1000;

interface RouteMatch {
	route: Route | 'unknown';
	method: string;
	param?: string;
	handler: (ctx: Ctx) => Promise<void> | void;
}

export class NemoVideoEmulator {
	config: EmulatorConfig;
	requests: RecordedRequest[] = [];

	/** @internal state, used by the route modules. */
	readonly tokens = new Map<string, TokenRecord>();
	/** @internal credits by user id */
	readonly accounts = new Map<string, Account>();
	/** @internal user id of each anonymous client id */
	readonly clientUsers = new Map<string, string>();
	/** @internal */
	readonly issued: Array<{ token: string; clientId: string; userId: string; at: number }> = [];
	/** @internal */
	readonly sessions = new Map<string, EmulatedSession>();
	/** @internal */
	readonly renders = new Map<string, EmulatedRender>();
	/** @internal running ffmpeg processes */
	readonly children = new Set<ChildProcess>();
	/** @internal temp dir with `uploads/` and `renders/` */
	tmpDir = '';

	private readonly overrides: Partial<EmulatorConfig>;
	private readonly faults = new FaultQueue();
	private readonly timers = new Set<NodeJS.Timeout>();
	private seq = 0;
	private server?: Server;
	private cdnServer?: Server;
	private mainUrl = '';
	private cdnServerUrl = '';
	private stopped = false;
	private stopListeners: Array<() => void> = [];

	constructor(config: Partial<EmulatorConfig> = {}) {
		this.overrides = { ...config };
		this.config = { ...DEFAULT_CONFIG, ...config };
	}

	/** The API's base URL: the main server, under `basePath` when one is configured. */
	get baseUrl(): string {
		return this.mainUrl ? `${this.mainUrl}${this.apiPrefix()}` : '';
	}

	/** Where output and upload URLs point: the second server, or the main one (at its root) when `cdnSeparateHost` is false. */
	get cdnUrl(): string {
		return this.config.cdnSeparateHost ? this.cdnServerUrl : this.mainUrl;
	}

	/** Starts both servers on 127.0.0.1 and resolves the base URL. */
	async start(port = 0, cdnPort = 0): Promise<string> {
		if (this.server) return this.mainUrl;
		this.stopped = false;
		this.tmpDir = mkdtempSync(join(tmpdir(), 'nemovideo-emulator-'));
		this.makeTmpDirs();
		this.server = this.makeServer('main');
		this.cdnServer = this.makeServer('cdn');
		this.mainUrl = await listen(this.server, port);
		this.cdnServerUrl = await listen(this.cdnServer, cdnPort);
		return this.mainUrl;
	}

	/** Closes both servers (dropping open SSE streams and keep-alive sockets), kills ffmpeg, removes temp files. */
	async stop(): Promise<void> {
		this.stopped = true;
		for (const listener of this.stopListeners.splice(0)) listener();
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
		this.killChildren();
		const servers = [this.server, this.cdnServer].filter((s): s is Server => !!s);
		this.server = undefined;
		this.cdnServer = undefined;
		await Promise.all(
			servers.map(
				(s) =>
					new Promise<void>((resolve) => {
						s.close(() => resolve());
						s.closeAllConnections();
					}),
			),
		);
		if (this.tmpDir) rmSync(this.tmpDir, { recursive: true, force: true });
		this.tmpDir = '';
	}

	/** Arms `fault` for the next `times` requests to `route`, after `skip` requests that pass untouched. */
	inject(route: Route | '*', fault: Fault, times = 1, skip = 0): void {
		this.faults.add(route, fault, times, skip);
	}

	clearFaults(): void {
		this.faults.clear();
	}

	/** @internal */
	armedFaults(): ReturnType<FaultQueue['list']> {
		return this.faults.list();
	}

	reset(): void {
		this.requests = [];
		this.seq = 0;
		this.faults.clear();
		this.tokens.clear();
		this.accounts.clear();
		this.clientUsers.clear();
		this.issued.length = 0;
		this.sessions.clear();
		this.renders.clear();
		for (const t of this.timers) clearTimeout(t);
		this.timers.clear();
		this.killChildren();
		this.config = { ...DEFAULT_CONFIG, ...this.overrides };
		if (this.tmpDir) {
			rmSync(join(this.tmpDir, 'uploads'), { recursive: true, force: true });
			rmSync(join(this.tmpDir, 'renders'), { recursive: true, force: true });
			this.makeTmpDirs();
		}
	}

	addToken(token: string, opts: { credits?: number; anonymous?: boolean; userId?: string } = {}): void {
		const anonymous = opts.anonymous ?? false;
		const userId = opts.userId ?? `${anonymous ? 'anon' : 'usr'}_${randomHex(8)}`;
		const now = Date.now();
		this.tokens.set(token, {
			token,
			userId,
			clientId: '',
			anonymous,
			issuedAt: now,
			expiresAt: now + (anonymous ? 7 : 365) * DAY,
			revoked: false,
		});
		const account = this.account(userId, anonymous ? this.config.anonymousCredits : 25000);
		if (opts.credits !== undefined) {
			account.available = opts.credits;
			account.frozen = 0;
		}
	}

	expireToken(token: string): void {
		const t = this.tokens.get(token);
		if (t) t.revoked = true;
	}

	expireAllTokens(): void {
		for (const t of this.tokens.values()) t.revoked = true;
	}

	issuedTokens(): Array<{ token: string; clientId: string; userId: string; at: number }> {
		return this.issued.map((t) => ({ ...t }));
	}

	setCredits(token: string, available: number): void {
		const t = this.tokens.get(token);
		if (!t) throw new Error(`Unknown token ${token}`);
		this.account(t.userId).available = available;
	}

	credits(token: string): { available: number; frozen: number; total: number } {
		const t = this.tokens.get(token);
		if (!t) throw new Error(`Unknown token ${token}`);
		const a = this.account(t.userId);
		return { available: a.available, frozen: a.frozen, total: a.available + a.frozen };
	}

	session(id: string): EmulatedSession | undefined {
		return this.sessions.get(id);
	}

	deleteSession(id: string): void {
		this.sessions.delete(id);
	}

	render(id: string): EmulatedRender | undefined {
		const r = this.renders.get(id);
		if (r) refreshRender(this, r);
		return r;
	}

	requestsTo(route: Route): RecordedRequest[] {
		return this.requests.filter((r) => r.route === route);
	}

	// ---------------------------------------------------------------- internals used by the routes

	/** @internal the live token record, or undefined when unknown, expired or revoked */
	liveToken(token: string | undefined): TokenRecord | undefined {
		if (!token) return undefined;
		const t = this.tokens.get(token);
		if (!t || t.revoked || t.expiresAt <= Date.now()) return undefined;
		return t;
	}

	/** @internal the account of a user, created with `initial` credits when new */
	account(userId: string, initial = 0): Account {
		let a = this.accounts.get(userId);
		if (!a) {
			a = { available: initial, frozen: 0 };
			this.accounts.set(userId, a);
		}
		return a;
	}

	/** @internal a timer that stop()/reset() cancel */
	later(ms: number, fn: () => void): void {
		if (this.stopped) return;
		const t = setTimeout(() => {
			this.timers.delete(t);
			fn();
		}, Math.max(0, ms));
		this.timers.add(t);
	}

	/** @internal runs `fn` when the emulator stops (at once when it has stopped). */
	onStop(fn: () => void): void {
		if (this.stopped) fn();
		else this.stopListeners.push(fn);
	}

	/** @internal sleeps; never resolves after stop() (the waiting handler is simply abandoned). */
	sleep(ms: number): Promise<void> {
		return new Promise((resolve) => this.later(ms, resolve));
	}

	/** @internal */
	get isStopped(): boolean {
		return this.stopped;
	}

	/** @internal */
	uploadsDir(): string {
		return join(this.tmpDir, 'uploads');
	}

	/** @internal */
	rendersDir(): string {
		return join(this.tmpDir, 'renders');
	}

	/** @internal */
	killChild(child: ChildProcess): void {
		if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
		this.children.delete(child);
	}

	private killChildren(): void {
		for (const c of [...this.children]) this.killChild(c);
	}

	private makeTmpDirs(): void {
		mkdirSync(this.uploadsDir(), { recursive: true });
		mkdirSync(this.rendersDir(), { recursive: true });
	}

	private makeServer(which: 'main' | 'cdn'): Server {
		const server = createServer((req, res) => {
			this.dispatch(which, req, res).catch((err: unknown) => {
				console.error('[nemovideo-emulator] handler error', err);
				if (!res.headersSent && !res.destroyed) {
					res.writeHead(500, { 'Content-Type': 'application/json' });
					res.end(JSON.stringify({ code: 500, message: `Emulator error: ${String(err)}` }));
				} else res.destroy();
			});
		});
		server.requestTimeout = 0;
		server.keepAliveTimeout = 5000;
		return server;
	}

	private apiPrefix(): string {
		return (this.config.basePath ?? '').replace(/\/+$/, '');
	}

	/** The path below `basePath`, or undefined when the request is outside it. */
	private apiPath(path: string): string | undefined {
		const prefix = this.apiPrefix();
		if (!prefix) return path;
		return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
	}

	private match(which: 'main' | 'cdn', rawPath: string): RouteMatch {
		const cdnPath = /^\/(renders|uploads)\/([^/]+)$/.exec(rawPath);
		if (which === 'cdn' || !this.config.cdnSeparateHost) {
			if (cdnPath) return { route: 'cdn', method: 'GET', param: rawPath, handler: handleCdn };
			if (which === 'cdn') return { route: 'unknown', method: '*', handler: notFound };
		}
		const path = this.apiPath(rawPath);
		if (path === undefined) return { route: 'unknown', method: '*', handler: notFound };
		let m: RegExpExecArray | null;
		if (path === '/api/auth/anonymous-token') return { route: 'token', method: 'POST', handler: handleToken };
		if (path === '/api/tasks/me/with-session/nemo_agent')
			return { route: 'session', method: 'POST', handler: handleCreateSession };
		if (path === '/run_sse') return { route: 'sse', method: 'POST', handler: handleSse };
		if ((m = /^\/api\/upload-video\/nemo_agent\/me\/([^/]+)\/?$/.exec(path)))
			return { route: 'upload', method: 'POST', param: m[1], handler: handleUpload };
		if (path === '/api/credits/balance/simple') return { route: 'credits', method: 'GET', handler: handleCredits };
		if ((m = /^\/api\/state\/nemo_agent\/me\/([^/]+)\/latest\/?$/.exec(path)))
			return { route: 'state', method: 'GET', param: m[1], handler: handleState };
		if (path === '/api/render/proxy/lambda' || path === '/api/render/proxy/lambda/')
			return { route: 'renderStart', method: 'POST', handler: handleRenderStart };
		if ((m = /^\/api\/render\/proxy\/lambda\/([^/]+)\/cancel\/?$/.exec(path)))
			return { route: 'renderCancel', method: 'POST', param: m[1], handler: handleCancel };
		if ((m = /^\/api\/render\/proxy\/lambda\/([^/]+)\/?$/.exec(path)))
			return { route: 'renderPoll', method: 'GET', param: m[1], handler: handlePoll };
		if ((m = /^\/api\/render\/proxy\/([^/]+)\/download\/?$/.exec(path)))
			return { route: 'download', method: 'GET', param: m[1], handler: handleDownload };
		return { route: 'unknown', method: '*', handler: notFound };
	}

	private async dispatch(which: 'main' | 'cdn', req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://emulator.invalid');
		const path = url.pathname;
		const query: Record<string, string> = {};
		for (const [k, v] of url.searchParams) query[k] = v;
		const method = (req.method ?? 'GET').toUpperCase();
		const isAdmin = which === 'main' && (path.startsWith('/__emulator/') || !!this.apiPath(path)?.startsWith('/__emulator/'));
		const m: RouteMatch = isAdmin ? { route: 'unknown', method: '*', handler: handleAdmin } : this.match(which, path);
		const rec: RecordedRequest = {
			seq: isAdmin ? 0 : ++this.seq,
			at: Date.now(),
			method,
			path,
			query,
			route: isAdmin ? 'admin' : m.route,
			headers: flatHeaders(req),
			bodyBytes: 0,
		};
		let param: string | undefined;
		try {
			param = m.param === undefined ? undefined : decodeURIComponent(m.param);
		} catch {
			param = m.param;
		}
		const ctx: Ctx = { emu: this, req, res, rec, path: isAdmin ? path.slice(path.indexOf('/__emulator/')) : path, query, param };
		if (isAdmin) {
			await handleAdmin(ctx);
			return;
		}
		this.requests.push(rec);
		res.on('finish', () => {
			if (rec.status === undefined && rec.fault !== 'drop') rec.status = res.statusCode;
		});
		res.on('close', () => {
			rec.endedAt ??= Date.now();
		});
		const fault = this.faults.take(m.route);
		if (fault?.kind === 'answerLost') ctx.loseAnswer = { status: fault.status };
		if (fault && (await playFault(ctx, fault))) return;
		if (m.method !== '*' && method !== m.method && !(m.method === 'GET' && method === 'HEAD')) {
			sendJson(ctx, 405, { code: 405, message: `Method ${method} not allowed` }, { Allow: m.method });
			return;
		}
		await m.handler(ctx);
	}
}

function notFound(ctx: Ctx): void {
	sendJson(ctx, 404, { code: 404, message: 'Not found' });
}

function listen(server: Server, port: number): Promise<string> {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port, '127.0.0.1', () => {
			server.off('error', reject);
			const a = server.address() as AddressInfo;
			resolve(`http://127.0.0.1:${a.port}`);
		});
	});
}
