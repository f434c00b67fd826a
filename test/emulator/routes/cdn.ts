// The "CDN": GET /renders/<id>.mp4 and GET /uploads/<hash>. Never needs a token (an Authorization header is ignored).
import { statSync } from 'node:fs';
import { sendJson, type Ctx } from '../http';
import { mimeOf, streamMedia } from '../media';
import { refreshRender, serveRender } from './renders';

export function handleCdn(ctx: Ctx): void {
	const { emu } = ctx;
	const m = /^\/(renders|uploads)\/([^/]+)$/.exec(ctx.path);
	if (!m) {
		sendJson(ctx, 404, { code: 404, message: 'Not found' });
		return;
	}
	let name: string;
	try {
		name = decodeURIComponent(m[2]);
	} catch {
		name = m[2];
	}
	if (m[1] === 'renders') {
		const id = name.replace(/\.mp4$/i, '');
		ctx.rec.renderId = id;
		const r = emu.renders.get(id);
		if (r) {
			ctx.rec.sessionId = r.sessionId;
			refreshRender(emu, r);
		}
		if (!r || r.status !== 'completed') {
			sendJson(ctx, 404, { code: 404, message: 'Not found' });
			return;
		}
		serveRender(ctx, r, false);
		return;
	}
	for (const s of emu.sessions.values()) {
		const f = s.files.find((x) => x.hash === name && x.localPath);
		if (f?.localPath) {
			ctx.rec.sessionId = s.id;
			let size: number;
			try {
				size = statSync(f.localPath).size;
			} catch {
				continue;
			}
			streamMedia(ctx, { path: f.localPath, size }, mimeOf(f.format));
			return;
		}
	}
	sendJson(ctx, 404, { code: 404, message: 'Not found' });
}
