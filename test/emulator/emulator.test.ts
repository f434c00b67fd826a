// The NemoVideo emulator over real HTTP (Node's global fetch): protocol, scenarios, faults, admin API, CLI, ffmpeg.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NemoVideoEmulator, SAMPLE_MP4, ffmpegPath, type EmulatorConfig } from './index';
import { detectType } from './media';

const ATTR = { 'X-Skill-Source': 'n8n-nodes-nemovideo', 'X-Skill-Version': '0.1.0', 'X-Skill-Platform': 'n8n' };
const PHOTOS = [1, 2, 3, 4, 5].map((i) => join(__dirname, 'fixtures', 'photos', `photo-${i}.jpg`));

/** What JSON.parse gives for an emulator answer: read loosely, each test asserts the fields it needs. */
type Json = ReturnType<typeof JSON.parse>;

interface CallInit {
	method?: string;
	token?: string;
	headers?: Record<string, string>;
	body?: unknown;
	signal?: AbortSignal;
}

function makeClient(baseOf: () => string) {
	async function call(path: string, init: CallInit = {}) {
		const headers: Record<string, string> = { ...(init.headers ?? {}) };
		if (init.token) headers.Authorization = `Bearer ${init.token}`;
		let body: string | FormData | undefined;
		if (init.body instanceof FormData) body = init.body;
		else if (init.body !== undefined) {
			body = JSON.stringify(init.body);
			headers['Content-Type'] = 'application/json';
		}
		const res = await fetch(path.startsWith('http') ? path : baseOf() + path, {
			method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
			headers,
			body,
			signal: init.signal,
		});
		const text = await res.text();
		let json: Json | undefined;
		try {
			json = JSON.parse(text) as Json;
		} catch {
			json = undefined;
		}
		return { status: res.status, headers: res.headers, text, json: json as Json };
	}

	async function anonToken(clientId = 'client-1') {
		const r = await call('/api/auth/anonymous-token', { method: 'POST', headers: { 'X-Client-Id': clientId } });
		expect(r.status).toBe(200);
		return r.json.data as { token: string; user_id: string; expires_at: string; credits: number };
	}

	async function newSession(token: string): Promise<string> {
		const r = await call('/api/tasks/me/with-session/nemo_agent', { token, body: { task_name: 'project', language: 'en' } });
		expect(r.json.code).toBe(0);
		return r.json.data.session_id as string;
	}

	async function upload(token: string, sid: string, files: Array<{ name: string; data: Buffer }>) {
		const fd = new FormData();
		for (const f of files) fd.append('files', new Blob([f.data]), f.name);
		return call(`/api/upload-video/nemo_agent/me/${sid}`, { token, body: fd });
	}

	const photos = (n = 5) => PHOTOS.slice(0, n).map((p) => ({ name: p.split('/').pop() as string, data: readFileSync(p) }));

	async function sse(token: string, sid: string, text: string, headers: Record<string, string> = {}) {
		const res = await fetch(baseOf() + '/run_sse', {
			method: 'POST',
			headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', 'Content-Type': 'application/json', ...headers },
			body: JSON.stringify({
				app_name: 'nemo_agent',
				user_id: 'me',
				session_id: sid,
				new_message: { role: 'user', parts: [{ text }] },
			}),
		});
		const raw = await res.text();
		return { status: res.status, contentType: res.headers.get('content-type') ?? '', raw, events: parseSse(raw) };
	}

	async function poll(token: string, id: string) {
		return call(`/api/render/proxy/lambda/${id}`, { token });
	}

	async function startRender(token: string, sid: string, draft: unknown, id = `render_${Math.random().toString(36).slice(2)}`) {
		const r = await call('/api/render/proxy/lambda', {
			token,
			headers: ATTR,
			body: { id, sessionId: sid, draft, output: { format: 'mp4', quality: 'high' } },
		});
		return { id, ...r };
	}

	/** Polls until a terminal status; returns every status seen and the last body. */
	async function pollUntilDone(token: string, id: string, timeoutMs = 30000) {
		const seen: string[] = [];
		const until = Date.now() + timeoutMs;
		for (;;) {
			const r = await poll(token, id);
			const b = (r.json.data ?? r.json) as Json;
			if (seen[seen.length - 1] !== b.status) seen.push(b.status as string);
			if (['completed', 'failed', 'cancelled'].includes(b.status as string) || Date.now() > until) return { seen, body: r.json };
			await new Promise((res) => setTimeout(res, 20));
		}
	}

	return { call, anonToken, newSession, upload, photos, sse, poll, startRender, pollUntilDone };
}

