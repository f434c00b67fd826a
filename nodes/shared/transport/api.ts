import type { ExecutionBaseError, IDataObject } from 'n8n-workflow';
import type { Readable } from 'node:stream';

import { APP_NAME } from '../constants';
import { uuid } from '../vendor';
import type { CallOptions, NemoVideoClient } from './client';
import { inArrivalChunks } from './download';
import { asNodeError, isNemoVideoError } from './errors';
import type { UploadPart } from './multipart';
import { multipartBody } from './multipart';
import type { HttpResponse } from './send';
import { CREDITS_PATH } from './tokenCalls';
import { sleepUnlessCancelled } from './wait';

/**
 * Every endpoint of the NemoVideo API, each with typed arguments and a typed answer. Calls go through the retry
 * engine (client.ts), except the anonymous token call (1) and the token check, which the token keeper (auth.ts)
 * sends through n8n's helpers: those are defined below both, in tokenCalls.ts, with the balance's path (5). The
 * paths, numbered as in docs/nemovideo-api.md (Endpoints), use `me` for the token's user.
 */
const id = encodeURIComponent;
const SESSION_PATH = `/api/tasks/me/with-session/${APP_NAME}`; // 2
const RUN_SSE_PATH = '/run_sse'; // 3
const uploadPath = (sessionId: string) => `/api/upload-video/${APP_NAME}/me/${id(sessionId)}`; // 4
const statePath = (sessionId: string) => `/api/state/${APP_NAME}/me/${id(sessionId)}/latest`; // 6
const RENDER_PATH = '/api/render/proxy/lambda'; // 7
const renderStatusPath = (renderId: string) => `${RENDER_PATH}/${id(renderId)}`; // 8, and + /cancel
const renderDownloadPath = (renderId: string) => `/api/render/proxy/${id(renderId)}/download`; // 8, the fallback download

/** Which item a call is for (named in its errors) and what else may end it. */
export interface CallContext {
	itemIndex?: number;
	signal?: AbortSignal;
	/** When the call must have ended, its retries included (epoch ms): a bounded tool call, a wait's deadline. */
	deadline?: number;
}

/** The item, signal and deadline of a call, as the client takes them. */
function bounds(call: CallContext): Pick<CallOptions, 'itemIndex' | 'signal' | 'deadline'> {
	return { itemIndex: call.itemIndex, signal: call.signal, deadline: call.deadline };
}

// ---- reading answers -------------------------------------------------------------------------------------

/** A number the service sent (as a number or as its digits), else null: never a guess. */
function numberOrNull(value: unknown): number | null {
	if (typeof value === 'number') return Number.isFinite(value) ? value : null;
	if (typeof value !== 'string' || value.trim() === '') return null;
	const number = Number(value);
	return Number.isFinite(number) ? number : null;
}

// ---- sessions and credits --------------------------------------------------------------------------------

export interface Session {
	sessionId: string;
	taskId?: string;
}

/** A new session (and its task). */
export async function createSession(client: NemoVideoClient, call: CallContext = {}): Promise<Session> {
	const data = await client.call<IDataObject>({
		method: 'POST',
		path: SESSION_PATH,
		json: { task_name: 'project', language: 'en' },
		...bounds(call),
	});
	// A string even when the service wrote a JSON number: the client keeps long integers as their digits.
	const sessionId = data.session_id;
	if (typeof sessionId !== 'string' && !(typeof sessionId === 'number' && Number.isSafeInteger(sessionId))) {
		throw client.toError(
			{ kind: 'badResponse', operation: `POST ${SESSION_PATH}`, serviceMessage: 'no session_id' },
			undefined,
			{ method: 'POST', path: '', itemIndex: call.itemIndex },
		);
	}
	return { sessionId: String(sessionId), taskId: data.task_id as string | undefined };
}

/** The session's latest state as the service answers it (session.ts reads it). */
export async function state(client: NemoVideoClient, sessionId: string, call: CallContext = {}): Promise<IDataObject> {
	return await client.call<IDataObject>({ method: 'GET', path: statePath(sessionId), ...bounds(call) });
}

export interface Balance {
	available: number;
	frozen: number;
	total: number;
}

/** The credit balance of the token's user. */
export async function credits(client: NemoVideoClient, call: CallContext = {}): Promise<Balance> {
	const data = await client.call<IDataObject>({ method: 'GET', path: CREDITS_PATH, ...bounds(call) });
	const available = Number(data.available ?? 0);
	const frozen = Number(data.frozen ?? 0);
	return { available, frozen, total: Number(data.total ?? available + frozen) };
}

// ---- upload ------------------------------------------------------------------------------------------------

export type { UploadPart };

