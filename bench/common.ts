/**
 * Shared pieces of the benchmark scripts: the emulator as a child process (so its memory and CPU are not the
 * measured process's) through the e2e suite's emulator client, clean-up on exit, an RSS sampler on its own
 * thread, table printing, and setting up a session that is ready to export through the real nodes.
 *
 * Every script imports `../test/harness/env` before this module (n8n-core reads its folders at load time).
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { IRun } from 'n8n-workflow';

import { connectEmulator as connectAdmin, startEmulator as startEmulatorProcess } from '../test/e2e/lib/emulator';
import type { EmulatedRender, RecordedRequest, Route } from '../test/emulator/types';
import type { Harness } from '../test/harness';

export type { EmulatedRender, RecordedRequest };

export const ROOT = resolve(__dirname, '..');
export const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(ROOT, 'test', 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
export const TOKEN = 'nmv_usr_own_bench_token';
export const MB = 1024 * 1024;

// ------------------------------------------------------------------------------------------------ clean-up

const cleanups: Array<() => void> = [];
let hooked = false;

/** Runs `fn` (synchronous, best effort) when the process exits, however it exits. Last registered runs first. */
export function onExit(fn: () => void): void {
	cleanups.push(fn);
	if (hooked) return;
	hooked = true;
	const runAll = () => {
		while (cleanups.length) {
			try {
				cleanups.pop()!();
			} catch {
				// best effort
			}
		}
	};
	process.on('exit', runAll);
	for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
		process.once(signal, () => {
			runAll();
			process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
		});
	}
}

/** Removes a path on exit. */
export function removeOnExit(path: string): void {
	onExit(() => rmSync(path, { recursive: true, force: true }));
}

// The n8n user folder test/harness/env.ts made (binary store included: the big files land there).
if (process.env.N8N_USER_FOLDER) removeOnExit(process.env.N8N_USER_FOLDER);

// ------------------------------------------------------------------------------------------------ emulator

/** The emulator's admin client and its process, as the real-n8n suite starts it. */
export interface EmulatorProcess {
	baseUrl: string;
	admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	/** Recorded requests after `since` (a seq), optionally of one route. */
	requests(since?: number, route?: Route): Promise<RecordedRequest[]>;
	/** The highest seq recorded so far (0 when none). */
	lastSeq(): Promise<number>;
	render(id: string): Promise<EmulatedRender>;
	/** The emulator's process (group leader), when known. */
	pid?: number;
	/** CPU time (user + system) the emulator's processes have used so far, in ms; 0 when its pid is not known. */
	cpuMs(): number;
	stop(): Promise<void>;
}

/**
 * Starts test/emulator/cli.ts in its own process group with `config` (test/e2e/lib/emulator.js, the one emulator
 * client of the e2e suite and the benchmarks: it stops the group when this process exits, however it exits), and
 * registers an owner token with plenty of credits.
 */
export async function startEmulator(config: Record<string, unknown>): Promise<EmulatorProcess> {
	const started = await startEmulatorProcess({ config, root: ROOT });
	const client = connectEmulator(started.baseUrl, async () => await started.stop(), started.pid);
	await client.admin('POST', '/tokens', { token: TOKEN, credits: 10_000_000, anonymous: false });
	return client;
}

/** Talks to an emulator started elsewhere (another benchmark process); `stop` defaults to doing nothing. */
export function connectEmulator(baseUrl: string, stop: () => Promise<void> = async () => {}, pid?: number): EmulatorProcess {
	const { admin } = connectAdmin(baseUrl);
	const requests = async (since = 0, route?: Route) => await admin.requests({ since, route });
	return {
		baseUrl,
		admin: async <T>(method: string, path: string, body?: unknown) => (await admin.call(method, path, body)) as T,
		requests,
		lastSeq: async () => (await requests()).reduce((max, request) => Math.max(max, request.seq), 0),
		render: async (id) => (await admin.call('GET', `/renders/${encodeURIComponent(id)}`)) as EmulatedRender,
		pid,
		cpuMs: () => treeCpuMs(pid),
		stop,
	};
}

/** CPU time of a process and its descendants (Linux /proc; 0 elsewhere), in ms: clock ticks of 10 ms. */
function treeCpuMs(pid: number | undefined): number {
	if (!pid) return 0;
	try {
		const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
		const own = (Number(fields[11]) + Number(fields[12])) * 10;
		const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
			readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
		);
		return own + children.reduce((sum, child) => sum + treeCpuMs(child), 0);
	} catch {
		return 0;
	}
}

