/**
 * The render poller's pure parts: today's schedule, the finish predictor that reads `progress`, the delay that
 * combines them, and the reading of a poll answer. The simulated renders are the emulator's own status code on a
 * clock of the test's (test/emulator/routes/renders.ts: pending for the first 10 %, then progress rounded down,
 * linear in time), so a simulation here is what bench/polling-lag.ts measures, minus HTTP and n8n.
 */
import type { ProgressSample } from '../nodes/shared/polling';
import { nextPollDelayMs, pollDelayMs, predictFinish } from '../nodes/shared/polling';
import { readRenderStatus } from '../nodes/shared/transport/api';
import type { EmulatedRender } from './emulator';
import { NemoVideoEmulator } from './emulator';
import { refreshRender } from './emulator/routes/renders';

const DEFAULT_MAX_INTERVAL_MS = 30_000;
/** Time one poll takes on the loopback emulator, about. */
const POLL_MS = 10;

/** The emulator's own answer at `elapsedMs` into a render of `renderMs`, from its clock-driven status code. */
function emulatedRender(renderMs: number, elapsedMs: number): { status: string; progress: number } {
	const emulator = new NemoVideoEmulator({ renderMs });
	const render = { id: 'render_sim', status: 'pending', progress: 0, startedAt: 0, willFail: false, output: 'sample' } as EmulatedRender;
	refreshRender(emulator, render, elapsedMs);
	return { status: render.status, progress: render.progress };
}

/** Runs the poller's schedule against a simulated render; returns the polls and the lag after the finish. */
function simulate(renderMs: number, withProgress: boolean): { polls: number; lagMs: number; delays: number[] } {
	const samples: ProgressSample[] = [];
	const delays: number[] = [];
	let elapsedMs = 0;
	for (let polls = 1; polls < 1000; polls++) {
		const delay = pollDelayMs({ elapsedMs, maxIntervalMs: DEFAULT_MAX_INTERVAL_MS, samples: withProgress ? samples : [] });
		delays.push(delay);
		elapsedMs += delay;
		const answer = emulatedRender(renderMs, elapsedMs);
		elapsedMs += POLL_MS;
		if (answer.status === 'completed') return { polls, lagMs: elapsedMs - renderMs, delays };
		samples.push({ atMs: elapsedMs, progress: answer.progress });
	}
	throw new Error('the simulated render never finished');
}

describe("the emulator's progress", () => {
	test('is linear in time while processing: equal steps of time, equal steps of progress (within rounding)', () => {
		const renderMs = 90_000;
		const readings = Array.from({ length: 9 }, (_, step) => emulatedRender(renderMs, 10_000 + step * 9_000));
		expect(readings.every((reading) => reading.status === 'processing')).toBe(true);
		const steps = readings.slice(1).map((reading, index) => reading.progress - readings[index].progress);
		expect(Math.max(...steps) - Math.min(...steps)).toBeLessThanOrEqual(1);
		expect(steps[0]).toBeGreaterThanOrEqual(10);
		expect(emulatedRender(renderMs, 5_000)).toEqual({ status: 'pending', progress: 0 });
		expect(emulatedRender(renderMs, 90_000)).toEqual({ status: 'completed', progress: 100 });
	});
});

describe("today's schedule (nextPollDelayMs)", () => {
	test('starts at 2.92 s, grows with a tenth of the time waited, and stops at the poll interval', () => {
		expect(nextPollDelayMs(0, DEFAULT_MAX_INTERVAL_MS)).toBe(2_920);
		expect(nextPollDelayMs(50_000, DEFAULT_MAX_INTERVAL_MS)).toBe(7_920);
		expect(nextPollDelayMs(600_000, DEFAULT_MAX_INTERVAL_MS)).toBe(30_000);
		expect(nextPollDelayMs(0, 50)).toBe(100);
	});
});

