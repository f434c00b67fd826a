/**
 * NemoVideo Chat through n8n-core's real engine against the emulator: a Chat Trigger's item
 * (harness/chat-nodes.ts) → NemoVideo Chat. The routing of each phrase, the conversation's session across
 * executions and for two conversations at once (static data saved as n8n saves it; a chat memory), the streamed
 * chunks as n8n's `sendChunk` hook receives them, and every mistake or refusal as a reply with nothing charged.
 */
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import type { NemoVideoEmulator } from './emulator';
import { scratchFolder, withEmulator } from './fixtures';
import type { Harness, WorkflowRun } from './harness';
import { chatHistories } from './harness/chat-nodes';
import { registerToolTypes } from './harness/tool-call';
import type { WorkflowSpec } from './harness/workflow';
import { SeenText } from './helpers';

const PHOTOS = [1, 2, 3].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_chat_subject_token_7741';
const ANON_TOKEN_CREDITS = 30;
const seen = new SeenText();
const scratch = scratchFolder('chat');

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator(
	{ config: { sseEventDelayMs: 2, renderMs: 300 }, ownToken: TOKEN, credentials: { anon: { accessToken: '' } } },
	(fixture) => ({ emu, harness } = fixture),
);
afterAll(() => expect(seen.leaks([TOKEN, ...emu.issuedTokens().map((t) => t.token)])).toEqual([]));

interface Say {
	conversation: string;
	text?: string;
	files?: string[];
	mode?: 'webhook' | 'manual';
	streaming?: boolean;
	memory?: boolean;
	credentialId?: string;
	options?: Record<string, unknown>;
	workflowId?: string;
	on?: Harness;
}

/**
 * One chat message as the Chat Trigger hands it on, to NemoVideo Chat. Conversation ids are the test's own:
 * the node's process-wide record outlives a test (as it outlives an execution).
 */
function spec(say: Say): WorkflowSpec {
	const conversation = `${expect.getState().currentTestName}/${say.conversation}`;
	return {
		mode: say.mode ?? 'webhook',
		streaming: say.streaming,
		credentialId: say.credentialId,
		workflowId: say.workflowId,
		nodes: [
			{ type: 'test.chatMessage', name: 'When chat message received', parameters: { sessionId: conversation, chatInput: say.text ?? '', files: JSON.stringify(say.files ?? []) } },
			{ type: 'nemoVideoChat', name: 'NemoVideo Chat', parameters: { options: { pollIntervalSeconds: 0.2, ...say.options } } },
		],
		subNodes: say.memory ? [{ type: 'test.chatMemory', name: 'Chat Memory', parameters: { stored: true }, to: 1, connection: 'ai_memory' }] : undefined,
	};
}

async function chat(say: Say): Promise<{ run: WorkflowRun; reply: Record<string, unknown> }> {
	const run = seen.run(await (say.on ?? harness).run(spec(say)));
	expect(run.error).toBeUndefined();
	const items = run.output();
	expect(items).toHaveLength(1);
	return { run, reply: items[0].json };
}

const charged = () => emu.requestsTo('sse').length;

/** A second n8n process (or n8n after a restart): its own copy of the package's modules, the same database. */
function restarted(): Harness {
	let other: Harness | undefined;
	jest.isolateModules(() => {
		const isolated = require('./harness') as typeof import('./harness');
		other = new isolated.Harness({ credentials: harness.credentials as never, workflows: harness.workflows as never });
	});
	return other!;
}