/** `data:` payloads of a raw SSE stream: parsed JSON, or '' for an empty keep-alive. */
function parseSse(raw: string): unknown[] {
	return raw
		.split('\n\n')
		.map((block) => block.split('\n').filter((l) => l.startsWith('data:')))
		.filter((lines) => lines.length > 0)
		.map((lines) => {
			const data = lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n');
			return data === '' ? '' : (JSON.parse(data) as unknown);
		});
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function tinyPng(width: number, height: number): Buffer {
	const b = Buffer.alloc(33);
	Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
	b.writeUInt32BE(13, 8);
	b.write('IHDR', 12, 'latin1');
	b.writeUInt32BE(width, 16);
	b.writeUInt32BE(height, 20);
	b[24] = 8;
	b[25] = 2;
	return b;
}

const emu = new NemoVideoEmulator({ renderMs: 300, sseEventDelayMs: 2 });
const c = makeClient(() => emu.baseUrl);

beforeAll(async () => {
	await emu.start();
});
afterAll(async () => {
	await emu.stop();
});
beforeEach(() => emu.reset());

async function readySession(text = 'turn these photos into a slideshow video with smooth transitions') {
	const { token, user_id } = await c.anonToken();
	emu.setCredits(token, 1000);
	const sid = await c.newSession(token);
	expect((await c.upload(token, sid, c.photos())).json.code).toBe(0);
	const s = await c.sse(token, sid, text);
	expect(s.status).toBe(200);
	return { token, userId: user_id, sid };
}

describe('tokens, sessions, credits', () => {
	test('anonymous token: issue, one per client (429), renewal after expiry keeps user and credits', async () => {
		const t = await c.anonToken('cid-A');
		expect(t.token).toMatch(/^nmv_usr_[0-9a-f]+$/);
		expect(t.user_id).toMatch(/^anon_/);
		expect(t.credits).toBe(100);
		const days = (Date.parse(t.expires_at) - Date.now()) / 864e5;
		expect(days).toBeGreaterThan(6.9);
		expect(days).toBeLessThan(7.1);

		const again = await c.call('/api/auth/anonymous-token', { method: 'POST', headers: { 'X-Client-Id': 'cid-A' } });
		expect(again.status).toBe(429);
		expect(again.json).toEqual({ code: 429, message: 'Too many requests' });

		emu.setCredits(t.token, 42);
		emu.expireToken(t.token);
		const expired = await c.call('/api/credits/balance/simple', { token: t.token });
		expect(expired.status).toBe(200);
		expect(expired.json).toEqual({ code: 1001, message: 'Token expired or invalid' });

		const renewed = await c.anonToken('cid-A');
		expect(renewed.token).not.toBe(t.token);
		expect(renewed.user_id).toBe(t.user_id);
		expect(renewed.credits).toBe(42);
		expect(emu.issuedTokens().map((x) => x.clientId)).toEqual(['cid-A', 'cid-A']);
		expect(emu.requestsTo('token').map((r) => r.status)).toEqual([200, 429, 200]);

		const other = await c.anonToken('cid-B');
		expect(other.user_id).not.toBe(t.user_id);
	});

	test('X-Client-Id missing or too long -> HTTP 400; unknown tokens -> 1001 with the configured status', async () => {
		const missing = await c.call('/api/auth/anonymous-token', { method: 'POST' });
		expect(missing.status).toBe(400);
		expect(missing.json).toEqual({ code: 400, message: 'Missing X-Client-Id' });
		const long = await c.call('/api/auth/anonymous-token', { method: 'POST', headers: { 'X-Client-Id': 'x'.repeat(65) } });
		expect(long.status).toBe(400);
		expect((await c.call('/api/credits/balance/simple')).json.code).toBe(1001);
		emu.config.tokenExpiredHttpStatus = 401;
		const r = await c.call('/api/credits/balance/simple', { token: 'nmv_usr_nope' });
		expect(r.status).toBe(401);
		expect(r.json.code).toBe(1001);
		expect(emu.requests[emu.requests.length - 1].token).toBe('nmv_usr_nope');
	});

	test('own token, session create, credits, empty state, deleted session -> 1002', async () => {
		emu.addToken('nmv_usr_own_1', { credits: 25000, userId: 'usr_1' });
		const sid = await c.newSession('nmv_usr_own_1');
		expect(typeof sid).toBe('string');
		expect(sid).toMatch(/^5\d{18}$/);
		const session = emu.session(sid);
		expect(session?.taskId).toMatch(/^task_/);
		expect(session?.userId).toBe('usr_1');
		expect((await c.call('/api/credits/balance/simple', { token: 'nmv_usr_own_1' })).json).toEqual({
			code: 0,
			data: { available: 25000, frozen: 0, total: 25000 },
		});
		const state = await c.call(`/api/state/nemo_agent/me/${sid}/latest`, { token: 'nmv_usr_own_1' });
		expect(state.json.code).toBe(0);
		expect(state.json.data).toMatchObject({ session_id: sid, task_id: session?.taskId, task_name: 'project' });
		expect(state.json.data.state.draft).toEqual({ t: [] });
		expect(state.json.data.state.canvas_config).toEqual({ width: 1920, height: 1080, ratio: '16:9' });
		emu.deleteSession(sid);
		const gone = await c.call(`/api/state/nemo_agent/me/${sid}/latest`, { token: 'nmv_usr_own_1' });
		expect(gone.json.code).toBe(1002);
		expect(emu.requestsTo('state').map((r) => r.sessionId)).toEqual([sid, sid]);
	});
});

describe('uploads', () => {
	test('multipart photos: streamed, typed, hashed, recorded, served by the CDN', async () => {
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		const png = tinyPng(640, 480);
		const r = await c.upload(token, sid, [...c.photos(2), { name: 'tiny.png', data: png }]);
		expect(r.json.code).toBe(0);
		expect(r.json.data.session_state_applied).toBe(true);
		const files = r.json.data.files as Json[];
		expect(files.map((f) => [f.filename, f.file_type, f.width, f.height])).toEqual([
			['photo-1.jpg', 'image', 1280, 720],
			['photo-2.jpg', 'image', 1280, 720],
			['tiny.png', 'image', 640, 480],
		]);
		expect(Object.keys(files[0]).sort()).toEqual(['cdn_url', 'duration', 'file_type', 'filename', 'fps', 'hash', 'height', 'width']);
		const rec = emu.requestsTo('upload')[0];
		expect(rec.sessionId).toBe(sid);
		expect(rec.files?.map((f) => [f.field, f.detectedType, f.bytes])).toEqual([
			['files', 'jpg', statSync(PHOTOS[0]).size],
			['files', 'jpg', statSync(PHOTOS[1]).size],
			['files', 'png', png.length],
		]);
		expect(rec.files?.[0].sha256).toBe(sha256(readFileSync(PHOTOS[0])));
		expect(files[0].cdn_url).toBe(`${emu.cdnUrl}/uploads/${files[0].hash}`);
		expect(emu.cdnUrl).not.toBe(emu.baseUrl);
		const cdn = await fetch(files[0].cdn_url as string);
		expect(cdn.headers.get('content-type')).toBe('image/jpeg');
		expect(sha256(Buffer.from(await cdn.arrayBuffer()))).toBe(sha256(readFileSync(PHOTOS[0])));
		expect(emu.session(sid)?.files).toHaveLength(3);
	});

	test('unsupported type -> 4001, too large -> 4002, unknown session -> 1002; nothing is added', async () => {
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		const txt = await c.upload(token, sid, [...c.photos(1), { name: 'notes.txt', data: Buffer.from('hello world, not a photo') }]);
		expect(txt.status).toBe(200);
		expect(txt.json.code).toBe(4001);
		expect(txt.json.message).toMatch(/Unsupported file type.*notes\.txt/);
		emu.config.maxUploadBytes = 10_000;
		const big = await c.upload(token, sid, c.photos(1));
		expect(big.json.code).toBe(4002);
		expect(emu.session(sid)?.files).toHaveLength(0);
		const noSession = await c.upload(token, '5000000000000000000', c.photos(1));
		expect(noSession.json.code).toBe(1002);
	});

	test('JSON url upload: entries per URL, typed by extension, never fetched', async () => {
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		const r = await c.call(`/api/upload-video/nemo_agent/me/${sid}`, {
			token,
			body: { urls: ['https://photos.example/a/Beach%20Day.JPG', 'https://videos.example/clip.mov?x=1'], source_type: 'url' },
		});
		expect(r.json.code).toBe(0);
		expect((r.json.data.files as Json[]).map((f) => [f.filename, f.file_type])).toEqual([
			['Beach Day.JPG', 'image'],
			['clip.mov', 'video'],
		]);
		const bad = await c.call(`/api/upload-video/nemo_agent/me/${sid}`, { token, body: { urls: ['https://x.example/notes.txt'], source_type: 'url' } });
		expect(bad.json.code).toBe(4001);
	});

	test('magic-byte detection of every accepted type', () => {
		const h = (hex: string, ascii = '') => Buffer.concat([Buffer.from(hex.replace(/ /g, ''), 'hex'), Buffer.from(ascii, 'latin1')]);
		const ftyp = (brand: string) => Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from(`ftyp${brand}`, 'latin1'), Buffer.alloc(12)]);
		const riff = (kind: string) => Buffer.from(`RIFF\u0000\u0000\u0000\u0000${kind}`, 'latin1');
		const cases: Array<[Buffer, string | null]> = [
			[h('ffd8ffe0 0010'), 'jpg'],
			[h('89504e470d0a1a0a 0000000d'), 'png'],
			[Buffer.from('GIF89a\u0001\u0000', 'latin1'), 'gif'],
			[riff('WEBPVP8 '), 'webp'],
			[ftyp('heic'), 'heic'],
			[ftyp('mif1'), 'heic'],
			[ftyp('isom'), 'mp4'],
			[ftyp('qt  '), 'mov'],
			[ftyp('M4A '), 'm4a'],
			[h('1a45dfa3 9f4286', 'webm'), 'webm'],
			[h('1a45dfa3 9f4286', 'matroska'), 'mkv'],
			[riff('AVI LIST'), 'avi'],
			[Buffer.from('ID3\u0004\u0000', 'latin1'), 'mp3'],
			[h('fffb9064'), 'mp3'],
			[riff('WAVEfmt '), 'wav'],
			[h('fff15080'), 'aac'],
			[h('fff95080'), 'aac'],
			[Buffer.from('hello world'), null],
			[Buffer.from('%PDF-1.7'), null],
		];
		for (const [buf, want] of cases) expect([want, detectType(buf)?.format ?? null]).toEqual([want, want]);
	});
});

