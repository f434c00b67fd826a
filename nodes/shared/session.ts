import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { decodeTimeline, isReadyToExport } from './timeline';
import type { Timeline } from './timeline';
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
	const data = await client.state(sessionId, itemIndex, signal);
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
