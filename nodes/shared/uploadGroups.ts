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
 * none share one new session; `perItem`: each item on its own; `folder` and `day` (Photo to Video's albums):
 * every item together, their files then split into albums by albumOf.
 */
export function groupItems(ctx: IExecuteFunctions, grouping: string, bySessionId: boolean): number[][] {
	const indexes = ctx.getInputData().map((_, index) => index);
	if (grouping === 'perItem') return indexes.map((index) => [index]);
	if (grouping === 'folder' || grouping === 'day') return indexes.length ? [indexes] : [];
	if (!bySessionId) return indexes.length ? [indexes] : [];
	const groups = new Map<string, number[]>();
	for (const index of indexes) {
		const key = sessionIdParameter(ctx, index);
		groups.set(key, [...(groups.get(key) ?? []), index]);
	}
	return [...groups.values()];
}

/** An album: its key (unique per grouping) and its name in the output. */
export interface AlbumName {
	key: string;
	album: string;
}

/** Where photos without a date taken go when albums are days. */
export const UNDATED_ALBUM = 'undated';

/**
 * The album of one file under a grouping: `folder`, the folder n8n's file reader read it from (its last part
 * names the album; files without one, as from a cloud download, share the album `all`); `day`, the calendar day
 * it was taken (`YYYY-MM-DD`, or `undated`); `perItem`, its item; `all`, one album.
 */
export function albumOf(grouping: string, file: { itemIndex: number; directory?: string }, day?: string): AlbumName {
	if (grouping === 'folder' && file.directory) {
		const name = file.directory.split(/[\\/]+/).filter(Boolean).pop() ?? file.directory;
		return { key: `folder:${file.directory}`, album: name };
	}
	if (grouping === 'day') return { key: `day:${day ?? UNDATED_ALBUM}`, album: day ?? UNDATED_ALBUM };
	if (grouping === 'perItem') return { key: `item:${file.itemIndex}`, album: `item ${file.itemIndex + 1}` };
	return { key: 'all', album: 'all' };
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
