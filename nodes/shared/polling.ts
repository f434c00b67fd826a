import type { IDataObject } from 'n8n-workflow';

import { asNodeError, isNemoVideoError } from './transport/errors';
import type { NemoVideoClient } from './transport/client';
import { sleepUnlessCancelled } from './transport/wait';

export interface RenderStatus extends IDataObject {
	renderId: string;
	status: string;
	progress: number | null;
	url: string | null;
	durationSeconds: number | null;
	sizeBytes: number | null;
}

const FINAL = new Set(['completed', 'failed', 'cancelled', 'canceled']);

function numberOrNull(value: unknown): number | null {
	const number = Number(value);
	return value !== undefined && value !== null && Number.isFinite(number) ? number : null;
}

/** Reads either documented poll shape: top level `{status, output:{url}}` or wrapped `{data:{status, outputUrl}}`. */
export function readRenderStatus(renderId: string, answer: unknown): RenderStatus {
	const body = (answer ?? {}) as IDataObject;
	const b = ((body.data && typeof body.data === 'object' ? body.data : body) ?? {}) as IDataObject;
	const output = (b.output ?? {}) as IDataObject;
	const url = output.url ?? b.outputUrl ?? b.output_url ?? b.url;
	return {
		renderId: String(b.id ?? renderId),
		status: String(b.status ?? 'pending').toLowerCase(),
		progress: numberOrNull(b.progress),
		url: typeof url === 'string' && url ? url : null,
		durationSeconds: numberOrNull(output.duration ?? b.duration),
		sizeBytes: numberOrNull(output.size ?? b.size),
	};
}

/**
 * Delay before the next poll: short at first, growing with the time already waited, capped by the user's
 * interval. With a delay of a + t/10 the n-th poll comes at 10a(1.1^n - 1), and a render that ends at T is seen
 * within a + T/10. a = 2.92 s keeps that lag under 3 s + 10% of T and reaches a 90 s render in 15 polls
 * (a below 2.83 s would need a 16th).
 */
export function nextPollDelayMs(elapsedMs: number, maxIntervalMs: number): number {
	return Math.max(100, Math.min(maxIntervalMs, 2_920 + elapsedMs / 10));
}

export interface WaitOptions {
	itemIndex: number;
	deadline: number;
	maxIntervalMs: number;
	/** Polls in a row that may fail (5xx, network, unreadable, a second 429) before waiting gives up. */
	toleratedFailures?: number;
	signal?: AbortSignal;
}

export type WaitOutcome = { kind: 'final'; status: RenderStatus; polls: number } | { kind: 'deadline'; last?: RenderStatus; polls: number };

/** Polls one render until it ends or the deadline passes. Polling is a read: it is safe to repeat. */
export async function waitForRender(
	client: NemoVideoClient,
	renderId: string,
	options: WaitOptions,
): Promise<WaitOutcome> {
	const started = Date.now();
	const tolerated = options.toleratedFailures ?? 3;
	let failuresInRow = 0;
	let polls = 0;
	let last: RenderStatus | undefined;
	for (;;) {
		const delay = nextPollDelayMs(Date.now() - started, options.maxIntervalMs);
		if (Date.now() + delay > options.deadline) {
			await sleepUnlessCancelled(Math.max(0, options.deadline - Date.now()), options.signal);
			return { kind: 'deadline', last, polls };
		}
		await sleepUnlessCancelled(delay, options.signal);
		polls++;
		try {
			const answer = await client.call({
				method: 'GET',
				path: `/api/render/proxy/lambda/${encodeURIComponent(renderId)}`,
				itemIndex: options.itemIndex,
				signal: options.signal,
				headersTimeoutMs: 30_000,
			});
			failuresInRow = 0;
			last = readRenderStatus(renderId, answer);
			if (FINAL.has(last.status)) return { kind: 'final', status: last, polls };
		} catch (error) {
			const transient =
				isNemoVideoError(error, 'serverError') ||
				isNemoVideoError(error, 'network') ||
				isNemoVideoError(error, 'timeout') ||
				isNemoVideoError(error, 'badResponse') ||
				isNemoVideoError(error, 'rateLimited');
			if (!transient || ++failuresInRow > tolerated) throw asNodeError(client.node, error, options.itemIndex);
		}
	}
}
