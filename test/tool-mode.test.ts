/**
 * The nodes as AI tools (issue 12), through n8n-core the way n8n 2.41.1 runs them, over real HTTP to the
 * emulator. test/harness/tool-call.ts says how each step matches n8n's code: the `<name>Tool` type, the MCP
 * Server Trigger's getInputConnectionData + tool.invoke, the text the MCP client gets, and the AI Agent's
 * engine-request path.
 */
import type { INode } from 'n8n-workflow';

import { NemoVideoCredits } from '../nodes/NemoVideoCredits/NemoVideoCredits.node';
import { NemoVideoExport } from '../nodes/NemoVideoExport/NemoVideoExport.node';
import { NemoVideoGenerate } from '../nodes/NemoVideoGenerate/NemoVideoGenerate.node';
import { NemoVideoGetState } from '../nodes/NemoVideoGetState/NemoVideoGetState.node';
import { NemoVideoPhotoToVideo } from '../nodes/NemoVideoPhotoToVideo/NemoVideoPhotoToVideo.node';
import { NemoVideoUpload } from '../nodes/NemoVideoUpload/NemoVideoUpload.node';
import { classifyForTool, isToolMode, renameSettings, toolArgumentOf } from '../nodes/shared/toolMode';
import { NemoVideoApiError } from '../nodes/shared/transport/errors';
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import { PACKAGE } from './harness';
import type { Harness } from './harness';
import { callTool, editorToolDescription, registerToolTypes } from './harness/tool-call';

const TOKEN = 'nmv_usr_own_tool_mode_token';
const PHOTO_URLS = [1, 2, 3, 4, 5].map((n) => `https://photos.example.com/trip/photo-${n}.jpg`);

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));
const fromAI = (key: string, description = key) => `={{ $fromAI('${key}', '${description}', 'string') }}`;
const photoToVideoTool = { source: 'url', urls: fromAI('urls', 'Photo URLs, one a line'), pollIntervalSeconds: 0.2 };
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function charged() {
	return {
		sessions: emu.requestsTo('session').length,
		messages: emu.requestsTo('sse').length,
		renders: emu.requestsTo('renderStart').length,
		downloads: emu.requestsTo('download').length + emu.requestsTo('cdn').length,
	};
}

