/**
 * Issue 3 and issue 19 benchmark: NemoVideo Upload (one 50 MB and one 200 MB file, and a folder of 50 photos of
 * 4 MB) and NemoVideo Export & Wait's download (a 50 MB and a 200 MB result), through the real nodes in
 * n8n-core's engine, over real HTTP to the emulator running in a child process (its memory is not counted), each
 * side by side with a raw reference moving the same bytes to the same emulator process (reference.ts: curl, or
 * Node's http when curl is missing): the same file POSTed as the same multipart field (`files`) with the same
 * headers to the same upload endpoint, one raw POST per 10 photos for the folder, and the same result GET into a
 * file. Reference and node runs alternate (reference, node, reference, node, …), so a machine busy with other
 * work slows both sides of a pair alike; each pair gives a ratio of speeds (reference time / node time: 1.00 = as
 * fast as the raw client), and the table their median and spread.
 *
 * Where the time goes, for each node run: its process's CPU time and full garbage collections, the emulator's CPU
 * time beside the reference's, and the same transfer again right after, in the same n8n process, with plain
 * undici (an upload's files read straight from disk, no form-data and no binary store; a download's chunks
 * dropped, no binary store): what the package's own path costs over the plainest client in the same process.
 *
 *   npm run bench -- upload-download -- --sizes 200 --pairs 5
 *   options: --sizes 50,200 (MB)  --pairs 3  --photos 50  --photo-mb 4  --reference curl|node-http
 *            --figures upload,folder,download (which to measure; all by default)
 *            --profile DIR (a CPU profile of each node run into DIR, to see where its time goes)
 *            --node-args "--trace-gc …" (more Node flags for the node runs; what they print goes to stderr)
 *
 * Each node run is a fresh process of its own, warmed up first with a whole small pipeline (modules, JIT,
 * connection pools), so memory one run leaves behind cannot hide the next one's growth. In it: the baseline RSS
 * after GC, then the peak RSS while the node runs, sampled every 10 ms on a worker thread; growth = peak -
 * baseline. Before the uploads, a Read Files step (in its own process, measured separately: that part is
 * n8n's, not this package's) puts the files into n8n's binary store (filesystem mode, a folder the processes
 * share); the reference POSTs those same stored files. Goals: upload and download each >= 0.8x the reference
 * (median of the pairs); memory growth < 64 MB whatever the size.
 */
import './resolve-ts';
import '../test/harness/env';
import './binary-dir';

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { join } from 'node:path';

import type { INodeExecutionData } from 'n8n-workflow';

