/**
 * Issue 3 benchmark: memory and throughput of NemoVideo Upload (a 200 MB and a 50 MB file) and NemoVideo
 * Export & Wait's download (a 200 MB and a 50 MB result), through the real nodes in n8n-core's engine, over real
 * HTTP to the emulator running in a child process (its memory is not counted).
 *
 *   npx tsx --expose-gc bench/upload-download.ts        (or: node --expose-gc --import tsx bench/upload-download.ts)
 *   options: --sizes 50,200   (MB; default 50,200)
 *
 * Each measured step runs in a fresh process of its own, warmed up first with a whole small pipeline (modules,
 * JIT, connection pools), so memory one step leaves behind cannot hide the next step's growth. In it: the
 * baseline RSS after GC, then the peak RSS while the node runs, sampled every 10 ms on a worker thread; growth =
 * peak - baseline. Before an upload, a Read Files step (in its own process, measured separately: that part is
 * n8n's, not this package's) puts the file into n8n's binary store (filesystem mode, a folder the processes
 * share). Goal: growth < 64 MB whatever the size.
 */
import './resolve-ts';
import '../test/harness/env';
import './binary-dir';

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { INodeExecutionData } from 'n8n-workflow';

import { Harness } from '../test/harness';
import {
	MB,
	PHOTOS,
	ROOT,
	RssSampler,
	TOKEN,
	connectEmulator,
	mb,
	nodeTiming,
	printTable,
	readFilesNode,
	readySessions,
	removeOnExit,
	runMain,
	seconds,
	startEmulator,
	summary,
	type EmulatorProcess,
} from './common';

const GOAL_BYTES = 64 * MB;

interface Row {
	step: string;
	part: 'n8n' | 'package';
	sizeBytes: number;
	baselineRss: number;
	peakRss: number;
	nodeMs: number;
	transferMs: number;
}

function argValue(name: string): string | undefined {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : undefined;
}

/** A file of `bytes` bytes: JPEG magic bytes, then filler, written 1 MB at a time. */
function makeJpeg(path: string, bytes: number): void {
	const fd = openSync(path, 'w');
	try {
		const chunk = Buffer.alloc(MB, 0x5a);
		chunk.set([0xff, 0xd8, 0xff, 0xe0], 0);
		for (let written = 0; written < bytes; ) {
			const length = Math.min(MB, bytes - written);
			writeSync(fd, chunk, 0, length, written);
			if (written === 0) chunk.fill(0x5a, 0, 4);
			written += length;
		}
	} finally {
		closeSync(fd);
	}
}

// ------------------------------------------------------------------------------------------------ one step (child)

type Step = 'read' | 'upload' | 'download';

/**
 * Runs in a child: warm up, then measure one step. `read` puts `file` into the (shared) binary store and
 * returns the items; `upload` sends those items with NemoVideo Upload; `download` runs Export & Wait.
 */
