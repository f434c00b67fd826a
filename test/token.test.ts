/**
 * The anonymous token (issue 9, points 1-4, 6 and 7): kept in the credential and renewed only on 1001, checked
 * (not re-fetched) by a credential test, fetched for a client id nobody can compute, tied to the origin that
 * issued it, shared between executions without sharing their cancellation, and never renewed on a bare 401.
 * The Client ID as the README says it (issue 20): a typed one used exactly as typed, an empty one made once.
 * Through n8n-core (the harness) against the emulator.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { DEFAULT_BASE_URL } from '../nodes/shared/constants';
import { derivedClientId, issuingOrigin } from '../nodes/shared/transport/auth';
import type { NemoVideoEmulator } from './emulator';
import { withEmulator } from './fixtures';
import { Harness } from './harness';
import type { CredentialStore, WorkflowRun } from './harness';
import { SeenText } from './helpers';

const OWN = 'nmv_usr_own_token_suite_0123456789';
const PHOTO = join(__dirname, 'emulator', 'fixtures', 'photos', 'photo-1.jpg');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[48][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const seen = new SeenText();
const usedTokens = new Set<string>([OWN]);

let emu: NemoVideoEmulator;
let harness: Harness;

withEmulator(
	{
		config: { renderMs: 200, sseEventDelayMs: 1 },
		tokens: { [OWN]: { credits: 500 } },
		credentials: { anon: {}, own: { accessToken: OWN } },
		usedTokens,
	},
	(fixture) => ({ emu, harness } = fixture),
);
afterAll(() => expect(seen.leaks(usedTokens)).toEqual([]));

async function credits(on: Harness = harness, credentialId = 'anon'): Promise<WorkflowRun> {
	return seen.run(await on.run({ credentialId, nodes: [{ type: 'nemoVideoCredits', parameters: {} }] }));
}

/** Runs Credits once so that the anonymous credential holds a token, then forgets the requests it made. */
async function warm(): Promise<{ token: string; clientId: string }> {
	const first = await credits();
	expect(first.error).toBeUndefined();
	expect(emu.issuedTokens()).toHaveLength(1);
	emu.requests = [];
	return emu.issuedTokens()[0];
}

/** Waits for a condition that an event of the run makes true, polling briefly, failing after `boundMs`. */
async function until(what: string, condition: () => boolean, boundMs = 5000): Promise<void> {
	const deadline = Date.now() + boundMs;
	while (!condition()) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}

/** A second n8n process: its own copy of the package's modules (no shared in-flight map), the same credential store. */
function secondProcess(credentials: CredentialStore): Harness {
	let other: Harness | undefined;
	jest.isolateModules(() => {
		const isolated = require('./harness') as typeof import('./harness');
		other = new isolated.Harness({ credentials: credentials as never });
	});
	return other!;
}

const bearers = (route: Parameters<NemoVideoEmulator['requestsTo']>[0], on = emu) =>
	on.requestsTo(route).map((request) => request.headers.authorization);

