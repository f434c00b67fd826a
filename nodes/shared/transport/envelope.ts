/** One answer of the service, read off either documented envelope: `{code, data}` or `{success, data}`. */
export type Envelope =
	| { ok: true; data: unknown }
	| { ok: false; appCode?: number; message?: string };

/** The service's words in a failure answer: the message field is undocumented, so the first of the usual ones. */
export function messageOf(body: Record<string, unknown>): string | undefined {
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

/** A run of 16 digits: the shortest integer that can lie beyond Number.MAX_SAFE_INTEGER (16 digits). */
const MAYBE_UNSAFE_INTEGER = /\d{16}/;

/**
 * JSON.parse, except that an integer beyond Number.MAX_SAFE_INTEGER comes back as its exact digit string. Session
 * ids are 19-digit numbers (the API notes' example: 5529798706024415232); should the service ever send one as a
 * JSON number, a JS number would round it (…232 → …000) and the node would then address another session.
 * One pass over the text that knows where strings are, so a digit run inside a string is never touched.
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
	if (!MAYBE_UNSAFE_INTEGER.test(text)) return JSON.parse(text);
	return JSON.parse(quoteUnsafeIntegers(text));
}

function quoteUnsafeIntegers(text: string): string {
	const pieces: string[] = [];
	let copiedUpTo = 0;
	let index = 0;
	while (index < text.length) {
		const char = text[index];
		if (char === '"') index = endOfString(text, index);
		else if (char === '-' || (char >= '0' && char <= '9')) {
			const end = endOfNumber(text, index);
			const token = text.slice(index, end);
			if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
				pieces.push(text.slice(copiedUpTo, index), `"${token}"`);
				copiedUpTo = end;
			}
			index = end;
		} else index++;
	}
	pieces.push(text.slice(copiedUpTo));
	return pieces.join('');
}

/** The index after the string that opens at `start` (or the text's end, for JSON.parse to refuse). */
function endOfString(text: string, start: number): number {
	for (let from = start + 1; ; ) {
		const quote = text.indexOf('"', from);
		if (quote < 0) return text.length;
		let backslashes = 0;
		while (text[quote - 1 - backslashes] === '\\') backslashes++;
		// An even run of backslashes escapes itself, not the quote.
		if (backslashes % 2 === 0) return quote + 1;
		from = quote + 1;
	}
}

function endOfNumber(text: string, start: number): number {
	let index = start + 1;
	while (index < text.length && /[\d.eE+-]/.test(text[index])) index++;
	return index;
}
