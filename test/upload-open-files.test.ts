/**
 * Issue 16, point 7: a failed upload must not leave files of n8n's binary store open. NemoVideo Upload runs through
 * n8n-core against the emulator, in a loop, each time failing at the transport level (the connection reset in the
 * middle of the body, dropped as the request arrives, refused by the service's address or by a proxy that is not
 * there, a proxy variable that is not a URL, the execution cancelled while the body is being sent); afterwards this process holds no descriptor on the files it
 * uploaded, as before the loop (read from /proc/self/fd; sockets come and go, and other tests' files are not
 * counted: only descriptors pointing to this test's files in the binary store), and none was closed by the garbage
 * collector: Node closes a forgotten file handle when it collects it, with a warning, which would hide a leak
 * from the count whenever a collection happens to run.
 * The files are 4 MB each, so that the body (40 MB) outgrows the socket buffers and a failure comes while it is
 * still being read.
 */
import { closeSync, openSync, readdirSync, readlinkSync, realpathSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeExecutionData } from 'n8n-workflow';

import type { NemoVideoEmulator } from './emulator';
import { scratchFolder, sessionThroughNodes, withEmulator } from './fixtures';
import type { Harness } from './harness';

const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_open_files_token';
const FAILED_UPLOADS = 5;
const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY', 'npm_config_http_proxy', 'npm_config_proxy', 'all_proxy', 'ALL_PROXY'];

let emu: NemoVideoEmulator;
let harness: Harness;
const scratch = scratchFolder('open-files');

withEmulator({ config: { renderMs: 500, sseEventDelayMs: 5 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

/** Where n8n's binary store (filesystem mode) keeps an item's file. */
function storedPath(item: INodeExecutionData): string {
	return join(realpathSync(process.env.N8N_BINARY_DATA_STORAGE_PATH!), String(item.binary!.data.id).split(':')[1]);
}

/** The descriptors of this process open on these stored files, by the paths they point to. */
function openDescriptorsOn(files: string[]): string[] {
	const open: string[] = [];
	for (const fd of readdirSync('/proc/self/fd')) {
		try {
			const target = readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '');
			if (files.includes(target)) open.push(target);
		} catch {
			// closed between the listing and the read
		}
	}
	return open.sort();
}

/** Node's warnings about file handles it closed on garbage collection: each is a descriptor left open. */
const closedByCollector: string[] = [];
const onWarning = (warning: Error) => {
	if (/file descriptor|FileHandle/i.test(warning.message)) closedByCollector.push(warning.message);
};
beforeAll(() => process.on('warning', onWarning));
afterAll(() => process.off('warning', onWarning));
beforeEach(() => (closedByCollector.length = 0));

/**
 * Waits (bounded) until no descriptor is open on the input's files (a stream closes its file a moment after it
 * ends), then checks that none is, and that none was closed by the collector instead.
 */
async function expectNoneOpen(input: INodeExecutionData[], boundMs = 5000): Promise<void> {
	const files = input.map(storedPath);
	const deadline = Date.now() + boundMs;
	while (openDescriptorsOn(files).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
	expect(openDescriptorsOn(files)).toEqual([]);
	expect(closedByCollector).toEqual([]);
}

async function until(what: string, condition: () => boolean, boundMs = 10_000): Promise<void> {
	const deadline = Date.now() + boundMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/** Ten photos of 4 MB (JPEG by their first bytes). */
const LARGE = Array.from({ length: 10 }, (_, index) => join(scratch, `large-${index}.jpg`));
beforeAll(() => {
	for (const path of LARGE) {
		const fd = openSync(path, 'w');
		writeSync(fd, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(4 * 1024 * 1024 - 4, 0x5a)]));
		closeSync(fd);
	}
});

/** The ten photos put into n8n's binary store by Read Files, as the input items of the uploads. */
async function tenStoredFiles(): Promise<INodeExecutionData[]> {
	const paths = LARGE;
	const read = await harness.run({ nodes: [{ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(paths) } }] });
	expect(read.error).toBeUndefined();
	return read.output('Read Files').map((item) => ({ json: {}, binary: item.binary }));
}

const uploadNode = (sessionId = '') => ({ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId } });

