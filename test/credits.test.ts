/**
 * The NemoVideo Credits node, run by n8n-core's real WorkflowExecute (the harness) with real parameters and
 * expressions, against the emulator over HTTP: its output, every input item, pairedItem, Continue On Fail and
 * the minimum-credits rule.
 */
import { NemoVideoCredits } from '../nodes/NemoVideoCredits/NemoVideoCredits.node';
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import type { Harness, WorkflowRun } from './harness';
import { SeenText, expectPackageNode } from './helpers';

const OWN = 'nmv_usr_own_credits_token_9876543210';
const OWN_USER = 'usr_credits';
const USED_TOKENS = new Set<string>([OWN]);
const seen = new SeenText();

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator(
	{
		config: { sseEventDelayMs: 1 },
		tokens: { [OWN]: { credits: 25000, userId: OWN_USER } },
		credentials: { own: { accessToken: OWN }, anon: {} },
		usedTokens: USED_TOKENS,
	},
	(fixture) => ({ emu, harness } = fixture),
);

beforeEach(() => {
	emu.account(OWN_USER).frozen = 40;
});

async function run(spec: Parameters<Harness['run']>[0]): Promise<WorkflowRun> {
	return seen.run(await harness.run(spec));
}

test('nemoVideoCredits: its interface name, the NemoVideo API credential, usable as a tool', () => {
	expectPackageNode(new NemoVideoCredits(), 'nemoVideoCredits');
});

