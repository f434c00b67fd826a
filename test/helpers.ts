/**
 * Helpers shared by the fast suite's files (the emulator fixture itself: fixtures.ts): a leak collector, an inline
 * scripted server for answer shapes the emulator does not produce, a minimal IExecuteFunctions to drive
 * NemoVideoClient directly, a way to give an emulated session a draft over the emulator's own HTTP API, and the
 * contract every package node declares.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ICredentialDataDecryptedObject, IExecuteFunctions, INode, INodeType } from 'n8n-workflow';

import { version } from '../package.json';
import type { NemoVideoEmulator } from './emulator';
import type { WorkflowRun } from './harness';

export const ATTRIBUTION = {
	'x-skill-source': 'n8n-nodes-nemovideo',
	'x-skill-version': version,
	'x-skill-platform': 'n8n',
} as const;

function serialise(value: unknown): string {
	if (value instanceof Error) {
		const plain: Record<string, unknown> = { message: value.message, stack: value.stack };
		for (const key of Object.getOwnPropertyNames(value)) plain[key] = (value as unknown as Record<string, unknown>)[key];
		value = plain;
	}
	try {
		return JSON.stringify(value, (_key, inner: unknown) =>
			inner instanceof Error ? { ...inner, message: inner.message, description: (inner as { description?: unknown }).description } : inner,
		);
	} catch {
		return String(value);
	}
}

/**
 * Everything a user could see from the runs of a test file: error messages, descriptions, the whole error object,
 * and the JSON of every output item of every node. `leaks(tokens)` lists the tokens found in any of it.
 */
export class SeenText {
	readonly texts: string[] = [];

	run(run: WorkflowRun): WorkflowRun {
		const { error } = run;
		if (error) this.texts.push(String(error.message), String(error.description ?? ''), serialise(error));
		for (const tasks of Object.values(run.run.data.resultData.runData)) {
			for (const task of tasks) {
				if (task.error) this.texts.push(serialise(task.error));
				for (const item of task.data?.main?.[0] ?? []) this.texts.push(serialise(item.json));
			}
		}
		return run;
	}

	error(error: unknown): unknown {
		this.texts.push(String((error as Error)?.message), String((error as { description?: unknown })?.description ?? ''), serialise(error));
		return error;
	}

	leaks(tokens: Iterable<string>): string[] {
		const all = this.texts.join('\n');
		return [...new Set(tokens)].filter((token) => token.length >= 8 && all.includes(token));
	}
}

export interface ScriptedAnswer {
	status?: number;
	headers?: Record<string, string>;
	/** A JSON value (serialised) or a raw string. */
	body: unknown;
}

/** A one-route-at-a-time HTTP server that answers what the test scripts, and records what it got. */
export class ScriptedServer {
	readonly requests: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined> }> = [];

	answer: (req: IncomingMessage) => ScriptedAnswer = () => ({ status: 404, body: { code: 404, message: 'no script' } });

	private server?: Server;

	baseUrl = '';

	async start(): Promise<string> {
		this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
			this.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
			req.resume();
			req.on('end', () => {
				const { status = 200, headers = {}, body } = this.answer(req);
				const text = typeof body === 'string' ? body : JSON.stringify(body);
				res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
				res.end(text);
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this.baseUrl;
	}

	async stop(): Promise<void> {
		const server = this.server;
		if (!server) return;
		await new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
	}
}

/**
 * The least of IExecuteFunctions that NemoVideoClient needs for a user's own token: the node, the credential and
 * the execution's cancel signal. Anonymous tokens go through n8n's credential helper: test those with the harness.
 */
export function ownTokenContext(credential: ICredentialDataDecryptedObject, signal?: AbortSignal): IExecuteFunctions {
	const node: INode = {
		id: 'direct',
		name: 'Direct Client',
		type: 'n8n-nodes-nemovideo.nemoVideoCredits',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
		credentials: { nemoVideoApi: { id: 'direct-cred', name: 'direct' } },
	};
	const ctx = {
		getNode: () => node,
		getCredentials: async () => ({ ...credential }),
		getExecutionCancelSignal: () => signal,
		continueOnFail: () => false,
		getInputData: () => [{ json: {} }],
		helpers: {
			httpRequestWithAuthentication: async () => {
				throw new Error('ownTokenContext: anonymous tokens are not supported here (use the harness)');
			},
		},
	};
	return ctx as unknown as IExecuteFunctions;
}

/**
 * Gives a new emulated session a real draft, over the emulator's public HTTP API as any client would: create the
 * session, register photo URLs, and run one /run_sse turn to its end. Returns the session id.
 */
export async function sessionWithDraft(
	baseUrl: string,
	token: string,
	options: { photos?: number; prompt?: string } = {},
): Promise<string> {
	const headers = {
		Authorization: `Bearer ${token}`,
		'X-Skill-Source': ATTRIBUTION['x-skill-source'],
		'X-Skill-Version': ATTRIBUTION['x-skill-version'],
		'X-Skill-Platform': ATTRIBUTION['x-skill-platform'],
		'Content-Type': 'application/json',
	};
	const created = (await (
		await fetch(`${baseUrl}/api/tasks/me/with-session/nemo_agent`, {
			method: 'POST',
			headers,
			body: JSON.stringify({ task_name: 'project', language: 'en' }),
		})
	).json()) as { code: number; data: { session_id: string } };
	if (created.code !== 0) throw new Error(`session: ${JSON.stringify(created)}`);
	const sessionId = created.data.session_id;
	const photos = options.photos ?? 2;
	if (photos > 0) {
		const urls = Array.from({ length: photos }, (_, index) => `https://example.com/photos/photo-${index + 1}.jpg`);
		const uploaded = (await (
			await fetch(`${baseUrl}/api/upload-video/nemo_agent/me/${sessionId}`, {
				method: 'POST',
				headers,
				body: JSON.stringify({ urls, source_type: 'url' }),
			})
		).json()) as { code: number };
		if (uploaded.code !== 0) throw new Error(`upload: ${JSON.stringify(uploaded)}`);
		const sse = await fetch(`${baseUrl}/run_sse`, {
			method: 'POST',
			headers: { ...headers, Accept: 'text/event-stream' },
			body: JSON.stringify({
				app_name: 'nemo_agent',
				user_id: 'me',
				session_id: sessionId,
				new_message: { role: 'user', parts: [{ text: options.prompt ?? 'a slideshow' }] },
			}),
		});
		if (sse.status !== 200) throw new Error(`run_sse: HTTP ${sse.status}`);
		await sse.text();
	}
	return sessionId;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What every node of the package declares: its interface name, the NemoVideo API credential, usable as a tool. */
export function expectPackageNode(node: INodeType, name: string): void {
	expect(node.description.name).toBe(name);
	expect(node.description.usableAsTool).toMatchObject({ replacements: { description: expect.stringMatching(/NemoVideo/) } });
	expect(node.description.credentials).toEqual([expect.objectContaining({ name: 'nemoVideoApi', required: true })]);
}

/** What the emulated service was asked to do, i.e. what could have been charged. */
export function serviceCalls(emu: NemoVideoEmulator) {
	return {
		sessions: emu.requestsTo('session').length,
		uploads: emu.requestsTo('upload').length,
		messages: emu.requestsTo('sse').length,
		renders: emu.requestsTo('renderStart').length,
	};
}