import { apiHeaders } from '../nodes/shared/transport/headers';
import { request } from '../nodes/shared/vendor';
import { Harness } from '../test/harness';
import {
	MB,
	PHOTOS,
	ROOT,
	RssSampler,
	TOKEN,
	connectEmulator,
	mb,
	median,
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
import type { ReferenceClient, ReferenceTransfer } from './reference';
import { chooseReference, referenceDownload, referenceUpload, undiciUpload } from './reference';

const MEMORY_GOAL_BYTES = 64 * MB;
const RATIO_GOAL = 0.8;

/** One measured run of a node, in its own process. */
interface NodeRun {
	sizeBytes: number;
	baselineRss: number;
	peakRss: number;
	nodeMs: number;
	transferMs: number;
	/** CPU time of the whole process (user + system, all threads) while the node ran. */
	cpuMs: number;
	/** Full garbage collections (mark-compact) while the node ran, and the pauses of all collections. */
	majorGcs: number;
	gcPauseMs: number;
	/** CPU time of the emulator's processes meanwhile (receiving, answering). */
	emulatorCpuMs: number;
	/**
	 * The same transfer again, right after, in the same process with plain undici: an upload's files read straight
	 * from disk (no form-data, no binary store), a download's chunks dropped as they arrive (no store).
	 */
	plain?: { ms: number; majorGcs: number };
}

function argValue(name: string): string | undefined {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : undefined;
}

/** Where n8n's binary store (filesystem mode, in `binaryDir`) keeps an item's file. */
function storedPath(binaryDir: string, item: INodeExecutionData): string {
	return join(binaryDir, String(item.binary!.data.id).split(':')[1]);
}

/** A file of `bytes` bytes: JPEG magic bytes, then the filler byte `fill`, written 1 MB at a time. */
function makeJpeg(path: string, bytes: number, fill = 0x5a): void {
	const fd = openSync(path, 'w');
	try {
		const chunk = Buffer.alloc(MB, fill);
		chunk.set([0xff, 0xd8, 0xff, 0xe0], 0);
		for (let written = 0; written < bytes; ) {
			const length = Math.min(MB, bytes - written);
			writeSync(fd, chunk, 0, length, written);
			if (written === 0) chunk.fill(fill, 0, 4);
			written += length;
		}
	} finally {
		closeSync(fd);
	}
}

// ------------------------------------------------------------------------------------------------ one node run (child)

type Step = 'read' | 'upload' | 'download';

/**
 * Runs in a child: warm up, then measure one step. `read` puts `files` into the (shared) binary store and returns
 * the items; `upload` sends those items with NemoVideo Upload (10 files a request); `download` runs Export & Wait.
 */
async function measureStep(
	emulator: EmulatorProcess,
	step: Step,
	sizeMB: number,
	files?: string[],
	input?: INodeExecutionData[],
): Promise<{ run: NodeRun; items?: INodeExecutionData[] }> {
	const harness = new Harness();
	harness.credentials.set('cred-1', { baseUrl: emulator.baseUrl, accessToken: TOKEN });
	const sampler = new RssSampler();

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

	try {
		if (step === 'read') {
			// n8n's part: Read Files streams the files into the binary store.
			const baseline = await sampler.start();
			const meter = new ProcessMeter(emulator);
			meter.start();
			const read = await harness.run({ nodes: [readFilesNode(files!)] });
			const used = meter.stop();
			const peak = await sampler.stop();
			if (read.error) throw read.error;
			const items = read.output('Read Files').map((item) => ({ json: item.json, binary: item.binary }));
			const sizeBytes = items.reduce((sum, item) => sum + Number(item.binary?.data.bytes ?? 0), 0);
			const timing = nodeTiming(read.run, 'Read Files');
			return { run: { sizeBytes, baselineRss: baseline, peakRss: peak, nodeMs: timing.ms, transferMs: timing.ms, ...used }, items };
		}
		if (step === 'upload') {
			if (process.env.TWICE) await measureUpload(harness, emulator, sampler, input!);
			return { run: await measureUpload(harness, emulator, sampler, input!) };
		}
		if (process.env.TWICE) await measureDownload(harness, emulator, sampler, sessionId, sizeMB * MB);
		return { run: await measureDownload(harness, emulator, sampler, sessionId, sizeMB * MB) };
	} finally {
		await sampler.close();
	}
}

/** The process's CPU time and garbage collections between start() and stop(). */
class ProcessMeter {
	private cpu = process.cpuUsage();

	private emulatorCpu = 0;

	private majorGcs = 0;

	private gcPauseMs = 0;

	private readonly observer = new PerformanceObserver((list) => {
		for (const entry of list.getEntries()) {
			this.gcPauseMs += entry.duration;
			if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.majorGcs++;
		}
	});

	constructor(private readonly emulator: EmulatorProcess) {}

	start(): void {
		this.observer.observe({ entryTypes: ['gc'] });
		this.cpu = process.cpuUsage();
		this.emulatorCpu = this.emulator.cpuMs();
	}

	stop(): { cpuMs: number; majorGcs: number; gcPauseMs: number; emulatorCpuMs: number } {
		const used = process.cpuUsage(this.cpu);
		const emulatorCpuMs = this.emulator.cpuMs() - this.emulatorCpu;
		for (const entry of this.observer.takeRecords()) this.gcPauseMs += entry.duration;
		this.observer.disconnect();
		return { cpuMs: (used.user + used.system) / 1000, majorGcs: this.majorGcs, gcPauseMs: this.gcPauseMs, emulatorCpuMs };
	}
}

/** Upload of the items into a new session; transfer = from the first upload request reaching the emulator to the node's end. */
async function measureUpload(harness: Harness, emulator: EmulatorProcess, sampler: RssSampler, input: INodeExecutionData[]): Promise<NodeRun> {
	const sizeBytes = input.reduce((sum, item) => sum + Number(item.binary?.data.bytes ?? 0), 0);
	const since = await emulator.lastSeq();
	const baseline = await sampler.start();
	const meter = new ProcessMeter(emulator);
	meter.start();
	const upload = await harness.run({ input, nodes: [{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '' } }] });
	const used = meter.stop();
	const peak = await sampler.stop();
	if (upload.error) throw upload.error;
	const timing = nodeTiming(upload.run, 'Upload');
	const requests = await emulator.requests(since, 'upload');
	const received = requests.flatMap((request) => request.files ?? []);
	const bytes = received.reduce((sum, file) => sum + file.bytes, 0);
	if (received.length !== input.length || bytes !== sizeBytes) {
		throw new Error(`the emulator received ${received.length} files, ${bytes} bytes, not ${input.length} files, ${sizeBytes} bytes`);
	}
	const plain = await sendPlain(emulator, `${emulator.baseUrl}${requests[0].path}`, input);
	return { sizeBytes, baselineRss: baseline, peakRss: peak, nodeMs: timing.ms, transferMs: timing.end - requests[0].at, ...used, plain };
}

