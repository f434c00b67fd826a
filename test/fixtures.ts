/**
 * The one emulator fixture of the fast suite: an emulator on 127.0.0.1 for the file (or the describe block it is
 * called in), reset before every test with its accounts and a new Harness holding its credentials, stopped at the
 * end. Every test so starts from the same service state and a credential store that no other test wrote to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { NemoVideoEmulator } from './emulator';
import type { EmulatorConfig } from './emulator/types';
import { Harness } from './harness';

export interface EmulatorFixture {
	emu: NemoVideoEmulator;
	harness: Harness;
}

export interface EmulatorFixtureOptions {
	/** The emulator's configuration; `emu.reset()` restores it before every test. */
	config?: Partial<EmulatorConfig>;
	/** A user's own token with plenty of credits (100 000), in the credential `cred-1` (the harness's default). */
	ownToken?: string;
	/** Tokens the emulator knows before every test, with their accounts. */
	tokens?: Record<string, { credits?: number; anonymous?: boolean; userId?: string }>;
	/** The harness's credentials by id; `baseUrl` is the emulator's unless one is given. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/**
	 * A new emulator (so a new origin) for every test instead of one reset between tests: a 429 holds every
	 * request to its origin, and a test that measures waits must not inherit the hold of the test before it.
	 */
	perTest?: boolean;
	/** Receives every token the emulator issued, after each test (for the file's leak check). */
	usedTokens?: Set<string>;
}

/**
 * Registers the hooks; `onEach` receives the emulator and the new harness before every test (after the reset,
 * before the file's own beforeEach hooks). Returns the fixture, whose fields are the current test's.
 */
export function withEmulator(
	options: EmulatorFixtureOptions = {},
	onEach: (fixture: EmulatorFixture) => void = () => {},
): EmulatorFixture {
	const fixture = {} as EmulatorFixture;
	let shared: NemoVideoEmulator | undefined;

	const prepare = (emu: NemoVideoEmulator) => {
		if (options.ownToken) emu.addToken(options.ownToken, { credits: 100_000, anonymous: false });
		for (const [token, account] of Object.entries(options.tokens ?? {})) emu.addToken(token, { anonymous: false, ...account });
		const harness = new Harness();
		if (options.ownToken) harness.credentials.set('cred-1', { baseUrl: emu.baseUrl, accessToken: options.ownToken });
		for (const [id, data] of Object.entries(options.credentials ?? {})) harness.credentials.set(id, { baseUrl: emu.baseUrl, ...data });
		fixture.emu = emu;
		fixture.harness = harness;
		onEach(fixture);
	};

	if (options.perTest) {
		beforeEach(async () => {
			const emu = new NemoVideoEmulator(options.config);
			await emu.start();
			prepare(emu);
		});
	} else {
		beforeAll(async () => {
			shared = new NemoVideoEmulator(options.config);
			await shared.start();
		});
		afterAll(async () => await shared?.stop());
		beforeEach(() => {
			shared!.reset();
			prepare(shared!);
		});
	}
	afterEach(async () => {
		const emu = fixture.emu;
		for (const { token } of emu.issuedTokens()) options.usedTokens?.add(token);
		if (options.perTest) await emu.stop();
	});
	return fixture;
}

/** A folder for the files a test file writes, removed after its last test. */
export function scratchFolder(prefix: string): string {
	const folder = mkdtempSync(join(tmpdir(), `nemovideo-${prefix}-`));
	afterAll(() => rmSync(folder, { recursive: true, force: true }));
	return folder;
}

/**
 * A session made as a workflow makes it: Read Files → Upload (one session for all the photos), then Generate with
 * `prompt` unless it is `false`. Returns the session id.
 */
export async function sessionThroughNodes(
	harness: Harness,
	photos: string[],
	options: { prompt?: string | false; credentialId?: string } = {},
): Promise<string> {
	const prompt = options.prompt ?? 'slideshow';
	const run = await harness.run({
		credentialId: options.credentialId,
		nodes: [
			{ type: 'test.readFiles', parameters: { paths: JSON.stringify(photos) } },
			{ type: 'nemoVideoUpload', parameters: { sessionId: '' } },
			...(prompt === false ? [] : [{ type: 'nemoVideoGenerate', parameters: { prompt } }]),
		],
	});
	expect(run.error).toBeUndefined();
	return run.output()[0].json.sessionId as string;
}