describe('tool mode is detected as n8n runs a tool', () => {
	const node = (type: string, parameters: INode['parameters'] = {}) =>
		({ id: '1', name: 'n', type, typeVersion: 1, position: [0, 0], parameters }) as INode;

	test('the <name>Tool type, with or without isToolExecution (n8n 1.x has none); the base type is not a tool', () => {
		expect(isToolMode({ getNode: () => node(`${PACKAGE}.nemoVideoExportTool`) })).toBe(true);
		expect(isToolMode({ getNode: () => node(`${PACKAGE}.nemoVideoExportTool`), isToolExecution: () => false })).toBe(true);
		expect(isToolMode({ getNode: () => node(`${PACKAGE}.nemoVideoExport`), isToolExecution: () => true })).toBe(true);
		expect(isToolMode({ getNode: () => node(`${PACKAGE}.nemoVideoExport`), isToolExecution: () => false })).toBe(false);
		expect(isToolMode({ getNode: () => node(`${PACKAGE}.nemoVideoExport`) })).toBe(false);
	});

	test('the argument a parameter is filled from, and n8n labels rewritten into it', () => {
		const tool = node(`${PACKAGE}.nemoVideoExportTool`, { sessionId: fromAI('session'), options: { renderId: "={{ $fromAI(\"render_id\") }}" } });
		expect(toolArgumentOf(tool, 'sessionId')).toBe('session');
		expect(toolArgumentOf(tool, 'options.renderId')).toBe('render_id');
		expect(toolArgumentOf(tool, 'timeoutMinutes')).toBeUndefined();
		const text = renameSettings({ getNode: () => tool }, 'Set the option "Resume Render ID" and "Session ID", or raise "Timeout (Minutes)".');
		expect(text).toBe(
			'Set the argument "render_id" and the argument "session", or raise the tool\'s fixed setting "Timeout (Minutes)" (set in the workflow, not an argument of this tool).',
		);
		expect(renameSettings({ getNode: () => tool }, 'Session ID is empty. Run it with the option "Resume Render ID" (options.renderId) set to r_1 (Session ID 42).')).toBe(
			'"session" is empty. Run it with the argument "render_id" set to r_1 ("session" 42).',
		);
		const photoToVideo = node(`${PACKAGE}.nemoVideoPhotoToVideoTool`);
		expect(renameSettings({ getNode: () => photoToVideo }, 'with "Session ID" and "Resume Render ID" set to its ids')).toBe(
			'with the argument "sessionId" of the NemoVideo Export & Wait tool and the argument "renderId" of the NemoVideo Export & Wait tool set to its ids',
		);
	});

	test('an agent is told to pass "new" for a new session and to call the tool again, as the tool descriptions say', () => {
		const generate = node(`${PACKAGE}.nemoVideoGenerateTool`, { sessionId: fromAI('sessionId') });
		expect(
			renameSettings(
				{ getNode: () => generate },
				'It expired. Leave "Session ID" empty to start a new session, and upload the photos again. Top up, then run the workflow again.',
			),
		).toBe('It expired. Set the argument "sessionId" to "new" to start a new session, and upload the photos again. Top up, then call the tool again.');
	});

	test('whether retrying can help, from the failure kind', () => {
		const failure = (kind: 'rateLimited' | 'sessionNotFound', appCode?: number) =>
			new NemoVideoApiError(node('x'), { kind, appCode, operation: 'POST /x' }, { anonymous: false });
		expect(classifyForTool(failure('rateLimited'))).toEqual({ code: null, retryable: true });
		expect(classifyForTool(failure('sessionNotFound', 1002))).toEqual({ code: 1002, retryable: false });
		expect(classifyForTool(new Error('plain'))).toEqual({ code: null, retryable: false });
	});
});

