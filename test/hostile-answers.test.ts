/**
 * Broken or hostile answers end in a clear error within the item's bounds, never a hang or a process out of
 * memory: HTML instead of JSON, truncated JSON, a gigantic body, a Content-Length that lies, an SSE line of
 * megabytes, a stream that never ends. The transport's error table itself: test/transport.test.ts.
 */
import { join } from 'node:path';

import type { NemoVideoEmulator } from './emulator';
import { sessionThroughNodes, withEmulator } from './fixtures';
import type { Harness } from './harness';

const TOKEN = 'nmv_usr_own_hostile_token';
const PHOTOS = [1, 2].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

const readySession = async () => await sessionThroughNodes(harness, PHOTOS);

describe('hostile or broken answers end in a clear error, in bounds', () => {
	const credits = () => harness.run({ nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });

	test('HTML instead of JSON', async () => {
		emu.inject('credits', { kind: 'html' }, 3);
		const run = await credits();
		expect(run.error?.message).toMatch(/service error \(HTTP 502\)/);
	});

	test('truncated JSON', async () => {
		emu.inject('credits', { kind: 'malformedJson' }, 1);
		const run = await credits();
		expect(run.error?.message).toMatch(/could not be read/);
	});

	test('a gigantic body is cut off, not read into memory', async () => {
		emu.inject('credits', { kind: 'hugeBody', bytes: 200 * 1024 * 1024 }, 1);
		const before = process.memoryUsage().rss;
		const started = Date.now();
		const run = await credits();
		expect(run.error?.message).toMatch(/could not be read/);
		expect(run.error?.description).toMatch(/larger than 32 MB/);
		expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
		expect(Date.now() - started).toBeLessThan(10_000);
	});

	test('a Content-Length that lies', async () => {
		emu.inject('credits', { kind: 'lyingContentLength' }, 3);
		const run = await credits();
		expect(run.error?.message).toMatch(/Could not reach|could not be read/);
	});

	test('an SSE line of megabytes ends the stream with a clear error', async () => {
		const sessionId = await readySession();
		emu.inject('sse', { kind: 'sseHugeLine', bytes: 8 * 1024 * 1024 }, 1);
		const run = await harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'again' } }] });
		expect(run.error?.message).toMatch(/did not finish: an event larger than 4 MB/);
		expect(emu.requestsTo('sse')).toHaveLength(2);
	});

	test('a never-ending stream is cut at the timeout', async () => {
		const sessionId = await readySession();
		emu.inject('sse', { kind: 'sseEndless' }, 1);
		const started = Date.now();
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'again', timeoutMinutes: 0.05 } }],
		});
		expect(run.error?.message).toMatch(/did not finish: no end of the answer/);
		// The bound is Generate's smallest timeout, 3 s; without it the stream would run on forever.
		expect(Date.now() - started).toBeLessThan(10_000);
	});
});

describe('answers outside the contract are failures with the service words, not success or waiting (issue 16)', () => {
	const generate = (sessionId: string) => harness.run({ nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId, prompt: 'again' } }] });

	test('a stream that closes cleanly with no event, and no change to the session, fails', async () => {
		const sessionId = await readySession();
		emu.config.sseScenario = 'silent';
		const run = await generate(sessionId);
		expect(run.error?.message).toBe('NemoVideo ended its answer without a word, and the session did not change');
		expect(run.error?.description).toContain('no event at all');
		expect(run.error?.description).toContain(sessionId);
	});

	test('an error envelope inside the stream ({"code":2001}) is "no credits" with the way on', async () => {
		const sessionId = await readySession();
		emu.config.sseScenario = 'envelopeError';
		const run = await generate(sessionId);
		expect(run.error?.message).toBe('No NemoVideo credits left');
		expect(run.error?.description).toMatch(/Top up credits/);
	});

	test('a render status outside the contract ends the wait at once, quoting it and the URL it came with', async () => {
		const sessionId = await readySession();
		emu.inject('renderPoll', { kind: 'jsonOk', data: { status: 'succeeded', url: 'https://cdn.example.com/v.mp4', message: 'all done' } }, 1);
		const started = Date.now();
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoExport', parameters: { sessionId, download: false, pollIntervalSeconds: 0.2, timeoutMinutes: 1 } }],
		});
		expect(Date.now() - started).toBeLessThan(15_000);
		expect(run.error?.description).toContain('status "succeeded"');
		expect(run.error?.description).toContain('"all done"');
		expect(run.error?.description).toContain('https://cdn.example.com/v.mp4');
		expect((run.error?.context?.nemoVideo as { url?: string }).url).toBe('https://cdn.example.com/v.mp4');
	});
});
