// The admin API under /__emulator/ for cross-process tests. Never recorded, never faulted.
import { readJsonOrFail, sendJson, type Ctx } from '../http';
import { DEFAULT_CONFIG, ROUTES, type EmulatorConfig, type Fault, type Route } from '../types';
import { refreshRender } from './renders';

export async function handleAdmin(ctx: Ctx): Promise<void> {
	const { emu } = ctx;
	const method = ctx.req.method ?? 'GET';
	const p = ctx.path.replace(/^\/__emulator/, '').replace(/\/$/, '');
	const ok = (data: unknown = { ok: true }) => sendJson(ctx, 200, data);
	const bad = (message: string) => sendJson(ctx, 400, { code: 400, message });
	const json = async () => (method === 'POST' || method === 'PUT' ? await readJsonOrFail(ctx) : {});
	let m: RegExpExecArray | null;

	if (method === 'GET' && p === '/requests') {
		const since = Number(ctx.query.since ?? 0);
		const route = ctx.query.route;
		return ok(emu.requests.filter((r) => r.seq > since && (!route || r.route === route)));
	}
	if (method === 'POST' && p === '/reset') {
		emu.reset();
		return ok();
	}
	if (p === '/config') {
		if (method === 'GET') return ok(emu.config);
		const body = await json();
		if (!body) return;
		for (const k of Object.keys(body)) if (!(k in DEFAULT_CONFIG)) return bad(`Unknown config key ${k}`);
		Object.assign(emu.config, body as Partial<EmulatorConfig>);
		return ok(emu.config);
	}
	if (p === '/faults') {
		if (method === 'GET') return ok(emu.armedFaults());
		if (method === 'DELETE') {
			emu.clearFaults();
			return ok();
		}
		const body = await json();
		if (!body) return;
		const route = body.route as Route | '*';
		const fault = body.fault as Fault | undefined;
		if (route !== '*' && !ROUTES.includes(route)) return bad(`Unknown route ${String(route)}`);
		if (!fault || typeof fault !== 'object' || typeof fault.kind !== 'string') return bad('fault.kind is required');
		emu.inject(route, fault, typeof body.times === 'number' ? body.times : 1, typeof body.skip === 'number' ? body.skip : 0);
		return ok();
	}
	if (method === 'POST' && p === '/faults/clear') {
		emu.clearFaults();
		return ok();
	}
	if (p === '/tokens') {
		if (method === 'GET') {
			const all = ctx.query.all === '1' || ctx.query.all === 'true';
			const list = all
				? [...emu.tokens.values()].map((t) => ({ token: t.token, clientId: t.clientId, userId: t.userId, at: t.issuedAt }))
				: emu.issuedTokens();
			return ok(
				list.map((t) => {
					const rec = emu.tokens.get(t.token);
					return {
						...t,
						anonymous: rec?.anonymous ?? true,
						expired: !emu.liveToken(t.token),
						credits: rec ? emu.credits(t.token) : undefined,
					};
				}),
			);
		}
		const body = await json();
		if (!body) return;
		if (typeof body.token !== 'string' || !body.token) return bad('token is required');
		emu.addToken(body.token, {
			credits: typeof body.credits === 'number' ? body.credits : undefined,
			anonymous: typeof body.anonymous === 'boolean' ? body.anonymous : undefined,
			userId: typeof body.userId === 'string' ? body.userId : undefined,
		});
		return ok();
	}
	if (method === 'POST' && p === '/tokens/expire') {
		const body = await json();
		if (!body) return;
		if (typeof body.token === 'string') emu.expireToken(body.token);
		else emu.expireAllTokens();
		return ok();
	}
	if (method === 'POST' && p === '/credits') {
		const body = await json();
		if (!body) return;
		if (typeof body.token !== 'string' || typeof body.available !== 'number') return bad('token and available are required');
		if (!emu.tokens.has(body.token)) return sendJson(ctx, 404, { code: 404, message: 'Unknown token' });
		emu.setCredits(body.token, body.available);
		return ok(emu.credits(body.token));
	}
	if ((m = /^\/sessions\/([^/]+)$/.exec(p))) {
		const id = decodeURIComponent(m[1]);
		if (method === 'DELETE') {
			emu.deleteSession(id);
			return ok();
		}
		const s = emu.session(id);
		return s ? ok(s) : sendJson(ctx, 404, { code: 404, message: 'Session not found' });
	}
	if (method === 'GET' && p === '/sessions') return ok([...emu.sessions.values()]);
	if (method === 'GET' && p === '/renders') {
		return ok([...emu.renders.values()].map((r) => (refreshRender(emu, r), r)));
	}
	if ((m = /^\/renders\/([^/]+)$/.exec(p)) && method === 'GET') {
		const r = emu.render(decodeURIComponent(m[1]));
		return r ? ok(r) : sendJson(ctx, 404, { code: 404, message: 'Render not found' });
	}
	if (method === 'GET' && p === '/health') return ok({ ok: true, baseUrl: emu.baseUrl, cdnUrl: emu.cdnUrl });
	sendJson(ctx, 404, { code: 404, message: `Unknown admin endpoint ${method} ${ctx.path}` });
}