describe('run_sse', () => {
	test('nemo shape, text scenario: tool traffic, heartbeats, keep-alives, GUI text; draft built; credits charged', async () => {
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		await c.upload(token, sid, c.photos());
		const s = await c.sse(token, sid, 'turn these photos into a slideshow video with smooth transitions');
		expect(s.status).toBe(200);
		expect(s.contentType).toMatch(/^text\/event-stream/);
		const types = s.events.map((e) => (e === '' ? '' : (e as Json).type));
		expect(types).toContain('tool_call');
		expect(types).toContain('tool_result');
		expect(types).toContain('heartbeat');
		expect(types).toContain('');
		expect(types[types.length - 1]).toBe('text');
		const text = (s.events as Json[]).filter((e) => e && e.type === 'text').map((e) => e.content).join('');
		expect(text).toContain("I've turned your 5 photos into a 15 second");
		expect(text).toContain('Click Export');
		expect(emu.session(sid)?.messages).toEqual(['turn these photos into a slideshow video with smooth transitions']);
		expect((await c.call('/api/credits/balance/simple', { token })).json.data).toEqual({ available: 50, frozen: 0, total: 50 });

		const state = (await c.call(`/api/state/nemo_agent/me/${sid}/latest`, { token })).json.data.state as Json;
		expect(state.draft.d).toBe(15000);
		expect(state.draft.m).toEqual({ title: 'My Photos' });
		expect(state.draft.t.map((t: Json) => t.tt)).toEqual([0, 1, 7]);
		expect(state.draft.t[0].sg).toHaveLength(5);
		expect(state.draft.t[0].sg[0]).toMatchObject({ d: 3000, m: { name: 'photo-1.jpg' } });
		expect(state.draft.t[0].sg[0].m.src).toMatch(new RegExp(`^${emu.cdnUrl}/uploads/[0-9a-f]{64}$`));
		expect(state.draft.t[1].sg[0]).toEqual({ d: 15000, m: { name: 'Lo-fi', volume: 0.35 } });
		expect(state.draft.t[2].sg[0]).toEqual({ d: 3000, m: { text: 'My Photos' } });
		expect(state.video_infos).toHaveLength(5);
	});

	test('ADK shape: functionCall/functionResponse, partial text chunks, final turnComplete; 9:16 and length honoured', async () => {
		emu.config.sseShape = 'adk';
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		await c.upload(token, sid, c.photos());
		const s = await c.sse(token, sid, 'Make a vertical 9:16 video, 12 seconds long, titled "Summer"');
		const evs = s.events.filter((e): e is Json => e !== '');
		expect(s.events).toContain('');
		const parts = evs.flatMap((e) => (e.content?.parts ?? []) as Json[]);
		expect(parts.some((p) => p.functionCall?.name)).toBe(true);
		expect(parts.some((p) => p.functionResponse?.name)).toBe(true);
		expect(evs.every((e) => e.author === 'nemo_agent')).toBe(true);
		const partial = evs.filter((e) => e.partial === true);
		expect(partial.length).toBeGreaterThan(1);
		const last = evs[evs.length - 1];
		expect(last.turnComplete).toBe(true);
		expect(last.content.parts[0].text).toBe(partial.map((e) => e.content.parts[0].text).join(''));
		expect(last.content.parts[0].text).toContain('12 second');
		const state = (await c.call(`/api/state/nemo_agent/me/${sid}/latest`, { token })).json.data.state as Json;
		expect(state.canvas_config).toEqual({ width: 1080, height: 1920, ratio: '9:16' });
		expect(state.draft.d).toBe(12000);
		expect(state.draft.m.title).toBe('Summer');
		expect(state.draft.t[0].sg.reduce((a: number, sg: Json) => a + sg.d, 0)).toBe(12000);
	});

	test('noText: tool traffic only, the draft is still built', async () => {
		emu.config.sseScenario = 'noText';
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		await c.upload(token, sid, c.photos(3));
		const s = await c.sse(token, sid, 'square please');
		expect(s.events.some((e) => e !== '' && (e as Json).type === 'text')).toBe(false);
		expect(s.events.some((e) => e !== '' && (e as Json).type === 'tool_call')).toBe(true);
		expect(emu.session(sid)?.draft.t[0].sg).toHaveLength(3);
		expect(emu.session(sid)?.canvas.ratio).toBe('1:1');
	});

	test('inStreamError in both shapes: error event, no draft change, credits refunded', async () => {
		emu.config.sseScenario = 'inStreamError';
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		await c.upload(token, sid, c.photos(2));
		const nemo = await c.sse(token, sid, 'make a video');
		expect(nemo.status).toBe(200);
		expect(nemo.events.some((e) => e !== '' && typeof (e as Json).errorCode === 'string' && typeof (e as Json).errorMessage === 'string')).toBe(true);
		emu.config.sseShape = 'adk';
		const adk = await c.sse(token, sid, 'make a video');
		expect(adk.events.some((e) => e !== '' && typeof (e as Json).error === 'string')).toBe(true);
		expect(emu.session(sid)?.draft).toEqual({ t: [] });
		expect(emu.credits(token)).toEqual({ available: 100, frozen: 0, total: 100 });
	});

	test('drop: the socket dies mid-stream, the draft appears sseDropApplyDelayMs later', async () => {
		emu.config.sseScenario = 'drop';
		emu.config.sseDropApplyDelayMs = 150;
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		await c.upload(token, sid, c.photos(2));
		await expect(c.sse(token, sid, 'make a video')).rejects.toThrow();
		expect(emu.session(sid)?.draft).toEqual({ t: [] });
		await new Promise((r) => setTimeout(r, 250));
		expect(emu.session(sid)?.draft.t[0].sg).toHaveLength(2);
		expect(emu.credits(token)).toMatchObject({ available: 50, frozen: 0 });
		expect(emu.requestsTo('sse')[0].status).toBe(200);
	});

	test('heartbeatsOnly until the client goes away; short credits -> 2001; unknown session -> 1002; Accept required', async () => {
		emu.config.sseScenario = 'heartbeatsOnly';
		emu.config.sseHeartbeatMs = 30;
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		const ac = new AbortController();
		const res = await fetch(emu.baseUrl + '/run_sse', {
			method: 'POST',
			signal: ac.signal,
			headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream', 'Content-Type': 'application/json' },
			body: JSON.stringify({ app_name: 'nemo_agent', user_id: 'me', session_id: sid, new_message: { role: 'user', parts: [{ text: 'hi' }] } }),
		});
		const reader = (res.body as ReadableStream<Uint8Array>).getReader();
		let raw = '';
		while ((raw.match(/heartbeat/g) ?? []).length < 3) raw += Buffer.from((await reader.read()).value ?? []).toString();
		expect(emu.credits(token).frozen).toBe(50);
		ac.abort();
		await new Promise((r) => setTimeout(r, 100));
		expect(emu.credits(token)).toEqual({ available: 50, frozen: 0, total: 50 });

		emu.config.sseScenario = 'text';
		emu.setCredits(token, 10);
		const poor = await c.sse(token, sid, 'make a video');
		expect(poor.contentType).toMatch(/json/);
		expect(JSON.parse(poor.raw)).toMatchObject({ code: 2001 });
		expect(JSON.parse((await c.sse(token, '5123', 'x')).raw)).toMatchObject({ code: 1002 });
		expect((await c.sse(token, sid, 'x', { Accept: 'application/json' })).status).toBe(406);
	});
});