// ------------------------------------------------------------------------------------------------ memory

/**
 * Samples this process's RSS every `everyMs` on a worker thread, so a busy main thread (streaming, parsing)
 * cannot skip samples. RSS is per process: the worker sees the whole process.
 */
export class RssSampler {
	private readonly worker = new Worker(
		`const { parentPort } = require('node:worker_threads');
		let peak = 0, timer;
		const sample = () => { const rss = process.memoryUsage.rss(); if (rss > peak) peak = rss; };
		parentPort.on('message', (message) => {
			if (message.cmd === 'start') { peak = 0; sample(); clearInterval(timer); timer = setInterval(sample, message.everyMs); parentPort.postMessage({ started: true }); }
			if (message.cmd === 'stop') { clearInterval(timer); sample(); parentPort.postMessage({ peak }); }
		});`,
		{ eval: true },
	);

	constructor() {
		this.worker.unref();
	}

	private ask(message: object): Promise<{ peak?: number }> {
		return new Promise((done) => {
			this.worker.once('message', done);
			this.worker.postMessage(message);
		});
	}

	/** Collects garbage (with --expose-gc), settles, and returns the baseline RSS; then samples until stop(). */
	async start(everyMs = 10): Promise<number> {
		await settle();
		const baseline = process.memoryUsage.rss();
		await this.ask({ cmd: 'start', everyMs });
		return baseline;
	}

	/** The peak RSS since start(). */
	async stop(): Promise<number> {
		const { peak } = await this.ask({ cmd: 'stop' });
		return Math.max(peak ?? 0, process.memoryUsage.rss());
	}

	async close(): Promise<void> {
		await this.worker.terminate();
	}
}

export async function settle(): Promise<void> {
	for (let round = 0; round < 3; round++) {
		global.gc?.();
		await new Promise((done) => setTimeout(done, 50));
	}
}

// ------------------------------------------------------------------------------------------------ workflows

/** When a node of a finished run started and ended (n8n's own task data), in epoch ms. */
export function nodeTiming(run: IRun, nodeName: string): { start: number; end: number; ms: number } {
	const task = run.data.resultData.runData[nodeName]?.[0];
	if (!task) throw new Error(`node ${nodeName} did not run`);
	return { start: task.startTime, end: task.startTime + task.executionTime, ms: task.executionTime };
}

export const readFilesNode = (paths: string[]) => ({
	type: 'test.readFiles',
	name: 'Read Files',
	parameters: { paths: JSON.stringify(paths) },
});

/**
 * Makes `count` sessions that are ready to export, through the real Upload (one session per item) and
 * Generate nodes. Returns their ids in order.
 */
export async function readySessions(harness: Harness, count: number): Promise<string[]> {
	const paths = Array.from({ length: count }, (_, index) => PHOTOS[index % PHOTOS.length]);
	const run = await harness.run({
		nodes: [
			readFilesNode(paths),
			{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '', grouping: 'perItem' } },
			{ type: 'nemoVideoGenerate', name: 'Generate', parameters: { prompt: 'Turn these photos into a slideshow' } },
		],
	});
	if (run.error) throw new Error(`setting up sessions failed: ${run.error.message}`);
	const ids = run.output('Upload').map((item) => String(item.json.sessionId));
	if (ids.length !== count || ids.some((id) => !id || id === 'undefined')) throw new Error('setting up sessions gave no session ids');
	return ids;
}

// ------------------------------------------------------------------------------------------------ output

export function printTable(title: string, headers: string[], rows: Array<Array<string | number>>): void {
	const cells = [headers, ...rows.map((row) => row.map(String))];
	const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
	const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
	console.log(`\n${title}\n`);
	console.log(line(headers));
	console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
	for (const row of cells.slice(1)) console.log(line(row));
	console.log('');
}

export const mb = (bytes: number) => (bytes / MB).toFixed(1);

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
export const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** Prints the one-line JSON summary every script ends with. */
export function summary(name: string, data: Record<string, unknown>): void {
	console.log(`BENCH_SUMMARY ${JSON.stringify({ bench: name, ...data })}`);
}

/** Runs main, reports a failure, and exits (which runs the clean-ups). */
export function runMain(main: () => Promise<boolean>): void {
	main().then(
		(ok) => process.exit(ok ? 0 : 1),
		(error: unknown) => {
			console.error(error instanceof Error ? (error.stack ?? error.message) : error);
			process.exit(2);
		},
	);
}
