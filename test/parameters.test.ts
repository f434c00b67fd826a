/**
 * Parameters that decide what is sent or how long anything waits, read through n8n-core's real engine: an
 * expression that resolves to nothing (or to text that is no number) fails the item naming the parameter and
 * the value it got, before anything is sent (issue 16 §4). Without the check a NaN timeout never fires (Export),
 * a NaN poll interval polls without pause, and a NaN Generate timeout fires after 1 ms, racing the charged POST.
 */
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import type { Harness } from './harness';
import { sessionWithDraft } from './helpers';

const TOKEN = 'nmv_usr_own_parameters_subject_token';

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator({ config: { renderMs: 300, sseEventDelayMs: 2 }, ownToken: TOKEN }, (fixture) => ({ emu, harness } = fixture));

/** Every request the node made to the service (the token is the user's own: no token call). */
const serviceCalls = () => emu.requests.filter((request) => request.route !== 'admin');

describe('a number that resolved to nothing', () => {
	test.each([
		['timeoutMinutes', 'Timeout (Minutes)'],
		['pollIntervalSeconds', 'Poll Interval (Seconds)'],
	])('Export & Wait: %s from an expression that finds nothing fails the item before a render starts', async (name, label) => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		emu.requests.length = 0;
		const run = await harness.run({
			input: [{ json: { sessionId } }],
			nodes: [{ type: 'nemoVideoExport', parameters: { download: false, [name]: '={{ $json.missing }}' } }],
		});
		expect(run.error?.message).toBe(`"${label}" is nothing, not a number of at least ${name === 'timeoutMinutes' ? 0.01 : 0.1}`);
		expect(run.error?.description).toContain('{{ $json.missing }}');
		expect(run.error?.description).toContain('Item 0');
		expect(serviceCalls()).toEqual([]);
	});

	test('Generate: a timeout that is no number fails before the session is made or the message sent', async () => {
		const run = await harness.run({
			input: [{ json: { timeout: 'soon' } }],
			nodes: [{ type: 'nemoVideoGenerate', parameters: { sessionId: '', prompt: 'a slideshow', timeoutMinutes: '={{ $json.timeout }}' } }],
		});
		expect(run.error?.message).toBe('"Timeout (Minutes)" is "soon", not a number of at least 0.05');
		expect(serviceCalls()).toEqual([]);
	});

	test('an option (Photo to Video\'s Concurrency) out of its range names the option and the range', async () => {
		const run = await harness.run({
			nodes: [
				{
					type: 'nemoVideoPhotoToVideo',
					parameters: { source: 'url', urls: 'https://example.com/a.jpg', options: { concurrency: 0 } },
				},
			],
		});
		expect(run.error?.message).toBe('The option "Concurrency" is 0, not a number from 1 to 32');
		expect(serviceCalls()).toEqual([]);
	});

	test('a number given as digits by an expression is taken', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		const run = await harness.run({
			input: [{ json: { sessionId, minutes: '1' } }],
			nodes: [
				{
					type: 'nemoVideoExport',
					parameters: { download: false, pollIntervalSeconds: 0.2, timeoutMinutes: '={{ $json.minutes }}' },
				},
			],
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json.status).toBe('completed');
	});
});

describe('an empty prompt', () => {
	test('Generate refuses a prompt whose expression finds nothing, before anything is sent', async () => {
		const sessionId = await sessionWithDraft(emu.baseUrl, TOKEN);
		emu.requests.length = 0;
		const run = await harness.run({
			input: [{ json: { sessionId } }],
			nodes: [{ type: 'nemoVideoGenerate', parameters: { prompt: '={{ $json.prompt }}' } }],
		});
		expect(run.error?.message).toBe('"Prompt" is empty');
		expect(run.error?.description).toContain('{{ $json.prompt }}');
		expect(serviceCalls()).toEqual([]);
	});
});