describe('renders', () => {
	test('top poll shape: 402 / 4000 / 1002 / 409 guards, pending -> processing -> completed, CDN and download', async () => {
		const { token, sid } = await readySession();
		const draft = emu.session(sid)?.draft;
		const noAttr = await c.call('/api/render/proxy/lambda', { token, body: { id: 'render_x', sessionId: sid, draft } });
		expect(noAttr.status).toBe(402);
		expect(noAttr.json).toEqual({ code: 402, message: 'Free plan cannot export' });
		const empty = await c.startRender(token, sid, { t: [{ tt: 0, sg: [] }] });
		expect(empty.status).toBe(400);
		expect(empty.json).toEqual({ code: 4000, message: 'Draft is empty' });
		expect((await c.startRender(token, '5999', draft)).json.code).toBe(1002);

		const start = await c.startRender(token, sid, draft, 'render_one');
		expect(start.json).toEqual({ code: 0, data: { id: 'render_one', status: 'pending' } });
		expect((await c.startRender(token, sid, draft, 'render_one')).status).toBe(409);
		const { seen, body } = await c.pollUntilDone(token, 'render_one');
		expect(seen).toEqual(['pending', 'processing', 'completed']);
		const size = statSync(SAMPLE_MP4).size;
		expect(body).toMatchObject({ status: 'completed', progress: 100, output: { url: `${emu.cdnUrl}/renders/render_one.mp4`, size, duration: 2 } });
		expect(emu.session(sid)?.renders).toEqual(['render_one']);
		expect(emu.render('render_one')).toMatchObject({ status: 'completed', cancelled: false, bytes: size });

		const cdn = await fetch(body.output.url as string);
		expect(cdn.status).toBe(200);
		expect(cdn.headers.get('content-length')).toBe(String(size));
		expect(Buffer.from(await cdn.arrayBuffer()).equals(readFileSync(SAMPLE_MP4))).toBe(true);
		const cdnRec = emu.requestsTo('cdn')[0];
		expect(cdnRec.headers.authorization).toBeUndefined();
		expect(cdnRec.renderId).toBe('render_one');

		const dl = await fetch(`${emu.baseUrl}/api/render/proxy/render_one/download`, { headers: { Authorization: `Bearer ${token}` } });
		expect(dl.headers.get('content-type')).toBe('video/mp4');
		expect(dl.headers.get('content-disposition')).toContain('render_one.mp4');
		expect((await dl.arrayBuffer()).byteLength).toBe(size);
		expect((await c.call('/api/render/proxy/render_one/download')).json.code).toBe(1001);
		expect((await c.poll(token, 'render_nope')).status).toBe(404);
		expect((await c.poll(token, 'render_nope')).json).toEqual({ code: 404, message: 'Render not found' });
	});

	test('wrapped poll shape + success start shape; renderFailTimes; neverFinishes + cancel', async () => {
		emu.config.renderPollShape = 'wrapped';
		emu.config.renderStartShape = 'success';
		emu.config.renderMs = 50;
		emu.config.renderFailTimes = 1;
		const { token, sid } = await readySession();
		const draft = emu.session(sid)?.draft;
		const failed = await c.startRender(token, sid, draft);
		expect(failed.json).toEqual({ success: true, data: { id: failed.id, status: 'pending' } });
		expect((await c.pollUntilDone(token, failed.id)).body.data.status).toBe('failed');
		const ok = await c.startRender(token, sid, draft);
		const done = await c.pollUntilDone(token, ok.id);
		expect(done.body.success).toBe(true);
		expect(done.body.data).toMatchObject({ id: ok.id, status: 'completed', progress: 100, outputUrl: `${emu.cdnUrl}/renders/${ok.id}.mp4`, duration: 2 });
		expect(done.body.data.size).toBe(statSync(SAMPLE_MP4).size);

		emu.config.renderNeverFinishes = true;
		const stuck = await c.startRender(token, sid, draft);
		await new Promise((r) => setTimeout(r, 120));
		expect((await c.poll(token, stuck.id)).json.data.status).toBe('processing');
		const cancel = await c.call(`/api/render/proxy/lambda/${stuck.id}/cancel`, { token, method: 'POST' });
		expect(cancel.json).toEqual({ code: 0, data: { id: stuck.id, status: 'cancelled' } });
		expect((await c.poll(token, stuck.id)).json.data.status).toBe('cancelled');
		expect(emu.render(stuck.id)?.cancelled).toBe(true);
	});

	test('synthetic output of exactly outputSizeBytes, streamed, with Range support; cdnSeparateHost=false', async () => {
		emu.config.outputSizeBytes = 5_000_000;
		emu.config.cdnSeparateHost = false;
		emu.config.renderMs = 0;
		const { token, sid } = await readySession();
		const r = await c.startRender(token, sid, emu.session(sid)?.draft);
		const { body } = await c.pollUntilDone(token, r.id);
		expect(body.output.size).toBe(5_000_000);
		expect(body.output.url).toBe(`${emu.baseUrl}/renders/${r.id}.mp4`);
		const res = await fetch(body.output.url as string);
		expect(res.headers.get('content-length')).toBe('5000000');
		const buf = Buffer.from(await res.arrayBuffer());
		expect(buf.length).toBe(5_000_000);
		expect(buf.toString('latin1', 4, 8)).toBe('ftyp');
		expect(buf.toString('latin1', 28, 32)).toBe('mdat');
		const part = await fetch(body.output.url as string, { headers: { Range: 'bytes=1000-1099' } });
		expect(part.status).toBe(206);
		expect(part.headers.get('content-range')).toBe('bytes 1000-1099/5000000');
		expect(Buffer.from(await part.arrayBuffer()).equals(buf.subarray(1000, 1100))).toBe(true);
	});
});