describe('the finish predictor (predictFinish)', () => {
	test('steady progress predicts the finish of the line through it', () => {
		// 1 % a second from 10 % at 10 s: 100 % at 100 s (half a point is added: progress is rounded down).
		const prediction = predictFinish([
			{ atMs: 10_000, progress: 10 },
			{ atMs: 30_000, progress: 30 },
			{ atMs: 50_000, progress: 50 },
		]);
		expect(prediction?.finishMs).toBeCloseTo(99_500, -2);
		expect(prediction?.uncertaintyMs).toBeLessThan(2_000);
	});

	test('needs two readings that moved: none, one, or no change predict nothing', () => {
		expect(predictFinish([])).toBeUndefined();
		expect(predictFinish([{ atMs: 5_000, progress: 40 }])).toBeUndefined();
		expect(predictFinish([{ atMs: 5_000, progress: 40 }, { atMs: 9_000, progress: 40 }])).toBeUndefined();
		// pending (0 %) readings are not on the line
		expect(predictFinish([{ atMs: 3_000, progress: 0 }, { atMs: 6_000, progress: 0 }, { atMs: 9_000, progress: 20 }])).toBeUndefined();
	});

	test('erratic progress predicts nothing: a reading far off the line', () => {
		const jump = [
			{ atMs: 10_000, progress: 5 },
			{ atMs: 20_000, progress: 60 },
			{ atMs: 30_000, progress: 62 },
			{ atMs: 40_000, progress: 64 },
		];
		expect(predictFinish(jump)).toBeUndefined();
	});

	test('progress that went back starts a new line from there', () => {
		const restarted = predictFinish([
			{ atMs: 10_000, progress: 80 },
			{ atMs: 20_000, progress: 10 },
			{ atMs: 30_000, progress: 20 },
		]);
		expect(restarted?.finishMs).toBeCloseTo(109_500, -2);
	});
});

describe('the delay before the next poll (pollDelayMs)', () => {
	test("without progress it is today's schedule", () => {
		for (const elapsedMs of [0, 3_000, 45_000, 400_000]) {
			expect(pollDelayMs({ elapsedMs, maxIntervalMs: DEFAULT_MAX_INTERVAL_MS, samples: [] })).toBe(nextPollDelayMs(elapsedMs, DEFAULT_MAX_INTERVAL_MS));
		}
	});

	test("with erratic progress it is today's schedule", () => {
		const samples = [
			{ atMs: 3_000, progress: 5 },
			{ atMs: 6_000, progress: 70 },
			{ atMs: 9_000, progress: 71 },
			{ atMs: 12_000, progress: 72 },
		];
		expect(pollDelayMs({ elapsedMs: 12_000, maxIntervalMs: DEFAULT_MAX_INTERVAL_MS, samples })).toBe(nextPollDelayMs(12_000, DEFAULT_MAX_INTERVAL_MS));
	});

	test('with steady progress and a sure prediction it polls just after the predicted finish', () => {
		const samples = [
			{ atMs: 10_000, progress: 10 },
			{ atMs: 50_000, progress: 50 },
			{ atMs: 80_000, progress: 80 },
		];
		const delay = pollDelayMs({ elapsedMs: 80_000, maxIntervalMs: 60_000, samples });
		expect(80_000 + delay).toBeGreaterThanOrEqual(99_500);
		expect(80_000 + delay).toBeLessThan(101_000);
	});

	test('never waits longer than the poll interval', () => {
		const samples = [
			{ atMs: 10_000, progress: 1 },
			{ atMs: 20_000, progress: 2 },
			{ atMs: 30_000, progress: 3 },
		];
		expect(pollDelayMs({ elapsedMs: 30_000, maxIntervalMs: 5_000, samples })).toBeLessThanOrEqual(5_000);
	});

	test('an overdue render is polled soon, then (still not done) on the usual schedule', () => {
		const samples = [
			{ atMs: 10_000, progress: 10 },
			{ atMs: 50_000, progress: 50 },
			{ atMs: 99_000, progress: 99 },
		];
		const soon = pollDelayMs({ elapsedMs: 100_500, maxIntervalMs: DEFAULT_MAX_INTERVAL_MS, samples });
		expect(soon).toBeLessThan(nextPollDelayMs(100_500, DEFAULT_MAX_INTERVAL_MS));
		expect(pollDelayMs({ elapsedMs: 130_000, maxIntervalMs: DEFAULT_MAX_INTERVAL_MS, samples })).toBe(nextPollDelayMs(130_000, DEFAULT_MAX_INTERVAL_MS));
	});

	test.each([10, 45, 90])(
		'a %i s render with linear progress is seen within 2 s + 5 %% of its time, in at most 10 polls',
		(renderSeconds) => {
			const renderMs = renderSeconds * 1000;
			const withProgress = simulate(renderMs, true);
			expect(withProgress.lagMs).toBeLessThanOrEqual(2_000 + renderMs * 0.05);
			expect(withProgress.polls).toBeLessThanOrEqual(10);
			const without = simulate(renderMs, false);
			expect(without.delays).toEqual(without.delays.map((_, index) => nextPollDelayMs(without.delays.slice(0, index).reduce((sum, delay) => sum + delay + POLL_MS, 0), DEFAULT_MAX_INTERVAL_MS)));
			expect(withProgress.polls).toBeLessThanOrEqual(without.polls);
		},
	);
});

