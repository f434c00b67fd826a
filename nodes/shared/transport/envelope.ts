/** One answer of the service, read off either documented envelope: `{code, data}` or `{success, data}`. */
export type Envelope =
	| { ok: true; data: unknown }
	| { ok: false; appCode?: number; message?: string };

function messageOf(body: Record<string, unknown>): string | undefined {
	for (const key of ['message', 'msg', 'error', 'detail']) {
		const value = body[key];
		if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 500);
		if (value && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
			return ((value as { message: string }).message).slice(0, 500);
		}
	}
	return undefined;
}

function codeOf(body: Record<string, unknown>): number | undefined {
	const code = body.code;
	if (typeof code === 'number') return code;
	if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
	return undefined;
}

export function readEnvelope(httpStatus: number, body: unknown): Envelope {
	if (!body || typeof body !== 'object' || Array.isArray(body)) {
		return httpStatus < 300 ? { ok: true, data: body } : { ok: false };
	}
	const record = body as Record<string, unknown>;
	const appCode = codeOf(record);
	const failed =
		httpStatus >= 300 ||
		(appCode !== undefined && appCode !== 0) ||
		record.success === false ||
		(record.unreadable !== undefined);
	if (failed) return { ok: false, appCode: appCode === 0 ? undefined : appCode, message: messageOf(record) };
	// The render poll may answer at top level ({status, progress, output}) with no `data` at all.
	return { ok: true, data: 'data' in record ? record.data : record };
}