async function measureStep(
	emulator: EmulatorProcess,
	step: Step,
	sizeMB: number,
	file?: string,
	input?: INodeExecutionData[],
): Promise<{ rows: Row[]; items?: INodeExecutionData[] }> {
	const bytes = sizeMB * MB;
	const harness = new Harness();
	harness.credentials.set('cred-1', { baseUrl: emulator.baseUrl, accessToken: TOKEN });
	const sampler = new RssSampler();
	const rows: Row[] = [];

	// Warm-up (not measured): a whole small pipeline, the small sample MP4 as the result.
	await emulator.admin('POST', '/config', { outputSizeBytes: 0 });
	const [sessionId] = await readySessions(harness, 1);
	for (const nodes of [
		[readFilesNode([PHOTOS[0]]), { type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '' } }],
		[{ type: 'nemoVideoExport', name: 'Export', parameters: {} }],
	]) {
		const warm = await harness.run({ input: [{ json: { sessionId } }], nodes });
		if (warm.error) throw warm.error;
	}

	if (step === 'read') {
		// n8n's part: Read Files streams the file into the binary store.
		const baseline = await sampler.start();
		const read = await harness.run({ nodes: [readFilesNode([file!])] });
		const peak = await sampler.stop();
		if (read.error) throw read.error;
		const timing = nodeTiming(read.run, 'Read Files');
		rows.push({ step: `Read Files ${sizeMB} MB into the binary store`, part: 'n8n', sizeBytes: bytes, baselineRss: baseline, peakRss: peak, nodeMs: timing.ms, transferMs: timing.ms });
		await sampler.close();
		return { rows, items: read.output('Read Files').map((item) => ({ json: item.json, binary: item.binary })) };
	} else if (step === 'upload') {
		// This package's part: Upload streams the file from the store to the service.
		const since = await emulator.lastSeq();
		const baseline = await sampler.start();
		const upload = await harness.run({ input, nodes: [{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '' } }] });
		const peak = await sampler.stop();
		if (upload.error) throw upload.error;
		const timing = nodeTiming(upload.run, 'Upload');
		const request = (await emulator.requests(since, 'upload'))[0];
		const received = request?.files?.[0]?.bytes ?? 0;
		if (received !== bytes) throw new Error(`the emulator received ${received} bytes, not ${bytes}`);
		rows.push({ step: `Upload ${sizeMB} MB`, part: 'package', sizeBytes: bytes, baselineRss: baseline, peakRss: peak, nodeMs: timing.ms, transferMs: timing.end - request.at });
	} else {
		// Export & Wait with download on: the emulator serves a synthetic MP4 of exactly N bytes, streamed.
		await emulator.admin('POST', '/config', { outputSizeBytes: bytes });
		const since = await emulator.lastSeq();
		const baseline = await sampler.start();
		const exported = await harness.run({ input: [{ json: { sessionId } }], nodes: [{ type: 'nemoVideoExport', name: 'Export', parameters: {} }] });
		const peak = await sampler.stop();
		if (exported.error) throw exported.error;
		const binary = exported.output('Export')[0].binary?.data;
		const stored = binary?.id ? Number(binary.bytes) : -1; // n8n's store sets it from the bytes it wrote
		if (stored !== bytes || binary?.mimeType !== 'video/mp4') throw new Error(`the stored video has ${stored} bytes, not ${bytes}`);
		const timing = nodeTiming(exported.run, 'Export');
		const cdn = (await emulator.requests(since, 'cdn'))[0];
		rows.push({ step: `Export & Wait, download ${sizeMB} MB`, part: 'package', sizeBytes: bytes, baselineRss: baseline, peakRss: peak, nodeMs: timing.ms, transferMs: timing.end - cdn.at });
	}
	await sampler.close();
	return { rows };
}