describe('faults', () => {
	test('every fault kind once, on a specific route and on *', async () => {
		emu.addToken('tok', { credits: 5 });
		const credits = () => c.call('/api/credits/balance/simple', { token: 'tok' });

		emu.inject('credits', { kind: 'rateLimit', retryAfterSeconds: 7 });
		let r = await credits();
		expect([r.status, r.headers.get('retry-after'), r.json]).toEqual([429, '7', { code: 429, message: 'Too many requests' }]);
		emu.inject('credits', { kind: 'rateLimit' });
		r = await credits();
		expect([r.status, r.headers.get('retry-after')]).toEqual([429, null]);

		emu.inject('credits', { kind: 'appCode', code: 2001 });
		r = await credits();
		expect([r.status, r.json.code]).toEqual([200, 2001]);
		emu.inject('credits', { kind: 'appCode', code: 1001, httpStatus: 401 });
		r = await credits();
		expect([r.status, r.json.code]).toEqual([401, 1001]);

		emu.inject('credits', { kind: 'plan402' });
		r = await credits();
		expect([r.status, r.json]).toEqual([402, { code: 402, message: 'Free plan cannot export' }]);
		emu.inject('credits', { kind: 'missingClientId400' });
		r = await credits();
		expect([r.status, r.json]).toEqual([400, { code: 400, message: 'Missing X-Client-Id' }]);
		emu.inject('credits', { kind: 'serverError' });
		r = await credits();
		expect([r.status, r.json]).toEqual([500, { code: 500, message: 'Internal error' }]);
		emu.inject('credits', { kind: 'serverError', status: 503 });
		expect((await credits()).status).toBe(503);

		emu.inject('credits', { kind: 'drop' });
		await expect(credits()).rejects.toThrow();
		emu.inject('credits', { kind: 'malformedJson' });
		r = await credits();
		expect([r.status, r.headers.get('content-type'), r.text, r.json]).toEqual([200, 'application/json; charset=utf-8', '{"code":0,"data":{', undefined]);
		emu.inject('credits', { kind: 'slow', delayMs: 150 });
		const t0 = Date.now();
		r = await credits();
		expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
		expect(r.json).toEqual({ code: 0, data: { available: 5, frozen: 0, total: 5 } });
		emu.inject('credits', { kind: 'html' });
		r = await credits();
		expect([r.status, r.headers.get('content-type')]).toEqual([502, 'text/html; charset=utf-8']);
		expect(r.text).toContain('<html>');
		emu.inject('credits', { kind: 'hugeBody', bytes: 3_000_000 });
		r = await credits();
		expect([r.status, r.text.length, r.text.startsWith('{"code":0')]).toEqual([200, 3_000_000, true]);
		emu.inject('credits', { kind: 'lyingContentLength' });
		await expect(credits()).rejects.toThrow();

		emu.inject('cdn', { kind: 'cdnRedirect', location: 'file:///etc/passwd' });
		const redirect = await fetch(`${emu.cdnUrl}/renders/x.mp4`, { redirect: 'manual' });
		expect([redirect.status, redirect.headers.get('location')]).toEqual([302, 'file:///etc/passwd']);

		emu.inject('sse', { kind: 'sseHugeLine', bytes: 5_000_000 });
		r = await c.call('/run_sse', { token: 'tok', headers: { Accept: 'text/event-stream' }, body: {} });
		expect([r.status, r.text.length, r.text.startsWith('data: {"type":"text"'), r.text.endsWith('"}\n\n')]).toEqual([200, 5_000_000 + 36, true, true]);

		emu.config.sseHeartbeatMs = 20;
		emu.inject('sse', { kind: 'sseEndless' });
		const ac = new AbortController();
		const endless = await fetch(`${emu.baseUrl}/run_sse`, { method: 'POST', headers: { Accept: 'text/event-stream' }, body: '{}', signal: ac.signal });
		const reader = (endless.body as ReadableStream<Uint8Array>).getReader();
		let raw = '';
		while ((raw.match(/heartbeat/g) ?? []).length < 4) raw += Buffer.from((await reader.read()).value ?? []).toString();
		ac.abort();

		emu.inject('*', { kind: 'serverError' }, 2);
		expect((await c.call('/api/auth/anonymous-token', { method: 'POST', headers: { 'X-Client-Id': 'z' } })).status).toBe(500);
		expect((await credits()).status).toBe(500);
		expect((await credits()).status).toBe(200);

		emu.inject('state', { kind: 'serverError' });
		emu.clearFaults();
		expect(emu.requests.map((x) => x.fault)).toEqual([
			'rateLimit', 'rateLimit', 'appCode', 'appCode', 'plan402', 'missingClientId400', 'serverError', 'serverError',
			'drop', 'malformedJson', 'slow', 'html', 'hugeBody', 'lyingContentLength', 'cdnRedirect', 'sseHugeLine', 'sseEndless',
			'serverError', 'serverError', undefined,
		]);
		expect(emu.requests[8].status).toBeUndefined();
		expect(emu.requests.map((x) => x.seq)).toEqual(emu.requests.map((_, i) => i + 1));
	});
});