/** Upload of one photo with the anonymous credential: a streamed request body. */
async function uploadPhoto(): Promise<WorkflowRun> {
	return seen.run(
		await harness.run({
			credentialId: 'anon',
			nodes: [
				{ type: 'test.readFiles', parameters: { paths: JSON.stringify([PHOTO]) } },
				{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
			],
		}),
	);
}

describe('1. renewed only on 1001', () => {
	test('a token within 5 minutes of its expiry uploads a photo with no token call', async () => {
		const { token } = await warm();
		const stored = harness.credentials.get('anon');
		harness.credentials.set('anon', { ...stored, tokenExpiresAt: new Date(Date.now() + 120_000).toISOString() });
		const run = await uploadPhoto();
		expect(run.error).toBeUndefined();
		expect(emu.requestsTo('token')).toHaveLength(0);
		expect(emu.requestsTo('upload').map((request) => request.status)).toEqual([200]);
		expect(emu.requestsTo('upload')[0].files?.[0].bytes).toBeGreaterThan(1000);
		expect(new Set(bearers('upload'))).toEqual(new Set([`Bearer ${token}`]));
	}, 20_000);

	test('a streamed upload answered 1001 is replayed once with the renewed token, its file re-read from the binary store', async () => {
		const { token: old } = await warm();
		emu.config.oneTokenPerClient = false;
		emu.inject('upload', { kind: 'appCode', code: 1001 }, 1);
		const run = await uploadPhoto();
		expect(run.error).toBeUndefined();
		const uploads = emu.requestsTo('upload');
		expect(uploads.map((request) => request.status)).toEqual([200, 200]);
		expect(uploads[0].fault).toBe('appCode');
		const renewed = emu.issuedTokens()[1].token;
		expect(bearers('upload')).toEqual([`Bearer ${old}`, `Bearer ${renewed}`]);
		expect(uploads[1].files?.[0].bytes).toBeGreaterThan(1000);
	});
});

describe('2. a credential test checks the stored token instead of fetching one', () => {
	test('a credential holding a live token, tested twice: both pass, no token call', async () => {
		const { token } = await warm();
		const first = await harness.testCredential('anon');
		const second = await harness.testCredential('anon');
		expect(first).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(second).toEqual({ status: 'OK', message: 'Connection successful!' });
		expect(emu.requestsTo('token')).toHaveLength(0);
		expect(new Set(bearers('credits'))).toEqual(new Set([`Bearer ${token}`]));
		expect(harness.credentials.get('anon').sessionToken).toBe(token);
	});

	test('a credential whose token expired: the test fetches a new one, stores it and passes', async () => {
		const { token: old, clientId } = await warm();
		emu.expireToken(old);
		const result = await harness.testCredential('anon');
		expect(result.status).toBe('OK');
		expect(emu.requestsTo('token').map((request) => request.headers['x-client-id'])).toEqual([clientId]);
		const renewed = emu.issuedTokens()[1].token;
		expect(harness.credentials.get('anon').sessionToken).toBe(renewed);
		expect(bearers('credits').at(-1)).toBe(`Bearer ${renewed}`);
	});

	test('a fresh anonymous credential: the test fetches and stores its first token', async () => {
		const result = await harness.testCredential('anon');
		expect(result.status).toBe('OK');
		expect(emu.issuedTokens()).toHaveLength(1);
		expect(harness.credentials.get('anon').sessionToken).toBe(emu.issuedTokens()[0].token);
	});
});

describe('3. the client id: the same for every worker of an instance, computable by nobody else', () => {
	const withInstanceKey = async <T>(key: string | undefined, run: () => Promise<T>): Promise<T> => {
		const saved = process.env.N8N_ENCRYPTION_KEY;
		if (key === undefined) delete process.env.N8N_ENCRYPTION_KEY;
		else process.env.N8N_ENCRYPTION_KEY = key;
		try {
			return await run();
		} finally {
			process.env.N8N_ENCRYPTION_KEY = saved;
		}
	};

	test('two n8n instances with the same credential id (another encryption key) get different client ids', async () => {
		const elsewhere = new Harness();
		elsewhere.credentials.set('anon', { baseUrl: emu.baseUrl });
		expect((await credits()).error).toBeUndefined();
		expect((await withInstanceKey('another-instance-key', async () => await credits(elsewhere))).error).toBeUndefined();
		const [first, second] = emu.issuedTokens();
		expect(first.clientId).toMatch(UUID);
		expect(second.clientId).toMatch(UUID);
		expect(first.clientId).not.toBe(second.clientId);
		expect(harness.credentials.get('anon').clientId).toBe(first.clientId);
		expect(elsewhere.credentials.get('anon').clientId).toBe(second.clientId);
		// Not the id the previous version derived from the credential's id alone (anyone could compute that one).
		const fromIdAlone = createHash('sha256').update('n8n-nodes-nemovideo/client-id/anon').digest('hex');
		expect(first.clientId.slice(0, 8)).not.toBe(fromIdAlone.slice(0, 8));
	});

	test('derived from the instance key, the credential and the origin; random when the instance has no readable key', async () => {
		const origin = new URL(emu.baseUrl).origin;
		const a = await withInstanceKey('key-1', async () => derivedClientId('cred-7', origin));
		expect(await withInstanceKey('key-1', async () => derivedClientId('cred-7', origin))).toBe(a);
		expect(await withInstanceKey('key-2', async () => derivedClientId('cred-7', origin))).not.toBe(a);
		expect(await withInstanceKey('key-1', async () => derivedClientId('cred-8', origin))).not.toBe(a);
		expect(await withInstanceKey('key-1', async () => derivedClientId('cred-7', 'https://other.example'))).not.toBe(a);
		expect(a).toMatch(UUID);
		const savedFolder = process.env.N8N_USER_FOLDER;
		process.env.N8N_USER_FOLDER = join(__dirname, 'no-such-n8n-folder');
		try {
			const [r1, r2] = await withInstanceKey(undefined, async () => [derivedClientId('cred-7', origin), derivedClientId('cred-7', origin)]);
			expect(r1).toMatch(UUID_V4);
			expect(r1).not.toBe(r2);
		} finally {
			process.env.N8N_USER_FOLDER = savedFolder;
		}
	});

	test('executions racing in one process for the first token: one token, every execution succeeds', async () => {
		const runs = await Promise.all([credits(), credits(), credits()]);
		for (const run of runs) expect(run.error).toBeUndefined();
		expect(emu.issuedTokens()).toHaveLength(1);
		expect(emu.requestsTo('token')).toHaveLength(1);
		expect(harness.credentials.get('anon').sessionToken).toBe(emu.issuedTokens()[0].token);
	});

	test.each([
		['a fresh credential (two workers of one instance: the same key, so the same client id)', {}],
		['a credential with a Client ID set', { clientId: 'shared-client-id-7' }],
	])('two processes racing for the first token of %s: one token, the loser of the 429 uses the winner\'s', async (_, fields) => {
		harness.credentials.set('anon', { baseUrl: emu.baseUrl, ...fields });
		const other = secondProcess(harness.credentials);
		// The first token call is answered 2 s late, so that the other process asks while it is pending: a race for
		// sure, also on a busy machine where one process could otherwise finish before the other begins.
		emu.inject('token', { kind: 'slow', delayMs: 2_000 }, 1);
		const started = Date.now();
		const runs = await Promise.all([credits(), credits(other)]);
		for (const run of runs) expect(run.error).toBeUndefined();
		expect(emu.issuedTokens()).toHaveLength(1);
		expect(emu.requestsTo('token').map((request) => request.status).sort()).toEqual([200, 429]);
		const [{ token, clientId }] = emu.issuedTokens();
		expect(new Set(bearers('credits'))).toEqual(new Set([`Bearer ${token}`]));
		const stored = harness.credentials.get('anon');
		expect(stored.sessionToken).toBe(token);
		expect(stored.clientId).toBe(clientId);
		// The race's 429 (no Retry-After) is answered by the winner's token, not by the 30 s wait of a rate limit.
		expect(Date.now() - started).toBeLessThan(10_000);
	}, 20_000);
});

describe('4. a stored token goes only to the origin that issued it', () => {
	// A second service: the tests use the file's harness against both.
	let second: NemoVideoEmulator;
	withEmulator({ config: { renderMs: 200 }, usedTokens }, (fixture) => (second = fixture.emu));

	test('Base URL changed to a second service: a token is fetched there, the first one is never sent to it', async () => {
		const first = await warm();
		harness.credentials.set('anon', { ...harness.credentials.get('anon'), baseUrl: second.baseUrl });
		const run = await credits();
		expect(run.error).toBeUndefined();
		const everyHeader = second.requests.map((request) => JSON.stringify(request.headers)).join('\n');
		expect(everyHeader).not.toContain(first.token);
		// The first service's client id is not handed to the second either: it would let that host fetch the next token.
		expect(everyHeader).not.toContain(first.clientId);
		expect(second.issuedTokens()).toHaveLength(1);
		const stored = harness.credentials.get('anon');
		expect(stored.sessionToken).toBe(second.issuedTokens()[0].token);
		expect(stored.tokenOrigin).toBe(new URL(second.baseUrl).origin);
		expect(emu.requests).toHaveLength(0);
	});

	test('a token saved before tokenOrigin existed is taken as the default service\'s: never sent to another Base URL', async () => {
		const legacy = await warm();
		harness.credentials.set('anon', { ...harness.credentials.get('anon'), tokenOrigin: '' });
		// A new week for the service: its one token per client id is free again (else it refuses with 429).
		emu.reset();
		expect(issuingOrigin(harness.credentials.get('anon'))).toBe(new URL(DEFAULT_BASE_URL).origin);
		expect(issuingOrigin({ tokenOrigin: second.baseUrl.replace(/\/$/, '') })).toBe(new URL(second.baseUrl).origin);
		const run = await credits();
		expect(run.error).toBeUndefined();
		// The emulator is not the default service: the legacy token stays home and a new one is fetched.
		expect(emu.requests.map((request) => JSON.stringify(request.headers)).join('\n')).not.toContain(legacy.token);
		expect(emu.issuedTokens()).toHaveLength(1);
		expect(harness.credentials.get('anon').tokenOrigin).toBe(new URL(emu.baseUrl).origin);
	});

	test('a credential test after the Base URL was edited (not saved) sends nothing of the first service\'s to the second', async () => {
		const first = await warm();
		const result = await harness.testCredential('anon', { baseUrl: second.baseUrl });
		expect(result.status).toBe('OK');
		const everyHeader = second.requests.map((request) => JSON.stringify(request.headers)).join('\n');
		expect(everyHeader).not.toContain(first.token);
		expect(everyHeader).not.toContain(first.clientId);
		expect(emu.requests).toHaveLength(0);
	});
});

describe('6. cancelling one execution', () => {
	test('does not fail another that shares its in-flight token fetch', async () => {
		// The owner's fetch is refused once (the race answer, no Retry-After) and keeps it re-reading the credential.
		emu.inject('token', { kind: 'rateLimit' }, 1);
		const owner = harness.start({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		await until('the owner\'s token call', () => emu.requestsTo('token').length === 1 && emu.requestsTo('token')[0].status === 429);
		const waiter = harness.start({ credentialId: 'anon', nodes: [{ type: 'nemoVideoCredits', parameters: {} }] });
		// The waiter read the credential (no token yet) and so joined the fetch in flight.
		await until('the second execution to read the credential', () => (harness.credentials.reads.get(waiter.executionId) ?? 0) > 0);
		await new Promise((resolve) => setImmediate(resolve));
		owner.cancel();
		const [cancelled, other] = await Promise.all([owner.done, waiter.done]);
		seen.run(cancelled);
		seen.run(other);
		expect(other.error).toBeUndefined();
		expect(other.output()[0].json.available).toBe(100);
		expect(emu.issuedTokens()).toHaveLength(1);
	}, 20_000);
});

describe('7. a bare HTTP 401 is not "token expired"', () => {
	test('anonymous: a 401 without code 1001 is a clear auth error, with no renewal', async () => {
		await warm();
		emu.inject('credits', { kind: 'unauthorized401' }, 1);
		const run = await credits();
		expect(run.error?.message).toBe('NemoVideo refused the request: HTTP 401 without a token error');
		expect(run.error?.description).toMatch(/Base URL/);
		expect(run.error?.description).toMatch(/not renewed/);
		expect(emu.requestsTo('token')).toHaveLength(0);
		expect(emu.requestsTo('credits')).toHaveLength(1);
	});

	test('own token: a 401 without code 1001 says the same, not "invalid or expired"', async () => {
		emu.inject('credits', { kind: 'unauthorized401' }, 1);
		const run = await credits(harness, 'own');
		expect(run.error?.message).toBe('NemoVideo refused the request: HTTP 401 without a token error');
		expect(emu.requestsTo('token')).toHaveLength(0);
	});

	test('1001 on HTTP 401 still renews', async () => {
		const { token: old } = await warm();
		emu.config.tokenExpiredHttpStatus = 401;
		emu.expireToken(old);
		const run = await credits();
		expect(run.error).toBeUndefined();
		expect(emu.issuedTokens()).toHaveLength(2);
	});
});

describe('8. a Client ID typed in the credential is used exactly as typed', () => {
	const typed = (clientId: string) => harness.credentials.set('anon', { baseUrl: emu.baseUrl, clientId });

	test('65 characters: the node fails before any request, naming the field and the limit; so does the credential test', async () => {
		typed('c'.repeat(65));
		const run = await credits();
		expect(run.error?.message).toBe('NemoVideo API credential: the Client ID is 65 characters long, more than the 64 NemoVideo takes');
		expect(run.error?.description).toBe('Shorten the Client ID in the NemoVideo API credential, or leave it empty to have one made.');
		const tested = await harness.testCredential('anon');
		expect(tested).toEqual({
			status: 'Error',
			message: 'NemoVideo API credential: the Client ID is 65 characters long, more than the 64 NemoVideo takes',
		});
		expect(emu.requests).toHaveLength(0);
		expect(harness.credentials.get('anon').clientId).toBe('c'.repeat(65));
	});

	test('64 characters: sent as it is, kept as it is', async () => {
		typed('d'.repeat(64));
		expect((await credits()).error).toBeUndefined();
		expect(emu.requestsTo('token').map((request) => request.headers['x-client-id'])).toEqual(['d'.repeat(64)]);
		expect(harness.credentials.get('anon').clientId).toBe('d'.repeat(64));
	});

	test('refused by the service (HTTP 400): the node fails naming the field; the typed id is neither replaced nor overwritten', async () => {
		typed('my-typed-client-id');
		emu.inject('token', { kind: 'missingClientId400' }, 1);
		const run = await credits();
		expect(run.error?.message).toBe('Could not get an anonymous NemoVideo token');
		expect(run.error?.description).toBe(
			'NemoVideo refused the Client ID typed in the credential (HTTP 400: Missing X-Client-Id). Correct the Client ID in the NemoVideo API credential, or leave it empty to have one made.',
		);
		expect(emu.requestsTo('token').map((request) => request.headers['x-client-id'])).toEqual(['my-typed-client-id']);
		expect(emu.issuedTokens()).toHaveLength(0);
		expect(harness.credentials.get('anon').clientId).toBe('my-typed-client-id');
	});

	test('refused by the service in a credential test: the test says so, nothing is stored', async () => {
		typed('my-typed-client-id');
		emu.inject('token', { kind: 'missingClientId400' }, 1);
		const tested = await harness.testCredential('anon');
		expect(tested).toEqual({
			status: 'Error',
			message: 'NemoVideo refused the Client ID typed in the credential (HTTP 400: Missing X-Client-Id)',
		});
		expect(emu.requestsTo('token')).toHaveLength(1);
		expect(harness.credentials.get('anon')).toMatchObject({ clientId: 'my-typed-client-id', sessionToken: '', generatedClientId: '' });
	});

	test('with an own access token the Client ID is not used, so its length does not matter', async () => {
		harness.credentials.set('own', { ...harness.credentials.get('own'), clientId: 'e'.repeat(80) });
		expect((await credits(harness, 'own')).error).toBeUndefined();
	});
});

describe('9. a Client ID left empty: made with the first token, kept with the credential', () => {
	test('a fresh credential tested on save: a random one (n8n gives the credential no id to derive from), which every node then uses', async () => {
		expect((await harness.testCredential('anon')).status).toBe('OK');
		const [issued] = emu.issuedTokens();
		expect(issued.clientId).toMatch(UUID_V4);
		expect(issued.clientId).not.toBe(derivedClientId('anon', new URL(emu.baseUrl).origin));
		expect(harness.credentials.get('anon')).toMatchObject({ clientId: issued.clientId, generatedClientId: issued.clientId });
		emu.expireToken(issued.token);
		expect((await credits()).error).toBeUndefined();
		expect(emu.issuedTokens().map((token) => token.clientId)).toEqual([issued.clientId, issued.clientId]);
	});

	test('first fetched by a node: derived from the instance key, the credential and the origin', async () => {
		expect((await credits()).error).toBeUndefined();
		expect(emu.issuedTokens()[0].clientId).toBe(derivedClientId('anon', new URL(emu.baseUrl).origin));
	});

	test('a made one refused by the service (HTTP 400): a new random one, the token fetched with it and kept', async () => {
		emu.inject('token', { kind: 'missingClientId400' }, 1);
		expect((await credits()).error).toBeUndefined();
		const [first, second] = emu.requestsTo('token').map((request) => request.headers['x-client-id']);
		expect(first).toBe(derivedClientId('anon', new URL(emu.baseUrl).origin));
		expect(second).toMatch(UUID_V4);
		expect(harness.credentials.get('anon').clientId).toBe(second);
	});
});
