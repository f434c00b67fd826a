import { setTimeout as delay } from 'node:timers/promises';

/** Waits `ms`, ending early (with the signal's reason) when the execution is cancelled. */
export async function sleepUnlessCancelled(ms: number, signal?: AbortSignal): Promise<void> {
	if (ms <= 0) {
		signal?.throwIfAborted();
		return;
	}
	await delay(ms, undefined, { signal });
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

/**
 * Shared by every request to one service origin in this process: after a 429, all items wait out the same
 * Retry-After instead of each hammering the service with its own retry.
 */
export class RateLimitGate {
	private static readonly gates = new Map<string, number>();

	static hold(origin: string, until: number): void {
		RateLimitGate.gates.set(origin, Math.max(RateLimitGate.gates.get(origin) ?? 0, until));
	}

	static async pass(origin: string, signal?: AbortSignal): Promise<void> {
		const until = RateLimitGate.gates.get(origin) ?? 0;
		const wait = until - Date.now();
		if (wait > 0) await sleepUnlessCancelled(wait, signal);
	}
}
