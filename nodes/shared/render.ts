import type { ExecutionBaseError, IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { waitForRender } from './polling';
import { readSessionState } from './session';
import type { RenderFile, RenderStatus } from './transport/api';
import { cancelRender, downloadRender, renderStatus, startRender } from './transport/api';
import type { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';

/** What a render still running at the deadline becomes: an error, or a normal item with its status. */
export type OnTimeout = 'fail' | 'returnStatus';

export interface ExportSettings {
	format: string;
	quality: string;
	waitForCompletion: boolean;
	download: boolean;
	binaryPropertyName: string;
	pollIntervalSeconds: number;
	/** How long to wait for the render: the node's Timeout (Minutes), or a caller's bound (tool mode). */
	timeoutMs: number;
	onTimeout: OnTimeout;
	/** Resume waiting on a render started earlier instead of starting one. */
	resumeRenderId?: string;
	fileName?: string;
}

/**
 * Reads the export parameters shared by Export & Wait and Photo to Video. `overrides` are what a caller imposes
 * whatever the parameters say (Photo to Video and tool mode: `{ download: false, onTimeout: 'returnStatus',
 * timeoutMs }`); an override left undefined changes nothing.
 */
export function exportSettings(
	ctx: IExecuteFunctions,
	itemIndex: number,
	overrides: Partial<ExportSettings> = {},
): ExportSettings {
	const get = <T>(name: string, fallback: T) => ctx.getNodeParameter(name, itemIndex, fallback) as T;
	const onTimeout = get<string>('options.onTimeout', 'fail');
	const read: ExportSettings = {
		format: get('format', 'mp4'),
		quality: get('quality', 'high'),
		waitForCompletion: get('waitForCompletion', true),
		download: get('download', true),
		binaryPropertyName: get('binaryPropertyName', 'data') || 'data',
		pollIntervalSeconds: get('pollIntervalSeconds', 30),
		timeoutMs: get('timeoutMinutes', 20) * 60_000,
		onTimeout: onTimeout === 'returnStatus' ? 'returnStatus' : 'fail',
		resumeRenderId: String(get('options.renderId', '') ?? '').trim() || undefined,
		fileName: String(get('options.fileName', '') ?? '').trim() || undefined,
	};
	const imposed = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
	return { ...read, ...imposed };
}

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
	itemIndex: number,
): Promise<IBinaryData> {
	const endpoint: RenderFile = { renderId: status.renderId };
	const sources: RenderFile[] = status.url ? [{ url: status.url }, endpoint] : [endpoint];
	const problems: string[] = [];
	for (const source of sources) {
		try {
			const response = await downloadRender(client, source, { itemIndex });
			const binary = await ctx.helpers.prepareBinaryData(response.body, fileName, 'video/mp4');
			if (binary.bytes !== 0) return binary;
			problems.push(`${describeSource(source)} gave an empty file`);
		} catch (error) {
			if (ctx.getExecutionCancelSignal()?.aborted) throw asNodeError(ctx.getNode(), error, itemIndex);
			problems.push(`${describeSource(source)}: ${(error as Error)?.message ?? 'unknown error'}`);
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
	const node = ctx.getNode();
	const deadline = Date.now() + settings.timeoutMs;
	const failedRenderIds: string[] = [];
	const signal = ctx.getExecutionCancelSignal();
	let current: RenderStatus | undefined;
	const ids = (): RenderIds => ({ sessionId, renderId: current?.renderId ?? '', failedRenderIds });
	const fail = (message: string, description: string) =>
		withRenderIds(new NodeOperationError(node, message, { itemIndex, description }), ids());

	const startFromDraft = async (): Promise<RenderStatus> => {
		const state = await readSessionState(client, sessionId, itemIndex);
		if (!state.readyToExport) {
			throw new NodeOperationError(node, `Nothing to export in session ${sessionId}: its timeline is empty`, {
				itemIndex,
				description:
					'No track of the session has segments yet. Upload photos and run NemoVideo Generate (for example "turn these photos into a slideshow") before exporting.',
			});
		}
		const output = { format: settings.format, quality: settings.quality };
		return await startRender(client, { sessionId, draft: state.draft, output }, { itemIndex });
	};

	let polls = 0;
	try {
		if (settings.resumeRenderId) {
			current = pendingStatus(settings.resumeRenderId);
			// Wait for Completion off with a render id: one status check, as a status tool would.
			if (!settings.waitForCompletion) return { json: { sessionId, ...(await renderStatus(client, current.renderId, { itemIndex, signal })) } };
		} else {
			current = await startFromDraft();
			if (!settings.waitForCompletion) return { json: { sessionId, ...current } };
		}

		for (;;) {
			const outcome = await waitForRender(client, current.renderId, {
				itemIndex,
				deadline,
				maxIntervalMs: settings.pollIntervalSeconds * 1000,
				signal,
			});
			polls += outcome.polls;
			if (outcome.kind === 'deadline') {
				const last = outcome.last ?? current;
				if (settings.onTimeout === 'returnStatus') {
					return { json: { sessionId, ...last, polls, ...(failedRenderIds.length ? { failedRenderIds } : {}) } };
				}
				throw fail(
					`The ${renderLabel(ids())} did not finish within ${describeWait(settings.timeoutMs)}`,
					`The render is still running on NemoVideo (last status: ${outcome.last?.status ?? 'unknown'}${outcome.last?.progress != null ? `, ${outcome.last.progress}%` : ''}). ${resumeAdvice(ids())} Or raise "Timeout (Minutes)", or set "On Timeout" to output the status instead of failing.`,
				);
			}
			current = outcome.status;
			if (current.status === 'completed') break;
			if (current.status === 'failed') failedRenderIds.push(current.renderId);
			if (current.status === 'failed' && failedRenderIds.length === 1 && sessionId) {
				// The documented rule: one more try, with a new render id.
				current = await startFromDraft();
				continue;
			}
			throw fail(`NemoVideo could not render ${sessionId ? `session ${sessionId}` : `render ${current.renderId}`}`, renderFailure(current, failedRenderIds, sessionId));
		}
	} catch (error) {
		if (signal?.aborted && current) await cancelQuietly(client, current.renderId);
		const nodeError = asNodeError(node, error, itemIndex);
		if (!current) throw nodeError;
		// A poll that kept failing leaves the render running: say which one, and how to pick it up.
		const stillRunning = !signal?.aborted && current.status !== 'failed';
		if (!renderIdsOf(nodeError) && stillRunning) {
			nodeError.description = `${nodeError.description ?? ''} This concerns ${renderLabel(ids())}, which may still be running. ${resumeAdvice(ids())}`.trim();
		}
		throw withRenderIds(nodeError, ids());
	}

	const json: IDataObject = {
		sessionId,
		...current,
		status: 'completed',
		polls,
		...(failedRenderIds.length ? { failedRenderIds } : {}),
	};
	if (!settings.download) return { json };
	const name = safeFileName(settings.fileName ?? `nemovideo-${sessionId || 'render'}-${current.renderId.replace(/^render_/, '').slice(0, 8)}.${settings.format}`);
	const fileName = name.includes('.') ? name : `${name}.${settings.format}`;
	const binary = await downloadVideo(ctx, client, current, ids(), fileName, itemIndex);
	json.fileName = binary.fileName ?? fileName;
	if (current.sizeBytes === null && binary.bytes !== undefined) json.sizeBytes = binary.bytes;
	return { json, binary: { [settings.binaryPropertyName]: binary } };
}

function renderFailure(current: RenderStatus, failedRenderIds: string[], sessionId: string): string {
	if (current.status !== 'failed') return `Render ${current.renderId} ended with status "${current.status}". Run Export & Wait again to start a new render.`;
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
