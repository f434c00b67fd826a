// POST /api/auth/anonymous-token, and the bearer-token check every other API route uses.
import { bearerToken, randomHex, sendAuthFailure, sendJson, sendOk, type Ctx } from '../http';
import type { TokenRecord } from '../types';

const TOKEN_LIFETIME_MS = 7 * 24 * 3600 * 1000;

export function handleToken(ctx: Ctx): void {
	const { emu } = ctx;
	const clientId = ctx.req.headers['x-client-id'];
	const id = Array.isArray(clientId) ? clientId[0] : clientId;
	if (!id || id.trim() === '') {
		sendJson(ctx, 400, { code: 400, message: 'Missing X-Client-Id' });
		return;
	}
	if (id.length > 64) {
		sendJson(ctx, 400, { code: 400, message: 'X-Client-Id too long (max 64 characters)' });
		return;
	}
	const now = Date.now();
	const held = [...emu.tokens.values()].filter((t) => t.clientId === id);
	if (emu.config.oneTokenPerClient && held.some((t) => !t.revoked && t.expiresAt > now)) {
		sendJson(ctx, 429, { code: 429, message: 'Too many requests' });
		return;
	}
	// A client keeps its user (and so its remaining credits) across renewals.
	let userId = emu.clientUsers.get(id);
	const isNewUser = !userId;
	if (!userId) {
		userId = `anon_${randomHex(8)}`;
		emu.clientUsers.set(id, userId);
	}
	const account = emu.account(userId, emu.config.anonymousCredits);
	if (isNewUser) account.available = emu.config.anonymousCredits;
	const token = `nmv_usr_${randomHex(16)}`;
	const record: TokenRecord = {
		token,
		userId,
		clientId: id,
		anonymous: true,
		issuedAt: now,
		expiresAt: now + TOKEN_LIFETIME_MS,
		revoked: false,
	};
	emu.tokens.set(token, record);
	emu.issued.push({ token, clientId: id, userId, at: now });
	ctx.rec.token = token;
	sendOk(ctx, {
		token,
		user_id: userId,
		expires_at: new Date(record.expiresAt).toISOString(),
		credits: account.available,
	});
}

/** The caller's live token, or undefined after answering the 1001 auth failure. */
export function requireAuth(ctx: Ctx): TokenRecord | undefined {
	const token = bearerToken(ctx.req);
	if (token) ctx.rec.token = token;
	const t = ctx.emu.liveToken(token);
	if (!t) sendAuthFailure(ctx);
	return t;
}