describe('Photo to Video as a tool', () => {
	test('five photo URLs in one call: the video url back, compact, nothing downloaded', async () => {
		const result = await callTool(harness, { type: 'nemoVideoPhotoToVideo', parameters: photoToVideoTool, args: { urls: PHOTO_URLS.join('\n') } });
		expect(result.isError).toBe(false);
		expect(result.items).toHaveLength(1);
		const [video] = result.items;
		expect(video).toMatchObject({ status: 'completed', photoCount: 5 });
		expect(String(video.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.+\.mp4$/);
		expect(Object.keys(video).sort()).toEqual(['durationSeconds', 'nextStep', 'photoCount', 'renderId', 'sessionId', 'sizeBytes', 'status', 'summary', 'url']);
		expect(String(video.summary)).not.toMatch(/\n/);
		expect(bytes(result.text)).toBeLessThanOrEqual(2048);
		expect(charged()).toEqual({ sessions: 1, messages: 1, renders: 1, downloads: 0 });
	});

	test('a render longer than the bound comes back as a status; Export & Wait with the renderId returns the url; one render', async () => {
		emu.config.renderMs = 5000;
		const started = Date.now();
		const first = await callTool(harness, {
			type: 'nemoVideoPhotoToVideo',
			parameters: { ...photoToVideoTool, options: { toolTimeoutSeconds: 2 } },
			args: { urls: PHOTO_URLS.join('\n') },
		});
		const took = Date.now() - started;
		expect(first.isError).toBe(false);
		expect(took).toBeLessThan(4000);
		const [pending] = first.items;
		expect(['pending', 'processing']).toContain(pending.status);
		expect(String(pending.renderId)).toMatch(/^render_/);
		expect(pending.url).toBeUndefined();
		expect(String(pending.nextStep)).toContain(`renderId "${String(pending.renderId)}"`);
		expect(String(pending.nextStep)).toMatch(/Export & Wait/);

		const second = await callTool(harness, {
			type: 'nemoVideoExport',
			parameters: { sessionId: '', options: { renderId: fromAI('renderId', 'The renderId from an earlier call') }, pollIntervalSeconds: 0.2 },
			args: { renderId: pending.renderId },
		});
		expect(second.isError).toBe(false);
		expect(second.items[0]).toMatchObject({ status: 'completed', renderId: pending.renderId });
		expect(String(second.items[0].url)).toMatch(/\.mp4$/);
		expect(charged()).toMatchObject({ renders: 1, messages: 1, downloads: 0 });
	});

	test('the AI Agent path (the engine runs the …Tool node with the arguments as its item): compact too, no binary', async () => {
		registerToolTypes(harness);
		const run = await harness.run({
			input: [{ json: { chatInput: 'make a video', urls: PHOTO_URLS.join(','), toolCallId: 'call_1' } }],
			nodes: [{ type: 'nemoVideoPhotoToVideoTool', parameters: { ...photoToVideoTool, urls: fromAI('urls') } }],
		});
		expect(run.error).toBeUndefined();
		const [video] = run.output();
		expect(video.binary).toBeUndefined();
		expect(video.json).toMatchObject({ status: 'completed', photoCount: 5 });
		expect(video.json.files).toBeUndefined();
		expect(charged().downloads).toBe(0);
	});
});

describe('no credits by accident', () => {
	test('Generate left at its sessionId default is refused: no session opened, no message sent', async () => {
		const result = await callTool(harness, { type: 'nemoVideoGenerate', parameters: { prompt: fromAI('prompt') }, args: { prompt: 'make a video' } });
		expect(result.isError).toBe(true);
		expect(result.text).toMatch(/a new session was not asked for/);
		expect(result.text).toContain("$fromAI('sessionId'");
		expect(result.text).toMatch(/will not help/);
		expect(charged()).toMatchObject({ sessions: 0, messages: 0 });
	});

	test('Upload left at its default is refused too; "new" or an empty sessionId argument asks for a new session', async () => {
		const refused = await callTool(harness, { type: 'nemoVideoUpload', parameters: { source: 'url', urls: fromAI('urls') }, args: { urls: PHOTO_URLS[0] } });
		expect(refused.isError).toBe(true);
		expect(charged().sessions).toBe(0);
		for (const sessionId of ['new', '']) {
			const result = await callTool(harness, {
				type: 'nemoVideoUpload',
				parameters: { sessionId: fromAI('sessionId'), source: 'url', urls: fromAI('urls') },
				args: { sessionId, urls: PHOTO_URLS.join('\n') },
			});
			expect(result.isError).toBe(false);
			expect(result.items[0]).toMatchObject({ sessionCreated: true, fileCount: 5 });
		}
		expect(charged().sessions).toBe(2);
	});

	test('a session id from the agent is used as given', async () => {
		const upload = await callTool(harness, {
			type: 'nemoVideoUpload',
			parameters: { sessionId: fromAI('sessionId'), source: 'url', urls: fromAI('urls') },
			args: { sessionId: 'new', urls: PHOTO_URLS.join('\n') },
		});
		const sessionId = String(upload.items[0].sessionId);
		const generated = await callTool(harness, {
			type: 'nemoVideoGenerate',
			parameters: { sessionId: fromAI('sessionId'), prompt: fromAI('prompt') },
			args: { sessionId, prompt: 'a slideshow' },
		});
		expect(generated.isError).toBe(false);
		expect(generated.items[0]).toMatchObject({ sessionId, readyToExport: true });
		expect(charged()).toMatchObject({ sessions: 1, messages: 1 });
	});
});

describe('errors an agent can act on', () => {
	test('an unknown session: the argument to change, the app code, retrying will not help', async () => {
		const result = await callTool(harness, {
			type: 'nemoVideoGenerate',
			parameters: { sessionId: fromAI('sessionId'), prompt: fromAI('prompt') },
			args: { sessionId: '999000111', prompt: 'a slideshow' },
		});
		expect(result.isError).toBe(true);
		expect(result.text).toMatch(/session not found/i);
		expect(result.text).toContain('NemoVideo code 1002');
		expect(result.text).toContain('the argument "sessionId"');
		expect(result.text).toMatch(/Retrying the same call will not help/);
		expect(result.text).not.toContain('"Session ID"');
		expect(charged().messages).toBe(0);
	});

	test('a photo entry that is not an http(s) URL: named, with the argument, before anything is sent', async () => {
		const result = await callTool(harness, { type: 'nemoVideoPhotoToVideo', parameters: photoToVideoTool, args: { urls: `${PHOTO_URLS[0]}\nC:\\photos\\a.jpg` } });
		expect(result.isError).toBe(true);
		expect(result.text).toContain('C:\\photos\\a.jpg');
		expect(result.text).toContain('the argument "urls"');
		expect(result.text.match(/Retrying/g)).toHaveLength(1);
		expect(charged()).toMatchObject({ sessions: 0, messages: 0 });
	});

	test('no credits: code 2001, and under Continue On Fail the same as fields', async () => {
		emu.addToken(TOKEN, { credits: 0, anonymous: false });
		const thrown = await callTool(harness, { type: 'nemoVideoPhotoToVideo', parameters: photoToVideoTool, args: { urls: PHOTO_URLS[0] } });
		expect(thrown.isError).toBe(true);
		expect(thrown.text).toContain('NemoVideo code 2001');
		const item = await callTool(harness, { type: 'nemoVideoPhotoToVideo', parameters: photoToVideoTool, args: { urls: PHOTO_URLS[0] }, continueOnFail: true });
		expect(item.isError).toBe(false);
		expect(item.items[0]).toMatchObject({ code: 2001, retryable: false });
		expect(String(item.items[0].sessionId)).toMatch(/^\d+$/);
		expect(charged().renders).toBe(0);
	});
});

describe('compact outputs', () => {
	test('Upload: names and counts, no CDN metadata; Generate: the reply once, no per-segment metadata', async () => {
		const upload = await callTool(harness, {
			type: 'nemoVideoUpload',
			parameters: { sessionId: fromAI('sessionId'), source: 'url', urls: fromAI('urls') },
			args: { sessionId: 'new', urls: PHOTO_URLS.join('\n') },
		});
		expect(upload.items[0]).toMatchObject({ fileCount: 5, fileTypes: { image: 5 } });
		expect(upload.text).not.toContain('cdnUrl');
		const generated = await callTool(harness, {
			type: 'nemoVideoGenerate',
			parameters: { sessionId: fromAI('sessionId'), prompt: fromAI('prompt') },
			args: { sessionId: upload.items[0].sessionId, prompt: 'a slideshow' },
		});
		const [json] = generated.items;
		expect(json.summary).toBeUndefined();
		expect(generated.text).not.toContain('"segments"');
		expect(generated.text).not.toContain('"metadata"');
		expect((json.timeline as { tracks: unknown[] }).tracks.length).toBeGreaterThan(0);
		expect(String(json.nextStep)).toMatch(/Export & Wait/);
	});

	test('Get State: the full timeline without the raw draft, unless includeDraft', async () => {
		const upload = await callTool(harness, {
			type: 'nemoVideoPhotoToVideo',
			parameters: photoToVideoTool,
			args: { urls: PHOTO_URLS.join('\n') },
		});
		const sessionId = upload.items[0].sessionId;
		const state = await callTool(harness, { type: 'nemoVideoGetState', parameters: { sessionId: fromAI('sessionId') }, args: { sessionId } });
		expect(state.items[0].draft).toBeUndefined();
		expect(state.items[0]).toMatchObject({ sessionId, readyToExport: true });
		expect(JSON.stringify(state.items[0].timeline)).toContain('"segments"');
		const withDraft = await callTool(harness, {
			type: 'nemoVideoGetState',
			parameters: { sessionId: fromAI('sessionId'), options: { includeDraft: true } },
			args: { sessionId },
		});
		expect(withDraft.items[0].draft).toBeDefined();
	});
});

describe('tool descriptions for agents', () => {
	const nodes = [new NemoVideoPhotoToVideo(), new NemoVideoUpload(), new NemoVideoGenerate(), new NemoVideoExport(), new NemoVideoGetState(), new NemoVideoCredits()];

	test('each says what it costs and what comes out; the steps name the order', () => {
		for (const type of nodes) {
			const text = editorToolDescription(type);
			expect(text).not.toBe(type.description.description);
			expect(text).toMatch(/credits|Free/);
			expect(text).not.toMatch(/binary/i);
		}
		const [photoToVideo, upload, generate, exporter] = nodes.map(editorToolDescription);
		expect(photoToVideo).toMatch(/ONE call.*url/s);
		expect(photoToVideo).toMatch(/100 credits/);
		expect(upload).toMatch(/Step 1 of 3/);
		expect(generate).toMatch(/Step 2 of 3.*100.*50/s);
		expect(exporter).toMatch(/Step 3 of 3.*url.*Free.*renderId/s);
	});

	test.each(nodes.map((type) => [type.description.name, type] as const))('the MCP client sees that description for %s at run time', async (name, type) => {
		const result = await callTool(harness, { type: name, parameters: {}, args: {} });
		expect(result.toolDescription).toBe(editorToolDescription(type));
	});

	test('Credits as a tool', async () => {
		const result = await callTool(harness, { type: 'nemoVideoCredits', parameters: {}, args: {} });
		expect(result.isError).toBe(false);
		expect(result.items[0]).toMatchObject({ available: 100_000 });
	});
});

describe('bounded calls', () => {
	test('Photo to Video whose AI step outlasts the bound returns a status naming the session, once', async () => {
		emu.config.sseEventDelayMs = 1500;
		const started = Date.now();
		const result = await callTool(harness, {
			type: 'nemoVideoPhotoToVideo',
			parameters: { ...photoToVideoTool, options: { toolTimeoutSeconds: 2 } },
			args: { urls: PHOTO_URLS.join('\n') },
		});
		expect(Date.now() - started).toBeLessThan(4000);
		expect(result.isError).toBe(false);
		const [status] = result.items;
		expect(status).toMatchObject({ status: 'generating', fileCount: 5 });
		expect(String(status.nextStep)).toContain(`Get State with sessionId "${String(status.sessionId)}"`);
		expect(charged()).toMatchObject({ sessions: 1, messages: 1, renders: 0 });
	});

	test('Generate whose AI outlasts the bound returns a status; the session then shows what it built', async () => {
		const upload = await callTool(harness, {
			type: 'nemoVideoUpload',
			parameters: { sessionId: fromAI('sessionId'), source: 'url', urls: fromAI('urls') },
			args: { sessionId: '', urls: PHOTO_URLS.join('\n') },
		});
		const sessionId = String(upload.items[0].sessionId);
		emu.config.sseEventDelayMs = 1500;
		const started = Date.now();
		const result = await callTool(harness, {
			type: 'nemoVideoGenerate',
			parameters: { sessionId: fromAI('sessionId'), prompt: fromAI('prompt'), options: { toolTimeoutSeconds: 2 } },
			args: { sessionId, prompt: 'a slideshow' },
		});
		expect(Date.now() - started).toBeLessThan(4000);
		expect(result.isError).toBe(false);
		expect(result.items[0]).toMatchObject({ sessionId, status: 'generating' });
		expect(String(result.items[0].nextStep)).toMatch(/Get State/);
		expect(charged().messages).toBe(1);
	});

	test('outside tool mode the same node keeps its own timeouts and downloads the video', async () => {
		const run = await harness.run({
			nodes: [{ type: 'nemoVideoPhotoToVideo', parameters: { source: 'url', urls: PHOTO_URLS.join('\n'), pollIntervalSeconds: 0.2, options: { toolTimeoutSeconds: 1 } } }],
		});
		expect(run.error).toBeUndefined();
		const [video] = run.output();
		expect(video.binary?.data.mimeType).toBe('video/mp4');
		expect(video.json.files).toHaveLength(5);
		expect(video.json.text).toBeDefined();
	});
});
