import type { ExecutionBaseError, IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { waitForRender } from './polling';
import { readSessionState } from './session';
import type { RenderFile, RenderStatus } from './transport/api';
import { cancelRender, downloadRender, renderStatus, startRender } from './transport/api';
import type { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';
import type { ExportSettings } from './exportParameters';

// ---- the ids an error carries ---------------------------------------------------------------------

/**
 * Puts the render's ids on an error, where n8n keeps an error's details (`context`), so that the item loop can
 * copy them into the error item under Continue On Fail and a caller can resume without parsing text.
 */
function withRenderIds<E extends ExecutionBaseError>(error: E, ids: RenderIds): E {
	const nemoVideo: RenderIds = { sessionId: ids.sessionId, renderId: ids.renderId, failedRenderIds: [...ids.failedRenderIds] };
	if (ids.url) nemoVideo.url = ids.url;
	error.context.nemoVideo = nemoVideo;
	return error;
}

function renderLabel(ids: RenderIds): string {
	return ids.sessionId ? `render ${ids.renderId} of session ${ids.sessionId}` : `render ${ids.renderId}`;
}

/** What to do to get a started render without paying for another: name it by its id (and its session). */
function resumeAdvice(ids: RenderIds): string {
	const session = ids.sessionId ? ` (Session ID ${ids.sessionId})` : '';
	return `To get it without rendering again, run NemoVideo Export & Wait with the option "Resume Render ID" (options.renderId) set to ${ids.renderId}${session}.`;
}

/** Seconds below two minutes, minutes above: "45 s", "20 minutes". */
function describeWait(ms: number): string {
	return ms < 120_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms / 6_000) / 10} minutes`;
}

// ---- the render -----------------------------------------------------------------------------------

/** Cancels a render because the execution was cancelled: best effort, bounded, the execution ends either way. */
async function cancelQuietly(client: NemoVideoClient, renderId: string): Promise<void> {
	try {
		await cancelRender(client, renderId, { signal: AbortSignal.timeout(10_000) });
	} catch {
		// Best effort: the execution is being cancelled either way.
	}
}

function safeFileName(name: string): string {
	return name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'nemovideo';
}

/** Where a download came from, for the error: the URL without its query (it may hold a CDN signature). */
function describeSource(source: RenderFile): string {
	if ('renderId' in source) return "NemoVideo's download endpoint";
	try {
		const url = new URL(source.url);
		return `the video URL ${url.origin}${url.pathname}`;
	} catch {
		return 'the video URL';
	}
}

/**
 * Streams the MP4 into n8n's binary store: from the URL the service gave (fetched as given), else from its
 * authenticated endpoint (a path under the base URL). An empty file is no video either.
 */
async function downloadVideo(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	status: RenderStatus,
	ids: RenderIds,
	fileName: string,
	bound: { itemIndex: number; timeoutMs: number },
): Promise<IBinaryData> {
	const { itemIndex } = bound;
	const endpoint: RenderFile = { renderId: status.renderId };
	const sources: RenderFile[] = status.url ? [{ url: status.url }, endpoint] : [endpoint];
	const problems: string[] = [];
	// The whole download has a deadline too, not only a limit on each silence between two chunks.
	const deadline = Date.now() + bound.timeoutMs;
	for (const source of sources) {
		try {
			const video = await downloadRender(client, source, { itemIndex, deadline });
			const binary = await ctx.helpers.prepareBinaryData(video, fileName, 'video/mp4');
			if (binary.bytes !== 0) return binary;
			problems.push(`${describeSource(source)} gave an empty file`);
		} catch (error) {
			if (ctx.getExecutionCancelSignal()?.aborted) throw asNodeError(ctx.getNode(), error, itemIndex);
			const why = Date.now() >= deadline ? `not done within ${describeWait(bound.timeoutMs)}` : ((error as Error)?.message ?? 'unknown error');
			problems.push(`${describeSource(source)}: ${why}`);
		}
	}
	const error = new NodeOperationError(ctx.getNode(), `The video of ${renderLabel(ids)} could not be downloaded`, {
		itemIndex,
		description: `${problems.join('; ')}. The render is finished and stays available: no need to render again. ${resumeAdvice(ids)} Or turn "Download" off to output only its URL.`,
	});
	throw withRenderIds(error, { ...ids, url: status.url ?? undefined });
}

const pendingStatus = (renderId: string): RenderStatus => ({
	renderId,
	status: 'pending',
	progress: null,
	url: null,
	durationSeconds: null,
	sizeBytes: null,
});

/** How waiting ended: the render completed, or the deadline came and its status is the output (On Timeout). */
type WaitResult = { completed: RenderStatus } | { atDeadline: INodeExecutionData };

/** One Export & Wait of one item: the render it started or took up, the renders that failed, the polls made. */
class ExportRun {
	private current?: RenderStatus;

	private readonly failedRenderIds: string[] = [];

	private polls = 0;

	private readonly deadline: number;

	private readonly signal?: AbortSignal;

	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly client: NemoVideoClient,
		private readonly sessionId: string,
		private readonly settings: ExportSettings,
		private readonly itemIndex: number,
	) {
		this.deadline = Date.now() + settings.timeoutMs;
		this.signal = ctx.getExecutionCancelSignal();
	}

	get ids(): RenderIds {
		const ids: RenderIds = { sessionId: this.sessionId, renderId: this.current?.renderId ?? '', failedRenderIds: this.failedRenderIds };
		if (this.current?.url) ids.url = this.current.url;
		return ids;
	}

	/**
	 * Starts a render of the session's draft, or takes up the one named by its id. Returns what to report when
	 * the node does not wait: with a render id that is one status check, as a status tool would make.
	 */
	async startOrResume(): Promise<RenderStatus> {
		const { resumeRenderId, waitForCompletion } = this.settings;
		if (!resumeRenderId) return (this.current = await this.startFromDraft());
		this.current = pendingStatus(resumeRenderId);
		if (waitForCompletion) return this.current;
		return await renderStatus(this.client, resumeRenderId, { itemIndex: this.itemIndex, signal: this.signal });
	}

	/**
	 * Waits for the render with bounded polling; a failed render is started once more with a new id (the
	 * documented rule). Returns the completed render, or the output at the deadline when On Timeout says so.
	 */
	async waitWithOneRetry(started: RenderStatus): Promise<WaitResult> {
		for (let current = started; ; ) {
			const outcome = await waitForRender(this.client, current.renderId, {
				itemIndex: this.itemIndex,
				deadline: this.deadline,
				maxIntervalMs: this.settings.pollIntervalSeconds * 1000,
				signal: this.signal,
				onStatus: this.settings.onStatus,
			});
			this.polls += outcome.polls;
			if (outcome.kind === 'deadline') return { atDeadline: this.atDeadline(current, outcome.last) };
			this.current = current = outcome.status;
			if (current.status === 'completed') return { completed: current };
			if (current.status === 'failed') this.failedRenderIds.push(current.renderId);
			if (current.status === 'failed' && this.failedRenderIds.length === 1 && this.sessionId) {
				this.current = current = await this.startFromDraft();
				continue;
			}
			const what = this.sessionId ? `session ${this.sessionId}` : `render ${current.renderId}`;
			throw this.fail(`NemoVideo could not render ${what}`, renderFailure(current, this.failedRenderIds, this.sessionId));
		}
	}

	/** The output of a completed render, with the MP4 streamed into binary data unless Download is off. */
	async completed(current: RenderStatus): Promise<INodeExecutionData> {
		const { settings } = this;
		const json: IDataObject = { sessionId: this.sessionId, ...current, status: 'completed', polls: this.polls, ...this.failedField() };
		if (!settings.download) return { json };
		const shortId = current.renderId.replace(/^render_/, '').slice(0, 8);
		const name = safeFileName(settings.fileName ?? `nemovideo-${this.sessionId || 'render'}-${shortId}.${settings.format}`);
		const fileName = name.includes('.') ? name : `${name}.${settings.format}`;
		const binary = await downloadVideo(this.ctx, this.client, current, this.ids, fileName, {
			itemIndex: this.itemIndex,
			timeoutMs: settings.timeoutMs,
		});
		json.fileName = binary.fileName ?? fileName;
		if (current.sizeBytes === null && binary.bytes !== undefined) json.sizeBytes = binary.bytes;
		return { json, binary: { [settings.binaryPropertyName]: binary } };
	}

	/**
	 * The error to throw once a render exists: it names the render and carries its ids; a cancelled execution
	 * cancels the render; a poll that kept failing leaves the render running, so the error says how to pick it up.
	 */
	async failed(error: unknown): Promise<ExecutionBaseError> {
		const { current, signal } = this;
		if (signal?.aborted && current) await cancelQuietly(this.client, current.renderId);
		const nodeError = asNodeError(this.ctx.getNode(), error, this.itemIndex);
		// A start whose outcome stayed unknown names the render that may have started (api.ts startRender).
		const mayHaveStarted = renderIdsOf(nodeError)?.renderId;
		const ids = mayHaveStarted && mayHaveStarted !== current?.renderId ? { ...this.ids, renderId: mayHaveStarted } : this.ids;
		if (!current) return mayHaveStarted ? withRenderIds(nodeError, ids) : nodeError;
		const stillRunning = !signal?.aborted && current.status !== 'failed';
		if (!renderIdsOf(nodeError) && stillRunning) {
			nodeError.description = `${nodeError.description ?? ''} This concerns ${renderLabel(this.ids)}, which may still be running. ${resumeAdvice(this.ids)}`.trim();
		}
		return withRenderIds(nodeError, ids);
	}

	private atDeadline(current: RenderStatus, last: RenderStatus | undefined): INodeExecutionData {
		if (this.settings.onTimeout === 'returnStatus') {
			return { json: { sessionId: this.sessionId, ...(last ?? current), polls: this.polls, ...this.failedField() } };
		}
		const progress = last?.progress != null ? `, ${last.progress}%` : '';
		throw this.fail(
			`The ${renderLabel(this.ids)} did not finish within ${describeWait(this.settings.timeoutMs)}`,
			`The render is still running on NemoVideo (last status: ${last?.status ?? 'unknown'}${progress}). ${resumeAdvice(this.ids)} Or raise "Timeout (Minutes)", or set "On Timeout" to output the status instead of failing.`,
		);
	}

	private failedField(): IDataObject {
		return this.failedRenderIds.length ? { failedRenderIds: this.failedRenderIds } : {};
	}

	private fail(message: string, description: string): NodeOperationError {
		return withRenderIds(new NodeOperationError(this.ctx.getNode(), message, { itemIndex: this.itemIndex, description }), this.ids);
	}

	private async startFromDraft(): Promise<RenderStatus> {
		const { sessionId, itemIndex } = this;
		const state = await readSessionState(this.client, sessionId, itemIndex);
		if (!state.readyToExport) {
			throw new NodeOperationError(this.ctx.getNode(), `Nothing to export in session ${sessionId}: its timeline is empty`, {
				itemIndex,
				description:
					'No track of the session has segments yet. Upload photos and run NemoVideo Generate (for example "turn these photos into a slideshow") before exporting.',
			});
		}
		const output = { format: this.settings.format, quality: this.settings.quality };
		return await startRender(this.client, { sessionId, draft: state.draft, output }, { itemIndex });
	}
}

/**
 * Export & Wait: starts a render of the session's draft (or resumes one by its id, or checks its status once),
 * waits with bounded polling, retries a failed render once with a new id, and streams the MP4 into binary data.
 * Every error once a render exists names it and carries its ids (renderIdsOf).
 */
export async function exportSession(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	sessionId: string,
	settings: ExportSettings,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const run = new ExportRun(ctx, client, sessionId, settings, itemIndex);
	let outcome: WaitResult;
	try {
		const started = await run.startOrResume();
		if (!settings.waitForCompletion) return { json: { sessionId, ...started } };
		outcome = await run.waitWithOneRetry(started);
	} catch (error) {
		throw await run.failed(error);
	}
	return 'atDeadline' in outcome ? outcome.atDeadline : await run.completed(outcome.completed);
}

/** Statuses the API documents for a render that ended (docs/nemovideo-api.md, Endpoints 8), cancelled included. */
const DOCUMENTED_ENDINGS = new Set(['completed', 'failed', 'cancelled', 'canceled']);

function renderFailure(current: RenderStatus, failedRenderIds: string[], sessionId: string): string {
	const said = current.statusMessage ? ` The service said: "${current.statusMessage}".` : '';
	if (!DOCUMENTED_ENDINGS.has(current.status)) {
		const found = current.url ? `It gave a URL, which may hold the video: ${current.url}.` : 'It may still finish: check it later with Export & Wait and "Resume Render ID" set to its ID.';
		return `NemoVideo answered status "${current.status}" for render ${current.renderId}, which is not one the API documents (pending, processing, completed, failed).${said} ${found}`;
	}
	if (current.status !== 'failed') return `Render ${current.renderId} ended with status "${current.status}".${said} Run Export & Wait again to start a new render.`;
	if (failedRenderIds.length > 1) {
		return `Render ${failedRenderIds[0]} failed, and so did the retry ${failedRenderIds[1]}. Try again later; if it keeps failing, simplify the timeline with NemoVideo Generate.`;
	}
	return `Render ${current.renderId} failed${sessionId ? '' : ', and without a Session ID it cannot be retried'}. Run Export & Wait with the session's Session ID and "Resume Render ID" empty to start a new render.`;
}

/** The ids an Export error carries (see withRenderIds), for error items and callers; undefined on other errors. */
export interface RenderIds extends IDataObject {
	sessionId: string;
	renderId: string;
	failedRenderIds: string[];
	url?: string;
}

export function renderIdsOf(error: unknown): RenderIds | undefined {
	const context = (error as { context?: { nemoVideo?: unknown } } | undefined)?.context;
	const ids = context?.nemoVideo as RenderIds | undefined;
	return ids && typeof ids === 'object' && typeof ids.renderId === 'string' ? ids : undefined;
}
