import type { IBinaryData, IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { RenderStatus } from './polling';
import { readRenderStatus, waitForRender } from './polling';
import { readSessionState } from './session';
import type { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';
import { uuid } from './vendor';

export interface ExportSettings {
	format: string;
	quality: string;
	waitForCompletion: boolean;
	download: boolean;
	binaryPropertyName: string;
	pollIntervalSeconds: number;
	timeoutMinutes: number;
	/** Resume waiting on a render started earlier instead of starting one. */
	resumeRenderId?: string;
	fileName?: string;
}

/** Reads the export parameters shared by Export & Wait and Photo to Video. */
export function exportSettings(ctx: IExecuteFunctions, itemIndex: number): ExportSettings {
	const get = <T>(name: string, fallback: T) => ctx.getNodeParameter(name, itemIndex, fallback) as T;
	return {
		format: get('format', 'mp4'),
		quality: get('quality', 'high'),
		waitForCompletion: get('waitForCompletion', true),
		download: get('download', true),
		binaryPropertyName: get('binaryPropertyName', 'data') || 'data',
		pollIntervalSeconds: get('pollIntervalSeconds', 30),
		timeoutMinutes: get('timeoutMinutes', 20),
		resumeRenderId: String(get('options.renderId', '') ?? '').trim() || undefined,
		fileName: String(get('options.fileName', '') ?? '').trim() || undefined,
	};
}

async function startRender(
	client: NemoVideoClient,
	sessionId: string,
	draft: IDataObject,
	settings: ExportSettings,
	itemIndex: number,
): Promise<RenderStatus> {
	const renderId = `render_${uuid()}`;
	// Not idempotent: the transport sends it again only when the answer proves it was not done (429, 1001, 400).
	const answer = await client.call({
		method: 'POST',
		path: '/api/render/proxy/lambda',
		json: { id: renderId, sessionId, draft, output: { format: settings.format, quality: settings.quality } },
		idempotent: false,
		itemIndex,
	});
	const status = readRenderStatus(renderId, answer);
	return { ...status, renderId };
}

async function cancelRender(client: NemoVideoClient, renderId: string): Promise<void> {
	try {
		await client.call({
			method: 'POST',
			path: `/api/render/proxy/lambda/${encodeURIComponent(renderId)}/cancel`,
			json: {},
			idempotent: true,
			ignoreExecutionCancel: true,
			signal: AbortSignal.timeout(10_000),
		});
	} catch {
		// Best effort: the execution is being cancelled either way.
	}
}

function safeFileName(name: string): string {
	return name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'nemovideo';
}

/** Streams the MP4 into n8n's binary store: from the URL the service gave, else from its authenticated endpoint. */
async function downloadRender(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	status: RenderStatus,
	fileName: string,
	itemIndex: number,
): Promise<IBinaryData> {
	const fallbackPath = `/api/render/proxy/${encodeURIComponent(status.renderId)}/download`;
	const sources = status.url ? [status.url, fallbackPath] : [fallbackPath];
	let lastError: unknown;
	for (const source of sources) {
		try {
			const url = source.startsWith('/') ? `${(await client.tokens.get()).baseUrl}${source}` : source;
			const response = await client.download(url, { itemIndex });
			return await ctx.helpers.prepareBinaryData(response.body, fileName, 'video/mp4');
		} catch (error) {
			if (ctx.getExecutionCancelSignal()?.aborted) throw asNodeError(ctx.getNode(), error, itemIndex);
			lastError = error;
		}
	}
	throw new NodeOperationError(ctx.getNode(), `The video of render ${status.renderId} could not be downloaded`, {
		itemIndex,
		description: `Both the video URL and NemoVideo's download endpoint failed (${(lastError as Error)?.message ?? 'unknown error'}). The render is finished: run Export & Wait again with the option "Resume Render ID" set to ${status.renderId} to download it without rendering again.`,
	});
}

/**
 * Export & Wait: starts a render of the session's draft (or resumes one), waits with bounded polling, retries a
 * failed render once with a new id, and streams the MP4 into binary data.
 */
export async function exportSession(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	sessionId: string,
	settings: ExportSettings,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const node = ctx.getNode();
	const started = Date.now();
	const deadline = started + settings.timeoutMinutes * 60_000;
	const failedRenderIds: string[] = [];

	const startFromDraft = async (): Promise<RenderStatus> => {
		const state = await readSessionState(client, sessionId, itemIndex);
		if (!state.readyToExport) {
			throw new NodeOperationError(node, `Nothing to export in session ${sessionId}: its timeline is empty`, {
				itemIndex,
				description:
					'No track of the session has segments yet. Upload photos and run NemoVideo Generate (for example "turn these photos into a slideshow") before exporting.',
			});
		}
		return await startRender(client, sessionId, state.draft, settings, itemIndex);
	};

	let current: RenderStatus = settings.resumeRenderId
		? { renderId: settings.resumeRenderId, status: 'pending', progress: null, url: null, durationSeconds: null, sizeBytes: null }
		: await startFromDraft();

	const base: IDataObject = { sessionId };
	if (!settings.waitForCompletion) {
		return { json: { ...base, ...current } };
	}

	let polls = 0;
	try {
		for (;;) {
			const outcome = await waitForRender(client, current.renderId, {
				itemIndex,
				deadline,
				maxIntervalMs: settings.pollIntervalSeconds * 1000,
				signal: ctx.getExecutionCancelSignal(),
			});
			polls += outcome.polls;
			if (outcome.kind === 'deadline') {
				throw new NodeOperationError(node, `Render ${current.renderId} did not finish within ${settings.timeoutMinutes} minutes`, {
					itemIndex,
					description: `The render is still running on NemoVideo (last status: ${outcome.last?.status ?? 'unknown'}${outcome.last?.progress != null ? `, ${outcome.last.progress}%` : ''}). To pick it up without rendering again, run Export & Wait with the option "Resume Render ID" set to ${current.renderId}, or raise "Timeout (Minutes)".`,
				});
			}
			current = outcome.status;
			if (current.status === 'completed') break;
			if (current.status === 'failed' && failedRenderIds.length === 0) {
				// The documented rule: one more try, with a new render id.
				failedRenderIds.push(current.renderId);
				current = await startFromDraft();
				continue;
			}
			if (current.status === 'failed') failedRenderIds.push(current.renderId);
			throw new NodeOperationError(node, `NemoVideo could not render session ${sessionId}`, {
				itemIndex,
				description:
					current.status === 'failed'
						? `Render ${failedRenderIds[0]} failed, and so did the retry ${failedRenderIds[1]}. Try again later; if it keeps failing, simplify the timeline with NemoVideo Generate.`
						: `Render ${current.renderId} ended with status "${current.status}".`,
			});
		}
	} catch (error) {
		if (ctx.getExecutionCancelSignal()?.aborted) await cancelRender(client, current.renderId);
		throw asNodeError(node, error, itemIndex);
	}

	const json: IDataObject = {
		...base,
		...current,
		status: 'completed',
		polls,
		...(failedRenderIds.length ? { failedRenderIds } : {}),
	};
	if (!settings.download) return { json };
	if (!current.url && !current.renderId) {
		throw new NodeOperationError(node, `Render ${current.renderId} finished without a video URL`, { itemIndex });
	}
	const fileName = safeFileName(settings.fileName ?? `nemovideo-${sessionId}-${current.renderId.replace(/^render_/, '').slice(0, 8)}.${settings.format}`);
	const binary = await downloadRender(ctx, client, current, fileName.includes('.') ? fileName : `${fileName}.${settings.format}`, itemIndex);
	json.fileName = binary.fileName ?? fileName;
	if (current.sizeBytes === null && binary.bytes !== undefined) json.sizeBytes = binary.bytes;
	return { json, binary: { [settings.binaryPropertyName]: binary } };
}