describe('reading a poll answer (readRenderStatus)', () => {
	test('the top-level shape, with progress', () => {
		const status = readRenderStatus('render_a', { id: 'render_a', status: 'PROCESSING', progress: 42 });
		expect(status).toMatchObject({ renderId: 'render_a', status: 'processing', progress: 42, url: null });
	});

	test('the wrapped shape, finished', () => {
		const status = readRenderStatus('render_b', { success: true, data: { status: 'completed', outputUrl: 'https://cdn.example/b.mp4', duration: 12, size: 3456 } });
		expect(status).toMatchObject({ renderId: 'render_b', status: 'completed', url: 'https://cdn.example/b.mp4', durationSeconds: 12, sizeBytes: 3456 });
	});

	test('no progress field reads as null, not 0', () => {
		expect(readRenderStatus('render_c', { status: 'pending' }).progress).toBeNull();
	});

	test('the URL, duration and size from output, else outputUrl, output_url or url; an empty URL is none', () => {
		const nested = { status: 'completed', output: { url: 'https://cdn.example/o.mp4', duration: 9.5, size: 100 }, outputUrl: 'https://cdn.example/other.mp4', duration: 1, size: 1 };
		expect(readRenderStatus('render_d', nested)).toEqual({
			renderId: 'render_d',
			status: 'completed',
			progress: null,
			url: 'https://cdn.example/o.mp4',
			durationSeconds: 9.5,
			sizeBytes: 100,
		});
		expect(readRenderStatus('r', { output_url: 'https://cdn.example/snake.mp4' }).url).toBe('https://cdn.example/snake.mp4');
		expect(readRenderStatus('r', { url: 'https://cdn.example/bare.mp4' }).url).toBe('https://cdn.example/bare.mp4');
		expect(readRenderStatus('r', { status: 'completed', output: { url: '' } }).url).toBeNull();
		expect(readRenderStatus('r', { status: 'completed', url: 42 }).url).toBeNull();
	});

	test('numbers sent as strings are read; what is not a finite number is null', () => {
		expect(readRenderStatus('r', { progress: '73', duration: ' 12.5 ', size: '2048' })).toMatchObject({ progress: 73, durationSeconds: 12.5, sizeBytes: 2048 });
		expect(readRenderStatus('r', { progress: 'soon', duration: '', size: Number.NaN })).toMatchObject({ progress: null, durationSeconds: null, sizeBytes: null });
	});

	test('no id keeps the id polled for; no status (or no answer at all) is pending', () => {
		expect(readRenderStatus('render_e', { data: { progress: 5 } })).toMatchObject({ renderId: 'render_e', status: 'pending', progress: 5 });
		expect(readRenderStatus('render_f', undefined)).toEqual({ renderId: 'render_f', status: 'pending', progress: null, url: null, durationSeconds: null, sizeBytes: null });
		expect(readRenderStatus('render_g', { id: 'render_h', status: 'Failed' })).toMatchObject({ renderId: 'render_h', status: 'failed' });
	});
});