describe('faults on a chosen call', () => {
	test('skip lets calls pass first; hold never answers until the client gives up', async () => {
		emu.addToken('tok', { credits: 5 });
		const credits = (signal?: AbortSignal) => c.call('/api/credits/balance/simple', { token: 'tok', signal });
		emu.inject('credits', { kind: 'serverError', status: 502 }, 1, 2);
		expect([(await credits()).status, (await credits()).status, (await credits()).status, (await credits()).status]).toEqual([200, 200, 502, 200]);

		emu.inject('credits', { kind: 'hold' });
		const held = credits(AbortSignal.timeout(300));
		await expect(held).rejects.toThrow();
		expect(emu.requests.at(-1)).toMatchObject({ fault: 'hold', status: undefined });
	});

	test('answerLost: the render start is done, then its answer is a 502 or a dropped connection', async () => {
		const { token, sid } = await readySession();
		const draft = (await c.call(`/api/state/nemo_agent/me/${sid}/latest`, { token })).json.data.state.draft;
		emu.inject('renderStart', { kind: 'answerLost', status: 502 });
		const lost = await c.startRender(token, sid, draft);
		expect(lost.status).toBe(502);
		expect((await c.poll(token, lost.id)).status).toBe(200);
		emu.inject('renderStart', { kind: 'answerLost' });
		await expect(c.startRender(token, sid, draft)).rejects.toThrow();
		expect(emu.requestsTo('renderStart').map((r) => [r.answerLost, r.status])).toEqual([[true, 502], [true, undefined]]);
		expect(emu.renders.size).toBe(2);
	});

	test('resetMidBody: the upload connection is reset after that many body bytes; nothing is added', async () => {
		const { token } = await c.anonToken();
		const sid = await c.newSession(token);
		emu.inject('upload', { kind: 'resetMidBody', afterBytes: 64 * 1024 });
		await expect(c.upload(token, sid, c.photos(3))).rejects.toThrow();
		const rec = emu.requestsTo('upload')[0];
		expect(rec.fault).toBe('resetMidBody');
		expect(rec.bodyBytes).toBeGreaterThanOrEqual(64 * 1024);
		expect(emu.sessions.get(sid)?.files).toEqual([]);
	});

	test('stream scenarios silent and envelopeError: no event, or one error envelope; nothing charged', async () => {
		const { token } = await c.anonToken();
		emu.setCredits(token, 100);
		const sid = await c.newSession(token);
		emu.config.sseScenario = 'silent';
		const silent = await c.sse(token, sid, 'make a video');
		expect([silent.status, silent.raw]).toEqual([200, '']);
		emu.config.sseScenario = 'envelopeError';
		const enveloped = await c.sse(token, sid, 'make a video');
		expect(enveloped.events).toEqual([{ code: 2001, message: 'Insufficient credits' }]);
		const balance = await c.call('/api/credits/balance/simple', { token });
		expect(balance.json.data).toEqual({ available: 100, frozen: 0, total: 100 });
	});
});