/** The upload again with plain undici (reference.ts, undiciUpload), 10 files a request as the node sends them. */
async function sendPlain(emulator: EmulatorProcess, url: string, input: INodeExecutionData[]): Promise<{ ms: number; majorGcs: number }> {
	const files = input.map((item, index) => ({ path: storedPath(process.env.N8N_BINARY_DATA_STORAGE_PATH!, item), fileName: `photo-${index}.jpg`, mimeType: 'image/jpeg' }));
	const meter = new ProcessMeter(emulator);
	meter.start();
	let ms = 0;
	for (let start = 0; start < files.length; start += 10) {
		const sent = await undiciUpload(url, REFERENCE_HEADERS, files.slice(start, start + 10));
		if (sent.status !== 200) throw new Error(`the plain upload got HTTP ${sent.status}: ${sent.body}`);
		ms += sent.ms;
	}
	return { ms, majorGcs: meter.stop().majorGcs };
}

/** Export & Wait with download on: the emulator serves a synthetic MP4 of exactly `bytes`, streamed from the CDN. */
async function measureDownload(harness: Harness, emulator: EmulatorProcess, sampler: RssSampler, sessionId: string, bytes: number): Promise<NodeRun> {
	await emulator.admin('POST', '/config', { outputSizeBytes: bytes });
	const since = await emulator.lastSeq();
	const baseline = await sampler.start();
	const meter = new ProcessMeter(emulator);
	meter.start();
	const exported = await harness.run({ input: [{ json: { sessionId } }], nodes: [{ type: 'nemoVideoExport', name: 'Export', parameters: {} }] });
	const used = meter.stop();
	const peak = await sampler.stop();
	if (exported.error) throw exported.error;
	const binary = exported.output('Export')[0].binary?.data;
	const stored = binary?.id ? Number(binary.bytes) : -1; // n8n's store sets it from the bytes it wrote
	if (stored !== bytes || binary?.mimeType !== 'video/mp4') throw new Error(`the stored video has ${stored} bytes, not ${bytes}`);
	rmSync(join(process.env.N8N_BINARY_DATA_STORAGE_PATH!, binary.id!.split(':')[1]), { force: true });
	const timing = nodeTiming(exported.run, 'Export');
	const cdn = (await emulator.requests(since, 'cdn'))[0];
	const plain = await receiveAndDrop(emulator, `http://${cdn.headers.host}${cdn.path}`);
	return { sizeBytes: bytes, baselineRss: baseline, peakRss: peak, nodeMs: timing.ms, transferMs: timing.end - cdn.at, ...used, plain };
}

/**
 * Where a download's time goes: the same file fetched again in the same n8n process with the package's HTTP
 * client (undici), each chunk dropped as it arrives. The difference to the node's time is what storing it costs.
 */
async function receiveAndDrop(emulator: EmulatorProcess, url: string): Promise<{ ms: number; majorGcs: number }> {
	const meter = new ProcessMeter(emulator);
	meter.start();
	const started = performance.now();
	const response = await request(url);
	await new Promise<void>((done, fail) => {
		response.body.on('data', () => {});
		response.body.once('end', done);
		response.body.once('error', fail);
	});
	const ms = performance.now() - started;
	return { ms, majorGcs: meter.stop().majorGcs };
}

