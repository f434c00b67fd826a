/**
 * Shared pieces of the benchmark scripts: the emulator as a child process (so its memory and CPU are not the
 * measured process's), clean-up on exit, an RSS sampler on its own thread, table printing, and setting up a
 * session that is ready to export through the real nodes.
 *
 * Every script imports `../test/harness/env` before this module (n8n-core reads its folders at load time).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

import type { IRun } from 'n8n-workflow';

import type { Harness } from '../test/harness';

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

export interface RecordedRequest {
	seq: number;
	at: number;
	method: string;
	path: string;
	route: string;
	status?: number;
	sessionId?: string;
	renderId?: string;
	bodyBytes: number;
	files?: Array<{ filename: string; bytes: number; detectedType: string | null }>;
}

export interface EmulatedRender {
	id: string;
	sessionId: string;
	status: string;
	startedAt: number;
	completedAt?: number;
	bytes: number;
}

export interface EmulatorProcess {
	baseUrl: string;
	admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
	/** Recorded requests after `since` (a seq), optionally of one route. */
	requests(since?: number, route?: string): Promise<RecordedRequest[]>;
	/** The highest seq recorded so far (0 when none). */
	lastSeq(): Promise<number>;
	render(id: string): Promise<EmulatedRender>;
	stop(): Promise<void>;
}

function tsxCommand(): [string, string[]] {
	const cli = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
	if (existsSync(cli)) return [process.execPath, [cli]];
	return ['npx', ['--no-install', 'tsx']];
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	if (!child.pid) return;
	try {
		process.kill(-child.pid, signal);
	} catch {
		try {
			child.kill(signal);
		} catch {
			// already gone
		}
	}
}

/**
 * Starts `npx tsx test/emulator/cli.ts --config <json>` (the repo's tsx, run by this Node) in its own process
 * group, waits for `NEMOVIDEO_EMULATOR_URL=`, and registers an owner token with plenty of credits.
 */
export async function startEmulator(config: Record<string, unknown>): Promise<EmulatorProcess> {
	const [command, pre] = tsxCommand();
	const child = spawn(command, [...pre, join(ROOT, 'test', 'emulator', 'cli.ts'), '--config', JSON.stringify(config)], {
		cwd: ROOT,
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true,
		env: { ...process.env, NODE_OPTIONS: '' },
	});
	let exited = false;
	const exit = new Promise<void>((done) => child.once('exit', () => ((exited = true), done())));
	// SIGTERM lets the emulator remove its own temp dir even after this process is gone.
	onExit(() => {
		if (!exited) killGroup(child, 'SIGTERM');
	});
	let stdout = '';
	let stderr = '';
	child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-5000)));
	const baseUrl = await new Promise<string>((resolveUrl, reject) => {
		const timer = setTimeout(() => reject(new Error(`emulator did not start within 60 s\n${stdout}\n${stderr}`)), 60_000);
		child.stdout!.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
			const match = /^NEMOVIDEO_EMULATOR_URL=(\S+)\s*$/m.exec(stdout);
			if (match) {
				clearTimeout(timer);
				resolveUrl(match[1].replace(/\/$/, ''));
			}
		});
		void exit.then(() => {
			clearTimeout(timer);
			reject(new Error(`emulator exited before listening\n${stdout}\n${stderr}`));
		});
	});

	const client = connectEmulator(baseUrl, async () => {
		if (exited) return;
		killGroup(child, 'SIGTERM');
		const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
		await exit;
		clearTimeout(timer);
	});
	await client.admin('POST', '/tokens', { token: TOKEN, credits: 10_000_000, anonymous: false });
	return client;
}

/** Talks to an emulator started elsewhere (another benchmark process); `stop` defaults to doing nothing. */
export function connectEmulator(baseUrl: string, stop: () => Promise<void> = async () => {}): EmulatorProcess {
	const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
		const response = await fetch(`${baseUrl}/__emulator${path}`, {
			method,
			headers: body === undefined ? {} : { 'content-type': 'application/json' },
			body: body === undefined ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(30_000),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`emulator admin ${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
		return (text ? JSON.parse(text) : undefined) as T;
	};
	const requests = async (since = 0, route?: string) =>
		await admin<RecordedRequest[]>('GET', `/requests?since=${since}${route ? `&route=${route}` : ''}`);
	return {
		baseUrl,
		admin,
		requests,
		lastSeq: async () => (await requests()).reduce((max, request) => Math.max(max, request.seq), 0),
		render: async (id) => await admin<EmulatedRender>('GET', `/renders/${encodeURIComponent(id)}`),
		stop,
	};
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
