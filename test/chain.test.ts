/**
 * The four nodes in a chain, as a workflow runs them: Upload → Generate → Get State → Export & Wait, through
 * n8n-core's real engine against the emulator, five photos into one MP4 in binary data.
 */
import { join } from 'node:path';

import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import { readBinary } from './harness';
import type { Harness } from './harness';

const PHOTOS = [1, 2, 3, 4, 5].map((n) => join(__dirname, 'emulator', 'fixtures', 'photos', `photo-${n}.jpg`));
const TOKEN = 'nmv_usr_own_chain_token';
const fast = { pollIntervalSeconds: 0.2, timeoutMinutes: 1 };

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 500, sseEventDelayMs: 5 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

const read = (paths: string[]) => ({ type: 'test.readFiles', name: 'Read Files', parameters: { paths: JSON.stringify(paths) } });

describe('the chain Upload → Generate → Get State → Export', () => {
	test('turns five photos into one MP4 in binary data', async () => {
		const run = await harness.run({
			nodes: [
				read(PHOTOS),
				{ type: 'nemoVideoUpload', name: 'Upload', parameters: { sessionId: '' } },
				{ type: 'nemoVideoGenerate', name: 'Generate', parameters: { prompt: 'Turn these photos into a slideshow with smooth transitions' } },
				{ type: 'nemoVideoGetState', name: 'State', parameters: {} },
				{ type: 'nemoVideoExport', name: 'Export', parameters: fast },
			],
		});
		expect(run.error).toBeUndefined();

		const upload = run.output('Upload');
		expect(upload).toHaveLength(1); // one session for the folder, not one per photo
		expect(upload[0].json.files).toHaveLength(5);
		expect(upload[0].pairedItem).toEqual([0, 1, 2, 3, 4].map((item) => ({ item })));
		const uploads = emu.requestsTo('upload');
		expect(uploads).toHaveLength(1);
		expect(uploads[0].files?.map((file) => file.filename)).toEqual(PHOTOS.map((path) => path.split('/').pop()));
		expect(uploads[0].files?.every((file) => file.detectedType === 'jpg' || file.detectedType === 'jpeg')).toBe(true);

		const generated = run.output('Generate')[0].json;
		expect(String(generated.text)).toMatch(/slideshow/i);
		expect(generated.stateChanged).toBe(true);
		expect(generated.suggestedNextStep).toBe('export');
		expect((generated.events as { toolCalls: number }).toolCalls).toBeGreaterThan(0);
		expect(String(generated.text)).not.toMatch(/tool_call|functionCall/);

		const state = run.output('State')[0].json as { readyToExport: boolean; timeline: { tracks: Array<{ type: string; segmentCount: number }> } };
		expect(state.readyToExport).toBe(true);
		expect(state.timeline.tracks.find((track) => track.type === 'video')?.segmentCount).toBe(5);

		const exported = run.output('Export')[0];
		expect(exported.json.status).toBe('completed');
		expect(String(exported.json.renderId)).toMatch(/^render_/);
		const binary = exported.binary!.data;
		expect(binary.mimeType).toBe('video/mp4');
		expect(binary.fileName).toMatch(/\.mp4$/);
		const bytes = await readBinary(binary);
		expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
		expect(bytes.length).toBe(emu.render(String(exported.json.renderId))!.bytes);
		expect(emu.requestsTo('sse')).toHaveLength(1);
		expect(emu.requestsTo('renderStart')).toHaveLength(1);
		// The CDN download never carries the token.
		expect(emu.requestsTo('cdn').every((request) => !request.headers.authorization)).toBe(true);
	});
});

