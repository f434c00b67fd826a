import type { RenderStatus } from './transport/api';
import { renderStatus } from './transport/api';
import type { NemoVideoClient } from './transport/client';
import { asNodeError, isNemoVideoError } from './transport/errors';
import { sleepUnlessCancelled } from './transport/wait';

/**
 * The statuses of a render still running (docs/nemovideo-api.md, Endpoints 8: pending → processing → completed |
 * failed). Any other status ends the wait: completed and failed as documented, and one outside the contract
 * (`succeeded`, `error`) as a failure with the service's words, never as "still running" until the timeout.
 */
const RUNNING = new Set(['pending', 'processing']);

/** A status request made at the deadline itself still gets this long to answer. */
const LAST_POLL_GRACE_MS = 5_000;

/**
 * Delay before the next poll: short at first, growing with the time already waited, capped by the user's
 * interval. With a delay of a + t/10 the n-th poll comes at 10a(1.1^n - 1), and a render that ends at T is seen
 * within a + T/10. a = 2.92 s keeps that lag under 3 s + 10% of T and reaches a 90 s render in 15 polls
 * (a below 2.83 s would need a 16th). This is the schedule whenever progress cannot be trusted.
 */
export function nextPollDelayMs(elapsedMs: number, maxIntervalMs: number): number {
	return Math.max(100, Math.min(maxIntervalMs, 2_920 + elapsedMs / 10));
}

/** One `progress` reading of a poll answer (0–100), at `atMs` after the wait began. */
export interface ProgressSample {
	atMs: number;
	progress: number;
}

/** When the render should end, on the same clock as the samples, and how far off that may be. */
export interface FinishPrediction {
	finishMs: number;
	uncertaintyMs: number;
}

/** Below this many points of progress between the first and last reading, the rate is mostly rounding. */
const MIN_PROGRESS_SPAN = 2;

/**
 * The readings of the render's current run: in its processing phase (0 < progress < 100; pending answers say 0),
 * never going back (a drop starts a new run), and only the first reading of each value (progress is reported
 * rounded down, so a value is first seen just after it was reached).
 */
function currentRun(samples: ProgressSample[]): ProgressSample[] {
	const run: ProgressSample[] = [];
	for (const sample of samples) {
		if (!(sample.progress > 0 && sample.progress < 100)) continue;
		const last = run[run.length - 1];
		if (last && sample.progress < last.progress) run.length = 0;
		else if (last && sample.progress === last.progress) continue;
		run.push(sample);
	}
	return run;
}

/**
 * Fits a line through the progress readings (first to last of the current run) and predicts when it reaches
 * 100 %. Undefined when there is too little to go on or the readings stray from the line (erratic progress):
 * the caller then keeps today's schedule.
 */
export function predictFinish(samples: ProgressSample[]): FinishPrediction | undefined {
	const run = currentRun(samples);
	if (run.length < 2) return undefined;
	const first = run[0];
	const last = run[run.length - 1];
	const span = last.progress - first.progress;
	const timeMs = last.atMs - first.atMs;
	if (span < MIN_PROGRESS_SPAN || timeMs <= 0) return undefined;
	const rate = span / timeMs;
	const tolerance = 1.5 + span * 0.1;
	const strays = run.some((sample) => Math.abs(sample.progress - (first.progress + rate * (sample.atMs - first.atMs))) > tolerance);
	if (strays) return undefined;
	// Rounded down: the true progress at `last` is half a point higher on average, and each end is off by up to
	// one point, so the rate is off by up to 1/span of itself.
	const finishMs = last.atMs + (100 - last.progress - 0.5) / rate;
	return { finishMs, uncertaintyMs: (finishMs - last.atMs) / span + 0.5 / rate };
}

export interface PollDelayInput {
	/** Time since the wait began. */
	elapsedMs: number;
	/** The user's poll interval: no delay is longer. */
	maxIntervalMs: number;
	/** The progress readings so far, oldest first (none when the service reports no progress). */
	samples: ProgressSample[];
}