export interface UploadedFile extends IDataObject {
	filename: string;
	fileType: string;
	cdnUrl: string;
	width: number | null;
	height: number | null;
	duration: number | null;
}

function toUploadedFile(value: unknown): UploadedFile {
	const file = (value ?? {}) as IDataObject;
	return {
		filename: String(file.filename ?? file.name ?? ''),
		fileType: String(file.file_type ?? file.fileType ?? ''),
		cdnUrl: String(file.cdn_url ?? file.cdnUrl ?? file.url ?? ''),
		width: numberOrNull(file.width),
		height: numberOrNull(file.height),
		duration: numberOrNull(file.duration),
		...(file.fps !== undefined ? { fps: file.fps as number } : {}),
		...(file.hash !== undefined ? { hash: String(file.hash) } : {}),
	};
}

/** The upload call, for either body; the service answers what it made of each file. */
async function upload(
	client: NemoVideoClient,
	sessionId: string,
	call: CallContext,
	body: Pick<CallOptions, 'json' | 'stream' | 'fileName' | 'bodyTimeoutMs'>,
): Promise<UploadedFile[]> {
	const path = uploadPath(sessionId);
	const data = await client.call<IDataObject>({ method: 'POST', path, ...bounds(call), headersTimeoutMs: 300_000, ...body });
	return ((data.files as unknown[] | undefined) ?? []).map(toUploadedFile);
}

/** Upload, multipart: these files, in one request (a retry reopens them). */
export async function uploadFiles(
	client: NemoVideoClient,
	files: { sessionId: string; files: UploadPart[] },
	call: CallContext = {},
): Promise<UploadedFile[]> {
	return await upload(client, files.sessionId, call, {
		fileName: files.files.map((file) => file.fileName).join(', '),
		bodyTimeoutMs: 300_000,
		stream: async () => multipartBody(files.files),
	});
}

/** Upload, JSON: the service fetches the files at these URLs itself. */
export async function uploadUrls(
	client: NemoVideoClient,
	urls: { sessionId: string; urls: string[] },
	call: CallContext = {},
): Promise<UploadedFile[]> {
	return await upload(client, urls.sessionId, call, { json: { urls: urls.urls, source_type: 'url' } });
}

// ---- the AI ---------------------------------------------------------------------------------------------------

/**
 * Sends one message to the AI and opens the answer's event stream, handed back unread (sse.ts reads it).
 * Not idempotent: the message is never sent again once it may have been taken (that would charge twice).
 */
export async function runSse(
	client: NemoVideoClient,
	message: { sessionId: string; prompt: string },
	call: CallContext = {},
): Promise<HttpResponse> {
	const { response } = await client.open({
		method: 'POST',
		path: RUN_SSE_PATH,
		accept: 'text/event-stream',
		json: {
			app_name: APP_NAME,
			user_id: 'me',
			session_id: message.sessionId,
			new_message: { role: 'user', parts: [{ text: message.prompt }] },
		},
		idempotent: false,
		itemIndex: call.itemIndex,
		headersTimeoutMs: 120_000,
		// The stream is bounded by its reader (its time bounds), not by a silence limit here.
		bodyTimeoutMs: 0,
		signal: call.signal,
	});
	return response;
}

// ---- render -----------------------------------------------------------------------------------------------------

export interface RenderStatus extends IDataObject {
	renderId: string;
	status: string;
	progress: number | null;
	url: string | null;
	durationSeconds: number | null;
	sizeBytes: number | null;
	/** What the service said about the render (its `error` or `message`), when it said anything. */
	statusMessage?: string;
}

/** Reads either documented poll shape: top level `{status, output:{url}}` or wrapped `{data:{status, outputUrl}}`. */
export function readRenderStatus(renderId: string, answer: unknown): RenderStatus {
	const body = (answer ?? {}) as IDataObject;
	const b = ((body.data && typeof body.data === 'object' ? body.data : body) ?? {}) as IDataObject;
	const output = (b.output ?? {}) as IDataObject;
	const url = output.url ?? b.outputUrl ?? b.output_url ?? b.url;
	const said = [b.error, b.message, b.msg].find((value): value is string => typeof value === 'string' && value.trim() !== '');
	return {
		...(said ? { statusMessage: said.trim().slice(0, 500) } : {}),
		renderId: String(b.id ?? renderId),
		status: String(b.status ?? 'pending').toLowerCase(),
		progress: numberOrNull(b.progress),
		url: typeof url === 'string' && url ? url : null,
		durationSeconds: numberOrNull(output.duration ?? b.duration),
		sizeBytes: numberOrNull(output.size ?? b.size),
	};
}

export interface RenderRequest {
	sessionId: string;
	draft: IDataObject;
	output: { format: string; quality: string };
}