/** Runs the Upload `FAILED_UPLOADS` times, each failing through `failure`; none of its files is left open. */
async function failUploadsInALoop(input: INodeExecutionData[], failure: () => void, sessionId = ''): Promise<void> {
	await expectNoneOpen(input);
	for (let attempt = 0; attempt < FAILED_UPLOADS; attempt++) {
		failure();
		const run = await harness.run({ input, nodes: [uploadNode(sessionId)] });
		expect(run.error).toBeDefined();
	}
	await expectNoneOpen(input);
}

describe('a failed upload closes every file it opened from the binary store', () => {
	test('the connection reset in the middle of the body', async () => {
		const input = await tenStoredFiles();
		await failUploadsInALoop(input, () => emu.inject('upload', { kind: 'resetMidBody', afterBytes: 64 * 1024 }));
		expect(emu.requestsTo('upload').every((request) => request.fault === 'resetMidBody')).toBe(true);
	});

	test('the connection dropped as the request arrives', async () => {
		const input = await tenStoredFiles();
		await failUploadsInALoop(input, () => emu.inject('upload', { kind: 'drop' }));
		expect(emu.requestsTo('upload')).toHaveLength(FAILED_UPLOADS);
	});

	test('the service\'s address refusing the connection', async () => {
		const sessionId = await sessionThroughNodes(harness, [PHOTOS[0]], { prompt: false });
		const input = await tenStoredFiles();
		harness.credentials.set('cred-1', { baseUrl: 'http://127.0.0.1:9', accessToken: TOKEN });
		await failUploadsInALoop(input, () => {}, sessionId);
	});

	describe('through a proxy variable', () => {
		const saved: Record<string, string | undefined> = {};
		beforeEach(() => PROXY_VARIABLES.forEach((name) => (saved[name] = process.env[name])));
		afterEach(() => PROXY_VARIABLES.forEach((name) => (saved[name] === undefined ? delete process.env[name] : (process.env[name] = saved[name]))));
		const setProxy = (value: string) => {
			PROXY_VARIABLES.forEach((name) => delete process.env[name]);
			process.env.http_proxy = value;
		};

		test('that points nowhere (connection refused)', async () => {
			const sessionId = await sessionThroughNodes(harness, [PHOTOS[0]], { prompt: false });
			const input = await tenStoredFiles();
			await failUploadsInALoop(input, () => setProxy('http://127.0.0.1:9'), sessionId);
			expect(emu.requestsTo('upload')).toHaveLength(1); // the one that made the session
		});

		test('that is not a URL', async () => {
			const sessionId = await sessionThroughNodes(harness, [PHOTOS[0]], { prompt: false });
			const input = await tenStoredFiles();
			await failUploadsInALoop(input, () => setProxy('http://[not-a-host'), sessionId);
			expect(emu.requestsTo('upload')).toHaveLength(1);
		});
	});

	test('the execution cancelled while the body is being sent', async () => {
		const input = await tenStoredFiles();
		const files = input.map(storedPath);
		await expectNoneOpen(input);
		for (let attempt = 0; attempt < FAILED_UPLOADS; attempt++) {
			const uploads = emu.requestsTo('upload').length;
			emu.inject('upload', { kind: 'slow', delayMs: 60_000 }); // the service takes the request, reads nothing yet
			const handle = harness.start({ input, nodes: [uploadNode()] });
			await until('the upload request', () => emu.requestsTo('upload').length > uploads);
			await until('a file of the body open', () => openDescriptorsOn(files).length > 0);
			handle.cancel();
			expect((await handle.done).error?.message).toMatch(/cancelled/);
		}
		await expectNoneOpen(input);
	});
});