describe('admin API (cross-process control)', () => {
	test('config, faults, tokens, expire, sessions, renders, requests, reset', async () => {
		const admin = (path: string, body?: unknown) => c.call(`/__emulator${path}`, body === undefined ? {} : { body });
		expect((await admin('/config', { renderMs: 0, renderPollShape: 'wrapped' })).json.renderPollShape).toBe('wrapped');
		expect(emu.config.renderMs).toBe(0);
		expect((await admin('/config', { nope: 1 })).status).toBe(400);
		await admin('/tokens', { token: 'nmv_usr_own_admin', credits: 777, anonymous: false });
		expect((await c.call('/api/credits/balance/simple', { token: 'nmv_usr_own_admin' })).json.data.available).toBe(777);
		await admin('/faults', { route: 'credits', fault: { kind: 'serverError', status: 503 }, times: 1 });
		expect((await c.call('/api/credits/balance/simple', { token: 'nmv_usr_own_admin' })).status).toBe(503);
		const anon = await c.anonToken('cid-admin');
		const tokens = (await admin('/tokens')).json as Json[];
		expect(tokens).toHaveLength(1);
		expect(tokens[0]).toMatchObject({ token: anon.token, clientId: 'cid-admin', userId: anon.user_id, expired: false });
		await admin('/tokens/expire', { token: anon.token });
		expect((await c.call('/api/credits/balance/simple', { token: anon.token })).json.code).toBe(1001);
		expect((await c.call('/api/credits/balance/simple', { token: 'nmv_usr_own_admin' })).json.code).toBe(0);
		await admin('/tokens/expire', {});
		expect((await c.call('/api/credits/balance/simple', { token: 'nmv_usr_own_admin' })).json.code).toBe(1001);

		const { token, sid } = await readySession();
		const s = (await admin(`/sessions/${sid}`)).json;
		expect(s).toMatchObject({ id: sid, messages: ['turn these photos into a slideshow video with smooth transitions'] });
		expect(s.files).toHaveLength(5);
		expect((await admin('/sessions/5000')).status).toBe(404);
		const r = await c.startRender(token, sid, emu.session(sid)?.draft);
		await c.pollUntilDone(token, r.id);
		expect(((await admin('/renders')).json as Json[]).map((x) => [x.id, x.status])).toEqual([[r.id, 'completed']]);

		const reqs = (await admin('/requests')).json as Json[];
		expect(reqs.length).toBe(emu.requests.length);
		expect(reqs.some((x) => x.route === 'admin' || String(x.path).startsWith('/__emulator'))).toBe(false);
		expect(reqs.map((x) => x.route)).toEqual(expect.arrayContaining(['credits', 'token', 'session', 'upload', 'sse', 'renderStart', 'renderPoll']));
		expect(reqs.find((x) => x.route === 'sse')?.json).toMatchObject({ app_name: 'nemo_agent', session_id: sid });

		await admin('/reset', {});
		expect(emu.requests).toHaveLength(0);
		expect(emu.config.renderMs).toBe(300);
		expect(emu.config.renderPollShape).toBe('top');
		expect(emu.session(sid)).toBeUndefined();
	});
});

