import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { sessionIdParameter } from './session';
import { errorItem } from './itemLoop';
import { isToolMode, toolError } from './toolMode';
import type { NemoVideoClient } from './transport/client';
import { asNodeError, isNemoVideoError } from './transport/errors';
import type { UploadedFile } from './transport/api';
import { createSession, uploadUrls } from './transport/api';
import type { PendingFile } from './upload';
import { collectItemFiles, parseUrlList, uploadInBatches } from './upload';

/** Files per upload request. */
const FILES_PER_REQUEST = 10;

/**
 * Groups input items into sessions. `all`: items that name the same session go together, and items that name
 * none share one new session; `perItem`: each item on its own.
 */
export function groupItems(ctx: IExecuteFunctions, grouping: string, bySessionId: boolean): number[][] {
	const indexes = ctx.getInputData().map((_, index) => index);
	if (grouping === 'perItem') return indexes.map((index) => [index]);
	if (!bySessionId) return indexes.length ? [indexes] : [];
	const groups = new Map<string, number[]>();
	for (const index of indexes) {
		const key = sessionIdParameter(ctx, index);
		groups.set(key, [...(groups.get(key) ?? []), index]);
	}
	return [...groups.values()];
}

export interface GroupFiles {
	/** Items whose files all passed the checks. */
	itemIndexes: number[];
	files: PendingFile[];
	urls: string[];
	/** Items that failed a check, as error items (only under "Continue On Fail"; otherwise the check throws). */
	failed: INodeExecutionData[];
}

/** Checks the files of every item of a group before anything is uploaded. */
export async function collectGroupFiles(
	ctx: IExecuteFunctions,
	group: number[],
	source: 'binary' | 'url',
): Promise<GroupFiles> {
	const result: GroupFiles = { itemIndexes: [], files: [], urls: [], failed: [] };
	for (const itemIndex of group) {
		try {
			if (source === 'url') result.urls.push(...parseUrlList(ctx, itemIndex));
			else result.files.push(...(await collectItemFiles(ctx, itemIndex)));
			result.itemIndexes.push(itemIndex);
		} catch (error) {
			const nodeError = asNodeError(ctx.getNode(), error, itemIndex);
			if (!ctx.continueOnFail()) throw isToolMode(ctx) ? toolError(ctx, nodeError) : nodeError;
			result.failed.push(errorItem(ctx, nodeError, { item: itemIndex }));
		}
	}
	return result;
}

export interface UploadOutcome extends IDataObject {
	sessionId: string;
	sessionCreated: boolean;
	files: UploadedFile[];
	fileCount: number;
}

/**
 * Uploads a group's files into its session (a new one when none is named), by `deadline` when the call is bounded
 * (a tool call). When the named session no longer exists (1002) a new one is started and the output says so: what
 * the old session held is gone.
 */
export async function uploadToSession(
	client: NemoVideoClient,
	sessionId: string,
	collected: GroupFiles,
	itemIndex: number,
	deadline?: number,
): Promise<UploadOutcome> {
	let target = sessionId;
	let sessionCreated = false;
	if (!target) {
		target = (await createSession(client, { itemIndex, deadline })).sessionId;
		sessionCreated = true;
	}
	const send = async (id: string) =>
		collected.urls.length
			? await uploadUrls(client, { sessionId: id, urls: collected.urls }, { itemIndex, deadline })
			: await uploadInBatches(client, id, collected.files, { perRequest: FILES_PER_REQUEST, itemIndex, deadline });
	try {
		const files = await send(target);
		return { sessionId: target, sessionCreated, files, fileCount: files.length };
	} catch (error) {
		if (sessionCreated || !isNemoVideoError(error, 'sessionNotFound')) throw asNodeError(client.node, error, itemIndex);
		const replacement = (await createSession(client, { itemIndex, deadline })).sessionId;
		const files = await send(replacement);
		return {
			sessionId: replacement,
			sessionCreated: true,
			previousSessionId: target,
			notice: `Session ${target} no longer exists on NemoVideo; the files were uploaded into a new session ${replacement}. Anything the old session held is gone.`,
			files,
			fileCount: files.length,
		};
	}
}
