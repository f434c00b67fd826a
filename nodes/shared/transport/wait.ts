import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`, ending early (with the signal's reason) when the execution is cancelled. */
export async function sleepUnlessCancelled(ms: number, signal?: AbortSignal): Promise<void> {
	if (ms <= 0) {
		signal?.throwIfAborted();
		return;
	}
	await delay(ms, undefined, { signal });
}

/** Settles as `promise` does, or rejects (with the signal's reason) as soon as the execution is cancelled. */
export async function untilCancelled<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
	if (!signal) return await promise;
	signal.throwIfAborted();
	let onAbort: () => void = () => {};
	const cancelled = new Promise<never>((_resolve, reject) => {
		onAbort = () => reject(signal.reason);
		signal.addEventListener('abort', onAbort, { once: true });
	});
	try {
		return await Promise.race([promise, cancelled]);
	} finally {
		signal.removeEventListener('abort', onAbort);
	}
}

export function isAbortError(error: unknown): boolean {
	return (
		error instanceof Error &&
		(error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR')
	);
}

/**
 * Seconds or an HTTP date, as Retry-After allows; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
	if (!value) return undefined;
	const seconds = Number(value);
	if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
	const date = Date.parse(value);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before the one retry of a refused call when the 429 gives no Retry-After (docs/nemovideo-api.md, Errors). */
export const DEFAULT_RETRY_AFTER_MS = 30_000;
/** A Retry-After longer than this fails at once with the wait in the message, instead of parking the execution. */
export const MAX_RETRY_AFTER_MS = 120_000;

/**
 * The one rule for an HTTP 429, on every call of the package (the anonymous token call included): wait the
 * Retry-After, else 30 s (docs/nemovideo-api.md, Errors), then retry once; a wait over 120 s is not waited at all.
 */
export function rateLimitRule(retryAfterMs: number | undefined): { waitMs: number; waits: boolean } {
	const waitMs = retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
	return { waitMs, waits: waitMs <= MAX_RETRY_AFTER_MS };
}

/**
 * Shared by every request to one service origin in this process: after a 429, all items and executions wait
 * out the same Retry-After instead of each hammering the service with its own retry.
 */
export class RateLimitGate {
	private static readonly gates = new Map<string, number>();

	static hold(origin: string, until: number): void {
		RateLimitGate.gates.set(origin, Math.max(RateLimitGate.gates.get(origin) ?? 0, until));
	}

	/**
	 * Applies the rule to a 429 from `origin` and holds the gate for the wait the node will make. A wait over
	 * the cap is not held: the call that got it fails at once, and the next one asks the service again (a hold
	 * of an hour would park every later execution of this process without a word).
	 */
	static refused(origin: string, retryAfterMs: number | undefined): { waitMs: number; waits: boolean } {
		const rule = rateLimitRule(retryAfterMs);
		if (rule.waits) RateLimitGate.hold(origin, Date.now() + rule.waitMs);
		return rule;
	}

	/** How long requests to `origin` are held from now (0 when they are not). */
	static heldFor(origin: string): number {
		return Math.max(0, (RateLimitGate.gates.get(origin) ?? 0) - Date.now());
	}

	static async pass(origin: string, signal?: AbortSignal): Promise<void> {
		const until = RateLimitGate.gates.get(origin) ?? 0;
		const wait = until - Date.now();
		if (wait > 0) await sleepUnlessCancelled(wait, signal);
	}
}