describe('NemoVideo Credits', () => {
	test('outputs available, frozen and total', async () => {
		const result = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		expect(result.error).toBeUndefined();
		expect(result.output().map((item) => item.json)).toEqual([{ available: 25000, frozen: 40, total: 25040 }]);
		expect(emu.requestsTo('credits')).toHaveLength(1);
		expect(emu.requestsTo('credits')[0]).toMatchObject({ method: 'GET', path: '/api/credits/balance/simple', status: 200 });
	});

	test('with an anonymous credential: the free token\'s balance', async () => {
		const result = await run({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		expect(result.error).toBeUndefined();
		expect(result.output()[0].json).toEqual({ available: 100, frozen: 0, total: 100 });
	});

	test('several input items: one output per item, each paired with its input, sessionId passed on', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: { sessionId: '5000000000000000007' } }, { json: { other: 1 } }, { json: { sessionId: '5000000000000000008' } }],
			nodes: [{ type: 'nemoVideoCredits', parameters: {} }],
		});
		expect(result.error).toBeUndefined();
		expect(result.output().map((item) => item.json)).toEqual([
			{ available: 25000, frozen: 40, total: 25040, sessionId: '5000000000000000007' },
			{ available: 25000, frozen: 40, total: 25040 },
			{ available: 25000, frozen: 40, total: 25040, sessionId: '5000000000000000008' },
		]);
		expect(result.output().map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(emu.requestsTo('credits')).toHaveLength(3);
	});

	test('Minimum Credits: below it the item fails with a clear message; at it the item passes', async () => {
		const below = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: 25001 } }] });
		expect(below.error?.message).toBe('Only 25000 NemoVideo credits available, fewer than the minimum of 25001');
		expect(below.error?.description).toMatch(/Top up credits in your NemoVideo account, or lower "Minimum Credits"/);
		expect(below.output()).toHaveLength(0);

		const at = await run({ credentialId: 'own', nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: 25000 } }] });
		expect(at.error).toBeUndefined();
		expect(at.output()[0].json.available).toBe(25000);
	});

	test('Minimum Credits with an anonymous token: the message links to registration with ?bind=<user_id>', async () => {
		const result = await run({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: 500 } }] });
		const [{ userId }] = emu.issuedTokens();
		expect(result.error?.message).toBe('Only 100 NemoVideo credits available, fewer than the minimum of 500');
		expect(result.error?.description).toContain(`https://nemovideo.com/register?bind=${userId}`);
	});

	test('When Below Minimum = Stop Without Output: no item out, the next node does not run, the run succeeds with a notice', async () => {
		const result = await run({
			credentialId: 'own',
			nodes: [
				{ type: 'nemoVideoCredits', name: 'Credits', parameters: { minimumCredits: 25001, whenBelowMinimum: 'stop' } },
				{ type: 'nemoVideoCredits', name: 'After', parameters: {} },
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.run.status).toBe('success');
		const runData = result.run.data.resultData.runData;
		expect(runData.Credits[0].data?.main[0]).toEqual([]);
		expect(runData.After).toBeUndefined();
		expect(runData.Credits[0].hints).toEqual([
			{
				message:
					'Only 25000 NemoVideo credits available, fewer than the minimum of 25001: stopped here without output (When Below Minimum = Stop Without Output)',
				type: 'warning',
				location: 'outputPane',
			},
		]);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	});

	test('When Below Minimum = Stop Without Output: at the minimum the balance goes out as usual, with no notice', async () => {
		const result = await run({
			credentialId: 'own',
			nodes: [{ type: 'nemoVideoCredits', name: 'Credits', parameters: { minimumCredits: 25000, whenBelowMinimum: 'stop' } }],
		});
		expect(result.error).toBeUndefined();
		expect(result.output().map((item) => item.json)).toEqual([{ available: 25000, frozen: 40, total: 25040 }]);
		expect(result.run.data.resultData.runData.Credits[0].hints).toEqual([]);
	});

	test('When Below Minimum = Stop Without Output, several items: only the items below their minimum are held back, one notice each', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: { sessionId: '5000000000000000001' } }, { json: { sessionId: '5000000000000000002' } }],
			nodes: [
				{
					type: 'nemoVideoCredits',
					name: 'Credits',
					parameters: { minimumCredits: '={{ $itemIndex === 0 ? 99999 : 10 }}', whenBelowMinimum: 'stop' },
				},
			],
		});
		expect(result.error).toBeUndefined();
		expect(result.output().map((item) => [item.json.sessionId, item.pairedItem])).toEqual([['5000000000000000002', { item: 1 }]]);
		expect(result.run.data.resultData.runData.Credits[0].hints?.map((hint) => hint.message)).toEqual([
			'Only 25000 NemoVideo credits available, fewer than the minimum of 99999: stopped here without output (When Below Minimum = Stop Without Output)',
		]);
	});

	test('without Continue On Fail, the failing item stops the node and is named', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }, { json: {} }],
			nodes: [{ type: 'nemoVideoCredits', parameters: { minimumCredits: '={{ $itemIndex === 1 ? 99999 : 0 }}' } }],
		});
		expect(result.error?.message).toMatch(/fewer than the minimum of 99999/);
		expect(result.error?.context?.itemIndex).toBe(1);
		expect(result.output()).toHaveLength(0);
		// Item 2 was not asked for after item 1 failed.
		expect(emu.requestsTo('credits')).toHaveLength(2);
	});

	test('Continue On Fail: the failing item becomes an error item paired with its input; the others go on', async () => {
		const result = await run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }, { json: {} }],
			nodes: [
				{ type: 'nemoVideoCredits', parameters: { minimumCredits: '={{ $itemIndex === 1 ? 99999 : 10 }}' }, continueOnFail: true },
			],
		});
		expect(result.error).toBeUndefined();
		const out = result.output();
		expect(out).toHaveLength(3);
		expect(out[0].json).toEqual({ available: 25000, frozen: 40, total: 25040 });
		expect(out[1].json).toEqual({
			error: 'Only 25000 NemoVideo credits available, fewer than the minimum of 99999',
			errorDescription: expect.stringMatching(/Top up/),
		});
		expect(out[2].json).toEqual({ available: 25000, frozen: 40, total: 25040 });
		expect(out.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
	});

	test('Continue On Fail also turns an API error into an error item', async () => {
		emu.inject('credits', { kind: 'appCode', code: 2001 }, 1);
		const result = await run({
			credentialId: 'own',
			input: [{ json: {} }, { json: {} }],
			nodes: [{ type: 'nemoVideoCredits', parameters: {}, continueOnFail: true }],
		});
		expect(result.error).toBeUndefined();
		const out = result.output();
		expect(out[0].json).toMatchObject({ error: 'No NemoVideo credits left', errorDescription: expect.stringMatching(/Top up credits/) });
		expect(out[0].pairedItem).toEqual({ item: 0 });
		expect(out[1].json).toEqual({ available: 25000, frozen: 40, total: 25040 });
		expect(out[1].pairedItem).toEqual({ item: 1 });
	});
});

// Last in the file on purpose: it reads what every test above showed.
test('no token text in any error message, description, error object or output item of this file', () => {
	expect(seen.texts.length).toBeGreaterThan(20);
	expect(USED_TOKENS.size).toBeGreaterThan(1);
	expect(seen.leaks(USED_TOKENS)).toEqual([]);
});