/**
 * Delay before the next poll, using `progress` when it grows steadily (issue 9, "Polling on progress"). The lag
 * aimed at is half of the goal of 2 s + 5 % of the render time:
 * - a sure prediction (uncertainty within that aim): poll just after the latest plausible finish;
 * - an unsure one: poll at the earliest plausible finish, where the longer line gives a better prediction;
 * - the predicted finish has passed without the render ending: poll again soon, twice at most, then it is not
 *   linear after all and today's schedule takes over; so does it when progress is absent or erratic.
 */
export function pollDelayMs({ elapsedMs, maxIntervalMs, samples }: PollDelayInput): number {
	const usual = nextPollDelayMs(elapsedMs, maxIntervalMs);
	const prediction = predictFinish(samples);
	if (!prediction) return usual;
	const aimMs = 500 + prediction.finishMs * 0.0125;
	const remainingMs = prediction.finishMs - elapsedMs;
	let delay: number;
	if (remainingMs <= 0) {
		if (-remainingMs > 4 * aimMs) return usual;
		delay = Math.min(usual, 2 * aimMs);
	} else if (prediction.uncertaintyMs <= aimMs) {
		delay = remainingMs + prediction.uncertaintyMs;
	} else {
		delay = remainingMs - prediction.uncertaintyMs;
	}
	return Math.max(100, Math.min(maxIntervalMs, delay));
}

export interface WaitOptions {
	itemIndex: number;
	deadline: number;
	maxIntervalMs: number;
	/** Polls in a row that may fail (5xx, network, unreadable, a second 429) before waiting gives up. */
	toleratedFailures?: number;
	signal?: AbortSignal;
	/** Called with each status read (progress for a caller to show). */
	onStatus?: (status: RenderStatus) => void;
}

export type WaitOutcome = { kind: 'final'; status: RenderStatus; polls: number } | { kind: 'deadline'; last?: RenderStatus; polls: number };

function isTransient(error: unknown): boolean {
	return (
		isNemoVideoError(error, 'serverError') ||
		isNemoVideoError(error, 'network') ||
		isNemoVideoError(error, 'timeout') ||
		isNemoVideoError(error, 'badResponse') ||
		isNemoVideoError(error, 'rateLimited')
	);
}

function isFinal(status: RenderStatus): boolean {
	return !RUNNING.has(status.status);
}

/**
 * Polls one render until it ends or the deadline passes. When the next delay would pass the deadline it polls
 * once more at the deadline itself: a render that ended in the meantime is reported, not timed out (issue 9.13).
 */
export async function waitForRender(
	client: NemoVideoClient,
	renderId: string,
	options: WaitOptions,
): Promise<WaitOutcome> {
	const started = Date.now();
	const tolerated = options.toleratedFailures ?? 3;
	const samples: ProgressSample[] = [];
	let failuresInRow = 0;
	let polls = 0;
	let last: RenderStatus | undefined;
	for (;;) {
		const elapsedMs = Date.now() - started;
		const delay = pollDelayMs({ elapsedMs, maxIntervalMs: options.maxIntervalMs, samples });
		const lastChance = Date.now() + delay >= options.deadline;
		await sleepUnlessCancelled(lastChance ? options.deadline - Date.now() : delay, options.signal);
		polls++;
		try {
			// Each request ends by the deadline (a hung one is not waited 30 s and retried past a tool call's bound).
			const call = { itemIndex: options.itemIndex, signal: options.signal, deadline: options.deadline + LAST_POLL_GRACE_MS };
			last = await renderStatus(client, renderId, call);
			failuresInRow = 0;
			options.onStatus?.(last);
			if (isFinal(last)) return { kind: 'final', status: last, polls };
			if (last.progress !== null) samples.push({ atMs: Date.now() - started, progress: last.progress });
		} catch (error) {
			if (!isTransient(error) || (++failuresInRow > tolerated && !lastChance)) {
				throw asNodeError(client.node, error, options.itemIndex);
			}
		}
		if (lastChance) return { kind: 'deadline', last, polls };
	}
}