/** Failures that leave a render start's outcome unknown: the service may have started it and lost only the answer. */
const UNKNOWN_OUTCOME: ReadonlySet<string> = new Set(['serverError', 'network', 'timeout', 'badResponse']);
const RENDER_START_ATTEMPTS = 3;
const RENDER_START_BACKOFF_MS = 1_000;

/**
 * Starts a render under a new unique id (a failed render is retried by the caller under another). Rendering costs
 * no credits (docs/nemovideo-api.md, Endpoints 7), and after a charged AI message a lost start would end a paid
 * job: a start that failed with a 5xx or a dropped connection is tried again under the same id, after asking for
 * the render by that id first (issue 16 §1). One render runs, whatever the answers were.
 */
export async function startRender(client: NemoVideoClient, render: RenderRequest, call: CallContext = {}): Promise<RenderStatus> {
	const renderId = `render_${uuid()}`;
	const json = { id: renderId, sessionId: render.sessionId, draft: render.draft, output: render.output };
	for (let attempt = 1; ; attempt++) {
		try {
			// Not idempotent for the client: it sends it again only when the answer proves it was not done (429, 1001, 400).
			const answer = await client.call({ method: 'POST', path: RENDER_PATH, json, idempotent: false, ...bounds(call) });
			return { ...readRenderStatus(renderId, answer), renderId };
		} catch (error) {
			const failure = asNodeError(client.node, error, call.itemIndex);
			// The id was taken after all: the start before this one reached the service.
			if (attempt > 1 && isNemoVideoError(failure) && failure.httpStatus === 409) return await renderStatus(client, renderId, call);
			if (!isNemoVideoError(failure) || !UNKNOWN_OUTCOME.has(failure.kind)) throw failure;
			if (attempt >= RENDER_START_ATTEMPTS) throw mayHaveStarted(failure, renderId);
			const started = await renderIfStarted(client, renderId, call);
			if (started) return started;
			await sleepUnlessCancelled(RENDER_START_BACKOFF_MS, client.cancelSignal);
		}
	}
}

/** The render of this id, or undefined when the service answers that it has none (HTTP 404). */
async function renderIfStarted(client: NemoVideoClient, renderId: string, call: CallContext): Promise<RenderStatus | undefined> {
	try {
		return await renderStatus(client, renderId, call);
	} catch (error) {
		if (isNemoVideoError(error) && error.httpStatus === 404) return undefined;
		throw mayHaveStarted(asNodeError(client.node, error, call.itemIndex), renderId);
	}
}

/**
 * A start whose outcome stayed unknown: the service may have taken it. The error carries the render's id (as
 * Export & Wait's errors do, `context.nemoVideo`), so that the render is named and can be picked up, not started
 * a second time.
 */
function mayHaveStarted(error: ExecutionBaseError, renderId: string): ExecutionBaseError {
	error.context.nemoVideo = { ...((error.context.nemoVideo as IDataObject | undefined) ?? {}), renderId, failedRenderIds: [] };
	error.description = `${error.description ?? ''} The render may have started anyway, as ${renderId}: run NemoVideo Export & Wait with "Resume Render ID" set to it before starting another.`.trim();
	return error;
}

/** One status check of a render. A read: safe to repeat. */
export async function renderStatus(client: NemoVideoClient, renderId: string, call: CallContext = {}): Promise<RenderStatus> {
	const answer = await client.call({
		method: 'GET',
		path: renderStatusPath(renderId),
		...bounds(call),
		headersTimeoutMs: 30_000,
	});
	return readRenderStatus(renderId, answer);
}

/**
 * Cancels a render. Sent because the execution was cancelled, so that cancel does not
 * stop it: only `call.signal` bounds it.
 */
export async function cancelRender(client: NemoVideoClient, renderId: string, call: CallContext = {}): Promise<void> {
	await client.call({
		method: 'POST',
		path: `${renderStatusPath(renderId)}/cancel`,
		json: {},
		idempotent: true,
		ignoreExecutionCancel: true,
		signal: call.signal,
	});
}

/** Where a finished video is: the URL the service gave (fetched as given), or the render's download endpoint. */
export type RenderFile = { url: string } | { renderId: string };

/**
 * Streams a finished video: its bytes as they arrive, for n8n's binary store (download.ts, inArrivalChunks); an
 * answer that is not a file is refused (client.ts, download).
 */
export async function downloadRender(client: NemoVideoClient, file: RenderFile, call: CallContext = {}): Promise<Readable> {
	const source = 'url' in file ? { url: file.url } : { path: renderDownloadPath(file.renderId) };
	return inArrivalChunks((await client.download(source, call)).body);
}