/** Runs one step in a fresh process with the same Node flags (tsx loader, --expose-gc) and binary store. */
function runChild(
	emulator: EmulatorProcess,
	binaryDir: string,
	step: Step,
	sizeMB: number,
	extra: { files?: string[]; items?: INodeExecutionData[] } = {},
): Promise<{ run: NodeRun; items?: INodeExecutionData[] }> {
	return new Promise((resolve, reject) => {
		const profile = argValue('profile') ? ['--cpu-prof', '--cpu-prof-dir', argValue('profile')!] : [];
		const nodeArgs = (argValue('node-args') ?? '').split(' ').filter(Boolean);
		const args = [...process.execArgv, ...profile, ...nodeArgs, __filename, '--child', step, '--size', String(sizeMB)];
		const child = spawn(process.execPath, args, {
			cwd: ROOT,
			stdio: ['ignore', 'pipe', 'inherit'],
			env: {
				...process.env,
				BENCH_EMULATOR_URL: emulator.baseUrl,
				BENCH_EMULATOR_PID: String(emulator.pid ?? ''),
				BENCH_BINARY_DIR: binaryDir,
				...(extra.files ? { BENCH_FILES: JSON.stringify(extra.files) } : {}),
				...(extra.items ? { BENCH_ITEMS: JSON.stringify(extra.items) } : {}),
			},
		});
		let out = '';
		child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
		if (nodeArgs.length) child.stdout.on('data', (chunk: Buffer) => process.stderr.write(chunk));
		child.once('exit', (code) => {
			const line = out.split('\n').find((candidate) => candidate.startsWith('BENCH_STEP '));
			if (code !== 0 || !line) reject(new Error(`step ${step} ${sizeMB} MB failed (exit ${code})\n${out}`));
			else resolve(JSON.parse(line.slice('BENCH_STEP '.length)) as { run: NodeRun; items?: INodeExecutionData[] });
		});
	});
}

// ------------------------------------------------------------------------------------------------ the raw reference

/** The API's paths the reference calls (docs/nemovideo-api.md, Endpoints 2, 4, 7 and 8). */
const API = {
	session: '/api/tasks/me/with-session/nemo_agent',
	upload: (sessionId: string) => `/api/upload-video/nemo_agent/me/${sessionId}`,
	render: '/api/render/proxy/lambda',
};

/** The headers every request of the nodes carries: the bearer token and the attribution headers. */
const REFERENCE_HEADERS = apiHeaders({ token: TOKEN });