describe('routing, through the engine', () => {
	test('photos with a prompt: uploaded into a new session, then the prompt to the AI, and its reply', async () => {
		const { reply } = await chat({ conversation: 'c-photos', text: 'turn these photos into a slideshow', files: PHOTOS });
		expect(reply).toMatchObject({ action: 'generate', conversationId: expect.stringMatching(/\/c-photos$/), sessionId: expect.any(String) });
		expect(reply.output).toMatch(/^Added 3 files to this conversation's video project\.\n\nI've turned your 3 photos into a .*Say "export" when you want the MP4\./s);
		expect(emu.requestsTo('upload')).toHaveLength(1);
		expect(emu.session(reply.sessionId as string)!.messages).toEqual(['turn these photos into a slideshow']);
	});

	test.each(['', 'upload these photos', '上传'])('photos with %j alone: uploaded, a question back, nothing charged', async (text) => {
		const { reply } = await chat({ conversation: 'c-alone', text, files: PHOTOS.slice(0, 2) });
		expect(reply.action).toBe('upload');
		expect(reply.output).toMatch(/Added 2 files.*What video should I make of them\?.*Nothing was charged/s);
		expect(emu.requestsTo('upload')).toHaveLength(1);
		expect(charged()).toBe(0);
	});

	test.each(['credits', '积分', 'balance', '余额'])('%j: the balance, without a message to the AI', async (text) => {
		const { reply } = await chat({ conversation: 'c-credits', text });
		expect(reply).toMatchObject({ action: 'credits', credits: { available: 100_000 } });
		expect(reply.output).toMatch(/You have 100,000 NemoVideo credits/);
		expect(charged()).toBe(0);
	});

	test.each(['status', '状态', 'show tracks'])('%j: the timeline as short text, without a message to the AI', async (text) => {
		await chat({ conversation: 'c-state', text: 'a slideshow', files: PHOTOS });
		const before = charged();
		const { reply } = await chat({ conversation: 'c-state', text });
		expect(reply.action).toBe('state');
		expect(reply.output).toMatch(/^\d+ s timeline .*video: 3 segments.* Say "export" to get the MP4\.$/s);
		expect(charged()).toBe(before);
	});

	test.each(['export', '导出', 'download', 'send me the video'])('%j: rendered, and the link to the MP4, without a message to the AI', async (text) => {
		await chat({ conversation: 'c-export', text: 'a slideshow', files: PHOTOS });
		const before = charged();
		const { reply } = await chat({ conversation: 'c-export', text });
		expect(reply).toMatchObject({ action: 'export', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/renders\//), renderId: expect.any(String) });
		expect(reply.output).toBe(`Your video is ready (2 s): [${String(reply.url)}](${String(reply.url)})`);
		expect(charged()).toBe(before);
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
	});

	test('photos with a command: uploaded, then the command, no message to the AI', async () => {
		const { reply } = await chat({ conversation: 'c-photo-status', text: '状态', files: PHOTOS.slice(0, 1) });
		expect(reply.action).toBe('state');
		expect(reply.output).toMatch(/^Added 1 file.*\n\n.*Tell me what video to make/s);
		expect(charged()).toBe(0);
	});

	test('an edit in the same conversation goes to the same session; the AI saying nothing is told as what changed', async () => {
		const first = await chat({ conversation: 'c-edit', text: 'a slideshow', files: PHOTOS });
		emu.config.sseScenario = 'noText';
		const { reply } = await chat({ conversation: 'c-edit', text: 'make it 9:16' });
		expect(reply.sessionId).toBe(first.reply.sessionId);
		expect(reply.output).toMatch(/canvas .*16:9.*9:16/);
		expect(emu.session(reply.sessionId as string)!.messages).toEqual(['a slideshow', 'make it 9:16']);
	});
});

describe("the conversation's session", () => {
	test('a new conversation that sends text only: no session is made, nothing is charged, the photos are asked for', async () => {
		const { reply } = await chat({ conversation: 'c-new', text: 'make me a video of my holiday' });
		expect(reply.output).toMatch(/This conversation has no video project yet\..*Send me your photos.*Nothing was charged/s);
		expect(reply.sessionId).toBe('');
		expect(emu.requestsTo('session')).toHaveLength(0);
		expect(charged()).toBe(0);
	});

	test('kept in the static data n8n saves: found again after a restart', async () => {
		const first = await chat({ conversation: 'c-restart', text: 'a slideshow', files: PHOTOS });
		const { reply } = await chat({ conversation: 'c-restart', text: 'make it 9:16', on: restarted() });
		expect(reply.sessionId).toBe(first.reply.sessionId);
	});

	test('a manual run (the editor\'s chat) is never saved: after a restart the conversation says what happened', async () => {
		await chat({ conversation: 'c-manual', text: 'a slideshow', files: PHOTOS, mode: 'manual' });
		expect(harness.workflow('wf-test').saves).toBe(0);
		const { reply } = await chat({ conversation: 'c-manual', text: 'make it 9:16', mode: 'manual', on: restarted() });
		expect(reply.output).toMatch(/no video project yet\. If you already sent photos in this conversation, n8n no longer has its link/);
		expect(charged()).toBe(1);
	});

	test('two conversations at once: each its own session, and both kept although each run saves its own copy', async () => {
		const [a, b] = await Promise.all([
			chat({ conversation: 'c-one', text: 'a slideshow', files: PHOTOS.slice(0, 2) }),
			chat({ conversation: 'c-two', text: 'a slideshow', files: PHOTOS.slice(1, 3) }),
		]);
		expect(a.reply.sessionId).not.toBe(b.reply.sessionId);
		const saved = harness.workflow('wf-test').nodeData('NemoVideo Chat') as { conversations: Record<string, { sessionId: string }> };
		expect(saved.conversations).toMatchObject({
			[String(a.reply.conversationId)]: { sessionId: a.reply.sessionId },
			[String(b.reply.conversationId)]: { sessionId: b.reply.sessionId },
		});
		const later = restarted();
		const [a2, b2] = await Promise.all([
			chat({ conversation: 'c-one', text: 'status', on: later }),
			chat({ conversation: 'c-two', text: 'status', on: later }),
		]);
		expect([a2.reply.sessionId, b2.reply.sessionId]).toEqual([a.reply.sessionId, b.reply.sessionId]);
	});

	test('another workflow with the same client-chosen conversation id does not get this session', async () => {
		await chat({ conversation: 'c-shared', text: 'a slideshow', files: PHOTOS });
		const { reply } = await chat({ conversation: 'c-shared', text: 'status', workflowId: 'wf-other' });
		expect(reply.output).toMatch(/no video project yet/);
	});

	describe('with a chat memory connected', () => {
		beforeEach(() => chatHistories.clear());

		test('kept in the conversation\'s history as a hidden message that survives storage; another process finds it', async () => {
			const first = await chat({ conversation: 'm-1', text: 'a slideshow', files: PHOTOS, memory: true });
			const stored = chatHistories.get(String(first.reply.conversationId))!.map((line) => JSON.parse(String(line)) as { type: string; data: { content: string; additional_kwargs: Record<string, unknown> } });
			expect(stored.map((m) => m.type)).toEqual(['ai', 'human', 'ai']);
			expect(stored[0].data.additional_kwargs).toMatchObject({ hideFromUI: true, nemoVideo: { workflowId: 'wf-test', sessionId: first.reply.sessionId } });
			expect(stored[1].data.content).toBe('a slideshow');
			expect(stored[2].data.content).toBe(first.reply.output);
			// No static data: the memory holds it.
			expect(harness.workflow('wf-test').saves).toBe(0);
			const { reply } = await chat({ conversation: 'm-1', text: 'status', memory: true, on: restarted() });
			expect(reply.sessionId).toBe(first.reply.sessionId);
		});

		test('two conversations at once through one memory: each finds its own session', async () => {
			const [a, b] = await Promise.all([
				chat({ conversation: 'm-a', text: 'a slideshow', files: PHOTOS.slice(0, 1), memory: true }),
				chat({ conversation: 'm-b', text: 'a slideshow', files: PHOTOS.slice(1, 2), memory: true }),
			]);
			const [a2, b2] = await Promise.all([
				chat({ conversation: 'm-a', text: 'status', memory: true, on: restarted() }),
				chat({ conversation: 'm-b', text: 'status', memory: true, on: restarted() }),
			]);
			expect(a2.reply.sessionId).toBe(a.reply.sessionId);
			expect(b2.reply.sessionId).toBe(b.reply.sessionId);
			expect(a.reply.sessionId).not.toBe(b.reply.sessionId);
		});

		test('a conversation with earlier messages but no mapping says it was lost, and charges nothing', async () => {
			await chat({ conversation: 'm-lost', text: 'credits', memory: true });
			const { reply } = await chat({ conversation: 'm-lost', text: 'make it 9:16', memory: true });
			expect(reply.output).toMatch(/can't find the video project of this conversation any more.*Nothing was charged/s);
			expect(charged()).toBe(0);
		});
	});
});

describe('streaming (the Chat Trigger in Streaming mode)', () => {
	test("the AI's words go out as they arrive, before its stream has ended; begin first, end last", async () => {
		emu.config.sseEventDelayMs = 60;
		const { run, reply } = await chat({ conversation: 's-1', text: 'a slideshow', files: PHOTOS, streaming: true });
		const { chunks } = run;
		expect(chunks[0].type).toBe('begin');
		expect(chunks[chunks.length - 1].type).toBe('end');
		expect(chunks.every((chunk) => chunk.metadata.nodeName === 'NemoVideo Chat' && chunk.metadata.itemIndex === 0)).toBe(true);
		const items = chunks.filter((chunk) => chunk.type === 'item');
		expect(items.map((chunk) => chunk.content).join('')).toBe(reply.output);
		const firstWords = items.find((chunk) => String(chunk.content).includes("I've turned"))!;
		const stream = emu.requestsTo('sse')[0];
		expect(firstWords.receivedAt).toBeLessThan(stream.endedAt!);
		// The AI's reply came in more than one piece.
		expect(items.filter((chunk) => chunk.receivedAt <= stream.endedAt!).length).toBeGreaterThan(2);
	});

	test('"⏳ Still working…" when only heartbeats come for the notice time', async () => {
		emu.config.sseEventDelayMs = 250;
		const { run, reply } = await chat({ conversation: 's-2', text: 'a slideshow', files: PHOTOS, streaming: true, options: { stillWorkingSeconds: 0.3 } });
		const notices = run.chunks.filter((chunk) => String(chunk.content).includes('⏳ Still working…'));
		expect(notices.length).toBeGreaterThan(0);
		expect(reply.output).not.toMatch(/Still working/);
	});

	test('render progress while exporting, then the link', async () => {
		emu.config.renderMs = 1500;
		await chat({ conversation: 's-3', text: 'a slideshow', files: PHOTOS });
		const { run, reply } = await chat({ conversation: 's-3', text: 'export', streaming: true });
		const texts = run.chunks.map((chunk) => String(chunk.content ?? ''));
		expect(texts.some((text) => /Rendering… \d+%/.test(text))).toBe(true);
		expect(texts.join('')).toContain(`%\n\n${String(reply.output)}`);
	});

	test('Last Node mode: nothing is streamed, the reply is the output', async () => {
		const { run, reply } = await chat({ conversation: 's-4', text: 'credits' });
		expect(run.chunks).toEqual([]);
		expect(reply.output).toMatch(/credits/);
	});
});

describe("the node's own set-up is not the chatter's mistake", () => {
	test('an option out of range fails the execution, naming it, before anything is sent', async () => {
		const run = seen.run(await harness.run(spec({ conversation: 'o-bad', text: 'a slideshow', files: PHOTOS, options: { stillWorkingSeconds: -5 } })));
		expect(run.error?.message).toMatch(/Still-Working Notice \(Seconds\)" is -5/);
		expect(emu.requests).toHaveLength(0);
	});
});

describe('as an AI tool', () => {
	test("a text-only conversation: the reply is its output, and nothing is streamed into the agent's reply", async () => {
		registerToolTypes(harness);
		const fromAI = (key: string) => `={{ $fromAI('${key}', '${key}', 'string') }}`;
		const run = seen.run(
			await harness.run({
				streaming: true,
				input: [{ json: { message: 'credits', conversationId: 'tool-conversation', toolCallId: 'call_1' } }],
				nodes: [{ type: 'nemoVideoChatTool', parameters: { message: fromAI('message'), conversationId: fromAI('conversationId') } }],
			}),
		);
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json).toMatchObject({ action: 'credits', conversationId: 'tool-conversation', output: expect.stringMatching(/You have 100,000/) });
		expect(run.chunks).toEqual([]);
	});
});

describe('mistakes and refusals are replies; the execution succeeds and nothing is charged', () => {
	test('a file that is not an accepted type by its bytes', async () => {
		const fake = join(scratch, 'beach.jpg');
		writeFileSync(fake, 'not a photo at all\n'.repeat(20));
		const { reply } = await chat({ conversation: 'e-type', text: 'a slideshow', files: [PHOTOS[0], fake] });
		expect(reply).toMatchObject({ action: 'upload', problem: true });
		expect(reply.output).toMatch(/beach\.jpg.*not a type NemoVideo accepts.*Nothing was uploaded or charged/s);
		expect(emu.requestsTo('upload')).toHaveLength(0);
		expect(charged()).toBe(0);
	});

	test('a file over 200 MB', async () => {
		const big = join(scratch, 'huge.jpg');
		const fd = openSync(big, 'w');
		writeSync(fd, Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
		ftruncateSync(fd, 200 * 1024 * 1024 + 1);
		closeSync(fd);
		const { reply } = await chat({ conversation: 'e-big', text: 'a slideshow', files: [big] });
		expect(reply.output).toMatch(/huge\.jpg.*too large.*200 MB/s);
		expect(emu.requestsTo('upload')).toHaveLength(0);
	});

	test('too few credits on the anonymous token: the balance and the registration link, the message not sent', async () => {
		emu.config.anonymousCredits = ANON_TOKEN_CREDITS;
		const { reply } = await chat({ conversation: 'e-anon', text: 'a slideshow', files: PHOTOS, credentialId: 'anon' });
		expect(reply.output).toMatch(/would cost about 100 NemoVideo credits and you have 30\..*register\?bind=anon_.*was not sent, and nothing was charged/s);
		expect(charged()).toBe(0);
	});

	test('no credits on an own token: top up', async () => {
		await chat({ conversation: 'e-own', text: 'a slideshow', files: PHOTOS });
		emu.setCredits(TOKEN, 10);
		const { reply } = await chat({ conversation: 'e-own', text: 'make it 9:16' });
		expect(reply.output).toMatch(/you have 10\..*Top up credits/s);
		expect(charged()).toBe(1);
	});

	test('the session expired on NemoVideo (1002)', async () => {
		const first = await chat({ conversation: 'e-gone', text: 'a slideshow', files: PHOTOS });
		emu.deleteSession(first.reply.sessionId as string);
		const { reply } = await chat({ conversation: 'e-gone', text: 'make it 9:16' });
		expect(reply.output).toMatch(/no longer exists on NemoVideo: it expired\. Send the photos again/);
		expect(charged()).toBe(1);
	});

	test('a service error before the message: said so, nothing charged', async () => {
		await chat({ conversation: 'e-5xx', text: 'a slideshow', files: PHOTOS });
		emu.inject('state', { kind: 'serverError', status: 503 }, 3);
		const { reply } = await chat({ conversation: 'e-5xx', text: 'make it 9:16' });
		expect(reply.output).toMatch(/NemoVideo service error \(HTTP 503\).*Nothing was charged/s);
		expect(charged()).toBe(1);
	});

	test('an error after the message was taken: said so, and never an invitation to send it again', async () => {
		await chat({ conversation: 'e-stream', text: 'a slideshow', files: PHOTOS });
		emu.config.sseScenario = 'inStreamError';
		const { reply } = await chat({ conversation: 'e-stream', text: 'make it 9:16' });
		expect(reply.output).toMatch(/Your message reached NemoVideo.*Please don't send the same message again.*say "status"/s);
		expect(charged()).toBe(2);
	});
});
