import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { decodeTimeline, describeTimelineChange, isReadyToExport } from './timeline';
import type { Timeline } from './timeline';
import { state as readState } from './transport/api';
import type { NemoVideoClient } from './transport/client';

export interface SessionState extends IDataObject {
	sessionId: string;
	draft: IDataObject;
	timeline: Timeline & IDataObject;
	readyToExport: boolean;
	canvasConfig?: IDataObject;
	videoInfos?: IDataObject[];
	generatedMedia?: IDataObject | IDataObject[];
}

/** Session ids are long digit strings: read them as text, never as numbers. */
export function sessionIdParameter(ctx: IExecuteFunctions, itemIndex: number): string {
	const value = ctx.getNodeParameter('sessionId', itemIndex, '') as unknown;
	return value === undefined || value === null ? '' : String(value).trim();
}

export function requireSessionId(ctx: IExecuteFunctions, itemIndex: number): string {
	const sessionId = sessionIdParameter(ctx, itemIndex);
	if (!sessionId) {
		throw new NodeOperationError(ctx.getNode(), 'Session ID is empty', {
			itemIndex,
			description:
				'Set "Session ID", or connect this node after a NemoVideo Upload or Generate node, whose output carries sessionId.',
		});
	}
	return sessionId;
}

export async function readSessionState(
	client: NemoVideoClient,
	sessionId: string,
	itemIndex?: number,
	signal?: AbortSignal,
): Promise<SessionState> {
	const data = await readState(client, sessionId, { itemIndex, signal });
	const state = (data.state ?? {}) as IDataObject;
	const draft = (state.draft ?? {}) as IDataObject;
	const result: SessionState = {
		// The id this node asked for: the answer's own copy may have come as a rounded JSON number.
		sessionId,
		draft,
		timeline: decodeTimeline(draft) as Timeline & IDataObject,
		readyToExport: isReadyToExport(draft),
	};
	if (state.canvas_config) result.canvasConfig = state.canvas_config as IDataObject;
	if (state.video_infos) result.videoInfos = state.video_infos as IDataObject[];
	if (state.generated_media) result.generatedMedia = state.generated_media as IDataObject;
	return result;
}

export interface StateChange {
	changed: boolean;
	summary: string;
}

function sameJson(before: unknown, after: unknown): boolean {
	return JSON.stringify(before ?? null) === JSON.stringify(after ?? null);
}

/** `1080x1920 (9:16)`, read off the keys the canvas config is known to carry, or its JSON. */
function describeCanvas(canvas: IDataObject | undefined): string {
	if (!canvas) return 'none';
	const size = typeof canvas.width === 'number' && typeof canvas.height === 'number' ? `${canvas.width}x${canvas.height}` : '';
	const ratio = canvas.ratio ?? canvas.aspect_ratio ?? canvas.aspectRatio;
	const words = [size, typeof ratio === 'string' ? `(${ratio})` : ''].filter(Boolean).join(' ');
	return words || JSON.stringify(canvas).slice(0, 200);
}

function countOf(value: unknown): number {
	if (Array.isArray(value)) return value.length;
	return value && typeof value === 'object' ? Object.keys(value).length : 0;
}

/** The changes outside the draft, in words: the canvas (aspect ratio), the media files, the generated media. */
function describeOtherChanges(before: SessionState, after: SessionState): string[] {
	const changes: string[] = [];
	if (!sameJson(before.canvasConfig, after.canvasConfig)) {
		changes.push(`canvas ${describeCanvas(before.canvasConfig)} → ${describeCanvas(after.canvasConfig)}`);
	}
	if (!sameJson(before.videoInfos, after.videoInfos)) {
		changes.push(`media files ${countOf(before.videoInfos)} → ${countOf(after.videoInfos)}`);
	}
	if (!sameJson(before.generatedMedia, after.generatedMedia)) {
		changes.push(`generated media ${countOf(before.generatedMedia)} → ${countOf(after.generatedMedia)}`);
	}
	return changes;
}

/**
 * What changed between two reads of a session. An edit can change any part of the state answer, not only the
 * draft (the answer's fields: docs/nemovideo-api.md, state): "make it 9:16" lives in `canvas_config`. Comparing
 * the draft alone told the user a finished edit had not happened, and running it again charged twice.
 */
export function describeStateChange(before: SessionState, after: SessionState): StateChange {
	const timeline = describeTimelineChange(before.draft, after.draft);
	const others = describeOtherChanges(before, after);
	if (!timeline.changed && others.length === 0) {
		return { changed: false, summary: 'The session did not change: same timeline, canvas and media.' };
	}
	if (!timeline.changed) {
		const text = others.join(', ');
		return { changed: true, summary: `Session changed: ${text}. The timeline is the same: ${after.timeline.summary}` };
	}
	if (others.length === 0) return timeline;
	return { changed: true, summary: `${timeline.summary} Also changed: ${others.join(', ')}.` };
}