async function apiCall<T>(emulator: EmulatorProcess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
	const response = await fetch(`${emulator.baseUrl}${path}`, {
		method,
		headers: { ...REFERENCE_HEADERS, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const answer = (await response.json()) as { code?: number; data?: T } & T;
	if (!response.ok || (answer.code !== undefined && answer.code !== 0)) throw new Error(`${method} ${path}: ${JSON.stringify(answer)}`);
	return answer.data ?? answer;
}

/** A new session, for one reference upload (the node's Upload makes its own, as it does with no Session ID). */
async function newSession(emulator: EmulatorProcess): Promise<string> {
	return (await apiCall<{ session_id: string }>(emulator, 'POST', API.session, { task_name: 'project', language: 'en' })).session_id;
}

/** POSTs the stored files, `perRequest` to a request as the Upload node sends them; the time is the requests' sum. */
async function rawUpload(
	client: ReferenceClient,
	emulator: EmulatorProcess,
	paths: string[],
	perRequest: number,
): Promise<ReferenceTransfer> {
	const sessionId = await newSession(emulator);
	const since = await emulator.lastSeq();
	let ms = 0;
	for (let start = 0; start < paths.length; start += perRequest) {
		const batch = paths.slice(start, start + perRequest).map((path, index) => ({ path, fileName: `photo-${start + index}.jpg`, mimeType: 'image/jpeg' }));
		const sent = await referenceUpload(client, `${emulator.baseUrl}${API.upload(sessionId)}`, REFERENCE_HEADERS, batch);
		if (sent.status !== 200) throw new Error(`the reference upload got HTTP ${sent.status}: ${sent.body}`);
		ms += sent.ms;
	}
	const received = (await emulator.requests(since, 'upload')).flatMap((request) => request.files ?? []);
	return { ms, status: 200, bytes: received.reduce((sum, file) => sum + file.bytes, 0) };
}

/** A finished render of exactly `bytes` (the emulator's synthetic MP4), made through the API; its CDN URL. */
async function rawRender(emulator: EmulatorProcess, bytes: number): Promise<string> {
	await emulator.admin('POST', '/config', { outputSizeBytes: bytes });
	const sessionId = await newSession(emulator);
	const id = `render_reference_${Date.now()}`;
	const draft = { t: [{ sg: [{}] }] }; // one track with one segment: the least the render start accepts
	await apiCall(emulator, 'POST', API.render, { id, sessionId, draft, output: { format: 'mp4', quality: 'high' } });
	for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
		const status = await apiCall<{ status: string; output?: { url: string } }>(emulator, 'GET', `${API.render}/${id}`);
		if (status.status === 'completed' && status.output) return status.output.url;
		await new Promise((done) => setTimeout(done, 100));
	}
	throw new Error('the reference render did not finish within 30 s');
}

// ------------------------------------------------------------------------------------------------ pairs

/** One figure measured in pairs: the reference's and the node's times, pair by pair. */
interface Figure {
	name: string;
	kind: 'upload' | 'download' | 'folder';
	bytes: number;
	referenceMs: number[];
	/** The emulator's CPU time during each reference transfer. */
	referenceEmulatorCpuMs: number[];
	nodeRuns: NodeRun[];
}

/** Runs `pairs` pairs, reference first in each. */
async function measurePairs(
	emulator: EmulatorProcess,
	figure: Omit<Figure, 'referenceMs' | 'referenceEmulatorCpuMs' | 'nodeRuns'>,
	pairs: number,
	reference: () => Promise<ReferenceTransfer>,
	node: () => Promise<NodeRun>,
): Promise<Figure> {
	const result: Figure = { ...figure, referenceMs: [], referenceEmulatorCpuMs: [], nodeRuns: [] };
	for (let pair = 1; pair <= pairs; pair++) {
		const emulatorCpu = emulator.cpuMs();
		const raw = await reference();
		result.referenceEmulatorCpuMs.push(emulator.cpuMs() - emulatorCpu);
		if (raw.bytes < figure.bytes) throw new Error(`${figure.name}: the reference moved ${raw.bytes} bytes, not ${figure.bytes}`);
		result.referenceMs.push(raw.ms);
		const run = await node();
		result.nodeRuns.push(run);
		const ratio = raw.ms / run.transferMs;
		const emulatorCpus = `emulator CPU ${seconds(result.referenceEmulatorCpuMs[pair - 1])} / ${seconds(run.emulatorCpuMs)} s`;
		const plain = run.plain ? `; plain undici in that process ${seconds(run.plain.ms)} s, ${run.plain.majorGcs} full GCs` : '';
		const nodeCpu = `node CPU ${seconds(run.cpuMs)} s, ${run.majorGcs} full GCs${plain}`;
		console.log(`  ${figure.name}, pair ${pair}: reference ${seconds(raw.ms)} s, node ${seconds(run.transferMs)} s, ratio ${ratio.toFixed(2)} (${nodeCpu}; ${emulatorCpus})`);
	}
	return result;
}

const rate = (bytes: number, ms: number) => (bytes / MB / (ms / 1000)).toFixed(0);

/** Each pair's ratio (node speed / reference speed: reference time / node time), their median and spread. */
function ratios(figure: Figure): { each: number[]; median: number; low: number; high: number } {
	const each = figure.referenceMs.map((ms, index) => ms / figure.nodeRuns[index].transferMs);
	return { each, median: median(each), low: Math.min(...each), high: Math.max(...each) };
}

/** The same for plain undici in the node's process (NodeRun.plain). */
function plainRatio(figure: Figure): number {
	return median(figure.referenceMs.map((ms, index) => ms / (figure.nodeRuns[index].plain?.ms ?? Number.NaN)));
}

const growth = (run: NodeRun) => run.peakRss - run.baselineRss;

// ------------------------------------------------------------------------------------------------ main

async function main(): Promise<boolean> {
	const child = argValue('child');
	if (child) {
		const input = process.env.BENCH_ITEMS ? (JSON.parse(process.env.BENCH_ITEMS) as INodeExecutionData[]) : undefined;
		const files = process.env.BENCH_FILES ? (JSON.parse(process.env.BENCH_FILES) as string[]) : undefined;
		const emulatorPid = Number(process.env.BENCH_EMULATOR_PID) || undefined;
		const result = await measureStep(connectEmulator(process.env.BENCH_EMULATOR_URL!, undefined, emulatorPid), child as Step, Number(argValue('size')), files, input);
		console.log(`BENCH_STEP ${JSON.stringify(result)}`);
		return true;
	}

	const sizes = (argValue('sizes') ?? '50,200').split(',').map((size) => Number(size.trim())).filter((size) => size > 0);
	const pairs = Math.max(1, Number(argValue('pairs') ?? 3));
	const photos = Number(argValue('photos') ?? 50);
	const wanted = (argValue('figures') ?? 'upload,folder,download').split(',').map((name) => name.trim());
	const photoMB = Number(argValue('photo-mb') ?? 4);
	const client = chooseReference(argValue('reference'));
	const scratch = mkdtempSync(join(tmpdir(), 'nemovideo-bench-'));
	removeOnExit(scratch);
	const binaryDir = join(scratch, 'binaryData');
	const stored = (item: INodeExecutionData) => storedPath(binaryDir, item);
	const emulator = await startEmulator({ renderMs: 200, sseEventDelayMs: 5 });
	const node = (step: Step, sizeMB: number, extra: { files?: string[]; items?: INodeExecutionData[] } = {}) => runChild(emulator, binaryDir, step, sizeMB, extra);
	console.log(`Reference client: ${client}; ${pairs} pairs a figure, reference first.`);

	const reads: Array<{ name: string; run: NodeRun }> = [];
	const figures: Figure[] = [];
	for (const size of wanted.includes('upload') ? sizes : []) {
		const file = join(scratch, `photo-${size}mb.jpg`);
		makeJpeg(file, size * MB);
		const read = await node('read', size, { files: [file] });
		reads.push({ name: `Read Files ${size} MB into the binary store`, run: read.run });
		const files = [stored(read.items![0])];
		const figure = { name: `Upload ${size} MB`, kind: 'upload' as const, bytes: size * MB };
		figures.push(await measurePairs(emulator, figure, pairs, () => rawUpload(client, emulator, files, 10), async () => (await node('upload', size, { items: read.items })).run));
	}
	if (wanted.includes('folder') && photos > 0) {
		const files = Array.from({ length: photos }, (_, index) => join(scratch, `folder-${index}.jpg`));
		files.forEach((file, index) => makeJpeg(file, photoMB * MB, index % 256));
		const read = await node('read', photoMB, { files });
		reads.push({ name: `Read Files ${photos} photos of ${photoMB} MB`, run: read.run });
		const paths = read.items!.map(stored);
		const figure = { name: `Upload ${photos} photos of ${photoMB} MB (10 a request)`, kind: 'folder' as const, bytes: photos * photoMB * MB };
		figures.push(await measurePairs(emulator, figure, pairs, () => rawUpload(client, emulator, paths, 10), async () => (await node('upload', photoMB, { items: read.items })).run));
	}
	for (const size of wanted.includes('download') ? sizes : []) {
		const url = await rawRender(emulator, size * MB);
		const into = join(scratch, 'reference-download.mp4');
		const reference = async () => {
			const got = await referenceDownload(client, url, into);
			rmSync(into, { force: true });
			if (got.status !== 200) throw new Error(`the reference download got HTTP ${got.status}`);
			return got;
		};
		const figure = { name: `Download ${size} MB (Export & Wait)`, kind: 'download' as const, bytes: size * MB };
		figures.push(await measurePairs(emulator, figure, pairs, reference, async () => (await node('download', size)).run));
	}
	await emulator.stop();
	return report(client, pairs, figures, reads, await samplerCheck());
}

/** A 100 MB buffer held while sampling must show as about 100 MB of growth. */
async function samplerCheck(): Promise<number> {
	const sampler = new RssSampler();
	const checkBaseline = await sampler.start();
	const held = Buffer.alloc(100 * MB, 1);
	await new Promise((done) => setTimeout(done, 50));
	const checkGrowth = (await sampler.stop()) - checkBaseline;
	if (held[held.length - 1] !== 1) throw new Error('unreachable');
	await sampler.close();
	return checkGrowth;
}

function report(client: ReferenceClient, pairs: number, figures: Figure[], reads: Array<{ name: string; run: NodeRun }>, checkGrowth: number): boolean {
	printTable(
		`Node / raw reference (${client}), ${pairs} interleaved pairs a figure, one emulator process (Node ${process.version})`,
		['figure', 'reference MB/s', 'node MB/s', 'ratio (median of pairs)', 'pairs\' ratios', 'goal', 'plain undici, same process', 'full GCs node / plain'],
		figures.map((figure) => {
			const ratio = ratios(figure);
			const gcs = (pick: (run: NodeRun) => number) => median(figure.nodeRuns.map(pick)).toFixed(1);
			return [
				figure.name,
				rate(figure.bytes, median(figure.referenceMs)),
				rate(figure.bytes, median(figure.nodeRuns.map((run) => run.transferMs))),
				ratio.median.toFixed(2),
				`${ratio.low.toFixed(2)} to ${ratio.high.toFixed(2)}`,
				`>= ${RATIO_GOAL}: ${ratio.median >= RATIO_GOAL ? 'met' : 'NOT met'}`,
				plainRatio(figure).toFixed(2),
				`${gcs((run) => run.majorGcs)} / ${gcs((run) => run.plain?.majorGcs ?? Number.NaN)}`,
			];
		}),
	);
	console.log('ratio = reference time / node time in each pair (1.00 = as fast as the raw client); the goal is on their median.');
	console.log('plain undici, same process: the same transfer right after each node run, in its n8n process, with plain undici');
	console.log('(upload: files read from disk, no form-data or binary store; download: chunks dropped, no binary store), as a');
	console.log('ratio to the reference like the node\'s (median of pairs). full GCs: V8 mark-compacts during each (medians).');
	console.log('MB/s = bytes / median transfer time. Reference: the client\'s own time from sending the request to the last');
	console.log('byte of the answer. Node: from the first request reaching the emulator to the node\'s end (the answer read,');
	console.log('the video in the binary store). The folder\'s reference is the sum of its raw POSTs, 10 photos each.\n');

	printTable(
		`Memory of the node runs (each in a fresh process, warmed up with a small pipeline first; gc ${global.gc ? 'exposed' : 'NOT exposed'})`,
		['step', 'whose', 'size MB', 'baseline RSS MB', 'worst growth MB', 'median node time s', 'median transfer s'],
		[
			...reads.map(({ name, run }) => [name, 'n8n', mb(run.sizeBytes), mb(run.baselineRss), mb(growth(run)), seconds(run.nodeMs), seconds(run.transferMs)]),
			...figures.map((figure) => [
				figure.name,
				'package',
				mb(figure.bytes),
				mb(median(figure.nodeRuns.map((run) => run.baselineRss))),
				mb(Math.max(...figure.nodeRuns.map(growth))),
				seconds(median(figure.nodeRuns.map((run) => run.nodeMs))),
				seconds(median(figure.nodeRuns.map((run) => run.transferMs))),
			]),
		],
	);
	console.log('growth = peak RSS during the node minus RSS just before it (after GC), sampled every 10 ms on a worker thread.');
	console.log('Export & Wait node time includes the first status poll (2.8 s after the render starts).');
	console.log(`Sampler check: holding a 100 MB Buffer shows as ${mb(checkGrowth)} MB of growth.\n`);

	const maxGrowth = Math.max(...figures.flatMap((figure) => figure.nodeRuns.map(growth)));
	const memoryMet = maxGrowth < MEMORY_GOAL_BYTES;
	const ratiosMet = figures.every((figure) => ratios(figure).median >= RATIO_GOAL);
	console.log(`Goal: every ratio >= ${RATIO_GOAL}: ${ratiosMet ? 'MET' : 'NOT MET'}; growth < 64 MB for every node run: ${memoryMet ? 'MET' : 'NOT MET'} (worst ${mb(maxGrowth)} MB)`);
	summary('upload-download', {
		gcExposed: Boolean(global.gc),
		goalMet: memoryMet && ratiosMet,
		reference: client,
		pairs,
		maxGrowthMB: Number(mb(maxGrowth)),
		samplerCheck100MB: Number(mb(checkGrowth)),
		figures: figures.map((figure) => {
			const ratio = ratios(figure);
			return {
				figure: figure.name,
				ratio: Number(ratio.median.toFixed(2)),
				pairRatios: ratio.each.map((each) => Number(each.toFixed(2))),
				referenceMBps: Number(rate(figure.bytes, median(figure.referenceMs))),
				nodeMBps: Number(rate(figure.bytes, median(figure.nodeRuns.map((run) => run.transferMs)))),
				worstGrowthMB: Number(mb(Math.max(...figure.nodeRuns.map(growth)))),
				plainUndiciRatio: Number(plainRatio(figure).toFixed(2)),
				nodeFullGcs: median(figure.nodeRuns.map((run) => run.majorGcs)),
				nodeCpuSeconds: Number(seconds(median(figure.nodeRuns.map((run) => run.cpuMs)))),
			};
		}),
	});
	return true;
}

runMain(main);