describe('lifecycle and CLI', () => {
	test('stop() does not hang on an open SSE stream and keep-alive sockets', async () => {
		const e2 = new NemoVideoEmulator({ sseScenario: 'heartbeatsOnly', sseHeartbeatMs: 50 });
		const base = await e2.start();
		e2.addToken('t');
		const c2 = makeClient(() => base);
		const sid = await c2.newSession('t');
		const res = await fetch(base + '/run_sse', {
			method: 'POST',
			headers: { Authorization: 'Bearer t', Accept: 'text/event-stream' },
			body: JSON.stringify({ app_name: 'nemo_agent', user_id: 'me', session_id: sid, new_message: { role: 'user', parts: [{ text: 'x' }] } }),
		});
		const reader = (res.body as ReadableStream<Uint8Array>).getReader();
		await reader.read();
		const t0 = Date.now();
		await e2.stop();
		expect(Date.now() - t0).toBeLessThan(1000);
		const ended = await (async () => {
			try {
				for (;;) if ((await reader.read()).done) return 'done';
			} catch {
				return 'terminated';
			}
		})();
		expect(['done', 'terminated']).toContain(ended);
	});

	test('cli.ts prints one NEMOVIDEO_EMULATOR_URL line, honours flags, exits 0 on SIGTERM', async () => {
		const child = spawn(
			process.execPath,
			[require.resolve('tsx/cli'), join(__dirname, 'cli.ts'), '--render-ms', '123', '--config', '{"sseShape":"adk"}'],
			{ stdio: ['ignore', 'pipe', 'pipe'] },
		);
		let out = '';
		let err = '';
		child.stderr.on('data', (d: Buffer) => (err += d.toString()));
		const url = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`no URL line; stderr: ${err}`)), 15000);
			child.stdout.on('data', (d: Buffer) => {
				out += d.toString();
				const m = /^NEMOVIDEO_EMULATOR_URL=(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
				if (m) {
					clearTimeout(timer);
					resolve(m[1]);
				}
			});
		});
		const cfg = (await (await fetch(`${url}/__emulator/config`)).json()) as EmulatorConfig;
		expect([cfg.renderMs, cfg.sseShape]).toEqual([123, 'adk']);
		const tok = await fetch(`${url}/api/auth/anonymous-token`, { method: 'POST', headers: { 'X-Client-Id': 'cli' } });
		expect(((await tok.json()) as Json).code).toBe(0);
		const code = await new Promise<number | null>((resolve) => {
			child.on('exit', (c) => resolve(c));
			child.kill('SIGTERM');
		});
		expect(code).toBe(0);
		expect(out.trim().split('\n')).toEqual([`NEMOVIDEO_EMULATOR_URL=${url}`]);
	}, 20000);
});

describe('ffmpeg slideshow', () => {
	test('useFfmpeg renders a real H.264 yuv420p slideshow of the uploaded photos at the canvas size', async () => {
		const bin = ffmpegPath();
		expect(bin).toBeDefined(); // the dev dependency ships it: no skipping
		const e3 = new NemoVideoEmulator({ useFfmpeg: true, renderMs: 0, sseEventDelayMs: 1 });
		const base = await e3.start();
		const dir = mkdtempSync(join(tmpdir(), 'nemovideo-emu-test-'));
		try {
			const c3 = makeClient(() => base);
			e3.addToken('t', { credits: 1000 });
			const sid = await c3.newSession('t');
			await c3.upload('t', sid, c3.photos());
			await c3.sse('t', sid, 'A square 1:1 slideshow, 10 seconds');
			const t0 = Date.now();
			const r = await c3.startRender('t', sid, e3.session(sid)?.draft);
			const { body } = await c3.pollUntilDone('t', r.id);
			const ms = Date.now() - t0;
			expect(body.status).toBe('completed');
			expect(e3.render(r.id)?.output).toBe('ffmpeg');
			const mp4 = Buffer.from(await (await fetch(body.output.url as string)).arrayBuffer());
			expect(mp4.length).toBe(body.output.size);
			expect(body.output.duration).toBe(10);
			const file = join(dir, 'out.mp4');
			writeFileSync(file, mp4);
			const probe = spawnSync(bin as string, ['-hide_banner', '-i', file], { encoding: 'utf8' }).stderr;
			expect(probe).toMatch(/Video: h264/);
			expect(probe).toMatch(/yuv420p/);
			expect(probe).toMatch(/1080x1080/);
			expect(probe).toMatch(/Duration: 00:00:10\.0/);
			// moov before mdat (+faststart)
			expect(mp4.indexOf('moov')).toBeLessThan(mp4.indexOf('mdat'));
			console.log(`ffmpeg slideshow of 5 photos (10 s, 1080x1080): ${e3.render(r.id)?.ffmpeg?.ms} ms in ffmpeg, ${ms} ms start-to-completed, ${mp4.length} bytes`);
		} finally {
			await e3.stop();
			rmSync(dir, { recursive: true, force: true });
		}
	}, 30000);
});