/** Runs one step in a fresh process with the same Node flags (tsx loader, --expose-gc) and binary store. */
function runChild(
	baseUrl: string,
	binaryDir: string,
	step: Step,
	sizeMB: number,
	extra: { file?: string; items?: INodeExecutionData[] } = {},
): Promise<{ rows: Row[]; items?: INodeExecutionData[] }> {
	return new Promise((resolve, reject) => {
		const args = [...process.execArgv, __filename, '--child', step, '--size', String(sizeMB), ...(extra.file ? ['--file', extra.file] : [])];
		const child = spawn(process.execPath, args, {
			cwd: ROOT,
			stdio: ['ignore', 'pipe', 'inherit'],
			env: {
				...process.env,
				BENCH_EMULATOR_URL: baseUrl,
				BENCH_BINARY_DIR: binaryDir,
				...(extra.items ? { BENCH_ITEMS: JSON.stringify(extra.items) } : {}),
			},
		});
		let out = '';
		child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		child.once('exit', (code) => {
			const line = out.split('\n').find((candidate) => candidate.startsWith('BENCH_STEP '));
			if (code !== 0 || !line) reject(new Error(`step ${step} ${sizeMB} MB failed (exit ${code})\n${out}`));
			else resolve(JSON.parse(line.slice('BENCH_STEP '.length)) as { rows: Row[]; items?: INodeExecutionData[] });
		});
	});
}

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<boolean> {
	const child = argValue('child');
	if (child) {
		const input = process.env.BENCH_ITEMS ? (JSON.parse(process.env.BENCH_ITEMS) as INodeExecutionData[]) : undefined;
		const result = await measureStep(connectEmulator(process.env.BENCH_EMULATOR_URL!), child as Step, Number(argValue('size')), argValue('file'), input);
		console.log(`BENCH_STEP ${JSON.stringify(result)}`);
		return true;
	}

	const sizes = (argValue('sizes') ?? '50,200').split(',').map((size) => Number(size.trim())).filter((size) => size > 0);
	const scratch = mkdtempSync(join(tmpdir(), 'nemovideo-bench-'));
	removeOnExit(scratch);
	const binaryDir = join(scratch, 'binaryData');
	const emulator = await startEmulator({ renderMs: 200, sseEventDelayMs: 5 });
	const rows: Row[] = [];
	for (const size of sizes) {
		const file = join(scratch, `photo-${size}mb.jpg`);
		makeJpeg(file, size * MB);
		const read = await runChild(emulator.baseUrl, binaryDir, 'read', size, { file });
		rows.push(...read.rows);
		rows.push(...(await runChild(emulator.baseUrl, binaryDir, 'upload', size, { items: read.items })).rows);
	}
	for (const size of sizes) rows.push(...(await runChild(emulator.baseUrl, binaryDir, 'download', size)).rows);
	await emulator.stop();

	// Sampler check: a 100 MB buffer held while sampling must show as about 100 MB of growth.
	const sampler = new RssSampler();
	const checkBaseline = await sampler.start();
	const held = Buffer.alloc(100 * MB, 1);
	await new Promise((done) => setTimeout(done, 50));
	const checkGrowth = (await sampler.stop()) - checkBaseline;
	if (held[held.length - 1] !== 1) throw new Error('unreachable');
	await sampler.close();

	const rate = (row: Row) => (row.sizeBytes / MB / (row.transferMs / 1000)).toFixed(0);
	printTable(
		`Upload and download through the nodes (emulator in a child process; Node ${process.version}, gc ${global.gc ? 'exposed' : 'NOT exposed'})`,
		['step', 'whose', 'size MB', 'baseline RSS MB', 'peak RSS MB', 'growth MB', 'node time s', 'transfer s', 'MB/s'],
		rows.map((row) => [
			row.step,
			row.part,
			mb(row.sizeBytes),
			mb(row.baselineRss),
			mb(row.peakRss),
			mb(row.peakRss - row.baselineRss),
			seconds(row.nodeMs),
			seconds(row.transferMs),
			rate(row),
		]),
	);
	console.log('Each upload/download step ran in a fresh process, warmed up with a small pipeline first.');
	console.log('growth = peak RSS during the node minus RSS just before it (after GC), sampled every 10 ms on a worker thread.');
	console.log('transfer = upload: from the request reaching the emulator to the node ending; download: from the CDN request');
	console.log('to the node ending. Export & Wait node time includes the first status poll (2.8 s after the render starts).');
	console.log(`Sampler check: holding a 100 MB Buffer shows as ${mb(checkGrowth)} MB of growth.\n`);

	const ours = rows.filter((row) => row.part === 'package');
	const maxGrowth = Math.max(...ours.map((row) => row.peakRss - row.baselineRss));
	const goalMet = maxGrowth < GOAL_BYTES;
	console.log(`Goal: growth < 64 MB for every Upload / download step, whatever the size: ${goalMet ? 'MET' : 'NOT MET'} (worst ${mb(maxGrowth)} MB)`);
	summary('upload-download', {
		gcExposed: Boolean(global.gc),
		goalMet,
		maxGrowthMB: Number(mb(maxGrowth)),
		samplerCheck100MB: Number(mb(checkGrowth)),
		steps: rows.map((row) => ({
			step: row.step,
			part: row.part,
			sizeMB: Number(mb(row.sizeBytes)),
			growthMB: Number(mb(row.peakRss - row.baselineRss)),
			nodeSeconds: Number(seconds(row.nodeMs)),
			MBps: Number(rate(row)),
		})),
	});
	return true;
}

runMain(main);
