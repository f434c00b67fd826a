/**
 * One album's video, step by step, with what the node remembers kept in step (photoMemory.ts): the upload
 * (free), the AI message (the charged step: before it is sent the album is recorded as charged and its photos
 * as used), the render and the download. An album charged but not delivered, whatever failed, is rendered again
 * from its session by the next run, by its render id when one is known; it is never generated again.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, IPairedItemData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { exportSession, renderIdsOf } from './exportAndWait';
import { exportSettings } from './exportParameters';
import { isAfterCharge } from './chargedWork';
import { concurrencyOption } from './descriptions';
import { generate } from './generate';
import { generateOptions, generationTimeoutOption } from './generateParameters';
import { numberParameter } from './parameters';
import { errorIds, pairedWith } from './itemLoop';
import type { AlbumPhoto, AlbumRecord, PhotoMemory } from './photoMemory';
import { composePrompt, lengthSecondsProperty } from './photoToVideo';
import { readSessionState } from './session';
import type { NemoVideoClient } from './transport/client';
import { asNodeError, isNemoVideoError } from './transport/errors';
import type { PendingFile } from './upload';
import type { AlbumName, GroupFiles } from './uploadGroups';
import { uploadToSession } from './uploadGroups';

const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The order of the photos in a video (Photo to Video's `options.order`). */
export type PhotoOrder = 'input' | 'name' | 'dateTaken';

/** The photos in the wanted order; ties (and photos without a date) keep the order they came in. */
export function orderPhotos<T extends { n: string; d?: number }>(photos: T[], order: PhotoOrder): T[] {
	const indexed = photos.map((photo, arrival) => ({ photo, arrival }));
	if (order === 'name') indexed.sort((a, b) => byName.compare(a.photo.n, b.photo.n) || a.arrival - b.arrival);
	if (order === 'dateTaken') {
		const rank = (photo: T) => (photo.d === undefined ? Infinity : photo.d);
		indexed.sort((a, b) => rank(a.photo) - rank(b.photo) || a.arrival - b.arrival);
	}
	return indexed.map((entry) => entry.photo);
}

/** A photo of this run's input, in its album. */
export interface AlbumInput extends AlbumPhoto, AlbumName {
	itemIndex: number;
	file?: PendingFile;
	url?: string;
	/** The date taken as the photo says it (output only). */
	dateTaken?: string;
}

/** What every album step of one run shares. */
export interface AlbumRun {
	ctx: IExecuteFunctions;
	client: NemoVideoClient;
	memory?: PhotoMemory;
	order: PhotoOrder;
	quietPeriodMinutes: number;
	/** The pairedItem of an output made from these input items (none: an album of earlier runs). */
	pairing: (itemIndexes: number[]) => IPairedItemData | IPairedItemData[];
	/** Sessions whose video this run output: forgotten once the node has succeeded. */
	delivered: string[];
}

export function outputPairing(runnable: number[]): AlbumRun['pairing'] {
	return (itemIndexes) => pairedWith(itemIndexes.length ? [...new Set(itemIndexes)] : [runnable[0] ?? 0]);
}

function groupFiles(members: AlbumInput[]): GroupFiles {
	return {
		itemIndexes: [...new Set(members.map((member) => member.itemIndex))],
		files: members.flatMap((member) => (member.file ? [member.file] : [])),
		urls: members.flatMap((member) => (member.url ? [member.url] : [])),
		failed: [],
	};
}

const photoRecord = (member: AlbumInput): AlbumPhoto => ({ k: member.k, n: member.n, ...(member.d === undefined ? {} : { d: member.d }) });

function albumError(run: AlbumRun, message: string, description: string, album: AlbumRecord): NodeOperationError {
	const error = new NodeOperationError(run.ctx.getNode(), message, { description });
	error.context.nemoVideo = { sessionId: album.sessionId, ...(album.renderId ? { renderId: album.renderId, failedRenderIds: [] } : {}), ...(album.url ? { url: album.url } : {}) };
	error.context.album = album.album;
	return error;
}

/** The prompt of an album: the node's, and the order when the session holds the photos in another one. */
function albumPrompt(run: AlbumRun, album: AlbumRecord): string {
	const { ctx } = run;
	const prompt = composePrompt(
		ctx.getNodeParameter('prompt', 0, '') as string,
		ctx.getNodeParameter('aspectRatio', 0, '16:9') as string,
		numberParameter(ctx, lengthSecondsProperty, 0),
	);
	const wanted = orderPhotos(album.photos, run.order).map((photo) => photo.n);
	const uploaded = album.photos.map((photo) => photo.n);
	if (wanted.every((name, index) => name === uploaded[index])) return prompt;
	return `${prompt} Show the photos in this order: ${wanted.join(', ')}.`;
}

/** The output item of an album's finished render, and the album remembered as delivered. */
function albumOutput(run: AlbumRun, album: AlbumRecord, exported: INodeExecutionData, extra: IDataObject, itemIndexes: number[]): INodeExecutionData {
	const renderId = String(exported.json.renderId ?? '');
	const url = exported.json.url ? String(exported.json.url) : undefined;
	run.memory?.putAlbum({ ...album, renderId, ...(url ? { url } : {}) });
	run.delivered.push(album.sessionId);
	return {
		json: {
			album: album.album,
			photoCount: album.photos.length,
			photos: orderPhotos(album.photos, run.order).map((photo) => photo.n),
			...exported.json,
			...extra,
		},
		binary: exported.binary,
		pairedItem: run.pairing(itemIndexes),
	};
}

/** Renders the album's session (resuming its render when one is known) and downloads the video. */
async function renderAlbum(run: AlbumRun, album: AlbumRecord): Promise<INodeExecutionData> {
	const settings = exportSettings(run.ctx, 0, { waitForCompletion: true, resumeRenderId: album.renderId });
	try {
		return await exportSession(run.ctx, run.client, album.sessionId, settings, 0);
	} catch (error) {
		const ids = renderIdsOf(error);
		const kept = { ...album, ...(ids?.renderId ? { renderId: ids.renderId } : {}), ...(ids?.url ? { url: ids.url } : {}) };
		// A failed render's id is not resumed: the next run starts a new render of the same session (free).
		if (ids?.failedRenderIds.includes(ids.renderId)) delete kept.renderId;
		run.memory?.putAlbum(kept);
		const nodeError = asNodeError(run.ctx.getNode(), error, 0);
		const note = `Album "${album.album}" (${album.photos.length} photos, session ${album.sessionId}) was charged already: ${run.memory?.saved ? 'the next run renders it again from the same session, without a new AI message or charge.' : 'render it with NemoVideo Export & Wait on that session (this manual run is not remembered).'}`;
		nodeError.description = [nodeError.description, note].filter(Boolean).join(' ');
		throw nodeError;
	}
}

/**
 * Records the album as charged, before its AI message is sent: its photos count as used from here on, and no
 * other run takes it up. Returns the charged record.
 */
function chargeAlbum(run: AlbumRun, album: AlbumRecord, remembered: boolean): Charged {
	const charged: AlbumRecord = { ...album, status: 'charged', prompt: albumPrompt(run, album) };
	const { memory } = run;
	if (!memory) return { album: charged, undo: () => {} };
	memory.claimAlbum(album.sessionId);
	const before = memory.markUsed(album.photos.map((photo) => photo.k));
	memory.putAlbum(charged);
	const undo = () => {
		memory.restoreUsed(before);
		if (remembered) memory.putAlbum(album);
		else memory.dropAlbum(album.sessionId);
	};
	return { album: charged, undo };
}

interface Charged {
	album: AlbumRecord;
	/** Back to before the charge: the service refused the message without doing anything. */
	undo: () => void;
}


/**
 * The album's session no longer exists on the service: the album is given up (its photos, gone with the session,
 * count as new again and are made when they come again), and the error says so.
 */
function sessionGone(run: AlbumRun, album: AlbumRecord, error: { description?: string | null }, charged: boolean): void {
	run.memory?.finishAlbum(album.sessionId);
	const photos = charged ? 'its photos stay used (they were charged)' : 'its photos count as new again';
	const note = `Session ${album.sessionId} of album "${album.album}" no longer exists on NemoVideo, with its ${album.photos.length} uploaded photos: the node gives the album up; ${photos}.`;
	error.description = [error.description, note].filter(Boolean).join(' ');
}

/** The charged step and what follows: the AI message, the check that it built a video, the render. */
async function generateAndRender(run: AlbumRun, { album: charged, undo }: Charged, itemIndexes: number[]): Promise<INodeExecutionData> {
	const { ctx, client } = run;
	const album = charged;
	const prompt = charged.prompt ?? '';
	let generated;
	try {
		generated = await generate(ctx, client, album.sessionId, prompt, generateOptions(ctx, 0, { property: generationTimeoutOption, inOptions: true }));
	} catch (error) {
		const nodeError = asNodeError(ctx.getNode(), error, 0);
		// Not marked as after the charge (generate.ts, chargedWork.ts): refused before the AI took the message.
		if (!isAfterCharge(error)) {
			undo();
			if (isNemoVideoError(error, 'sessionNotFound')) sessionGone(run, album, nodeError, false);
			throw nodeError;
		}
		nodeError.description = `${nodeError.description ?? ''} Album "${album.album}" (session ${album.sessionId}) counts as charged: the next run renders what the AI built in that session, it does not send the message again.`.trim();
		throw nodeError;
	}
	if (!generated.readyToExport) {
		throw albumError(run, `NemoVideo did not build a video of album "${album.album}"`, `The AI answered "${generated.summary}" but the timeline of session ${album.sessionId} is empty. The message is not sent again (it was charged); the next run checks the session once more. Or send a clearer prompt with NemoVideo Generate on that session.`, charged);
	}
	const exported = await renderAlbum(run, charged);
	return albumOutput(run, charged, exported, { text: generated.text, summary: generated.summary, prompt }, itemIndexes);
}

/** Without a quiet period: a new session for the album's new photos, then its video. */
export async function newAlbumVideo(run: AlbumRun, members: AlbumInput[]): Promise<INodeExecutionData[]> {
	const collected = groupFiles(members);
	const upload = await uploadToSession(run.client, '', collected, collected.itemIndexes[0]);
	const now = Date.now();
	const album: AlbumRecord = {
		key: members[0].key,
		album: members[0].album,
		sessionId: upload.sessionId,
		status: 'collecting',
		photos: members.map(photoRecord),
		lastPhotoAt: now,
		changedAt: now,
	};
	return [await generateAndRender(run, chargeAlbum(run, album, false), collected.itemIndexes)];
}

/** With a quiet period: the new photos go into their album's open session (a new one for a new album). */
export async function uploadIntoAlbum(run: AlbumRun, members: AlbumInput[]): Promise<INodeExecutionData[]> {
	const memory = run.memory!;
	const { key, album: name } = members[0];
	await memory.inAlbumQueue(key, async () => {
		const open = memory.albums.find((album) => album.key === key && album.status === 'collecting');
		const collected = groupFiles(members);
		const upload = await uploadToSession(run.client, open?.sessionId ?? '', collected, collected.itemIndexes[0]);
		const now = Date.now();
		const kept = open && open.sessionId === upload.sessionId ? open.photos : [];
		if (open && open.sessionId !== upload.sessionId) {
			// The service no longer had the session: its photos are gone with it and count as new again.
			memory.finishAlbum(open.sessionId);
			run.ctx.logger?.warn(`NemoVideo session ${open.sessionId} of album "${name}" no longer exists; its ${open.photos.length} photos are gone from the service and count as new again.`);
		}
		memory.putAlbum({
			key,
			album: name,
			sessionId: upload.sessionId,
			status: 'collecting',
			photos: [...kept, ...members.map(photoRecord)],
			lastPhotoAt: now,
			changedAt: open?.changedAt ?? now,
		});
	});
	return [];
}

/**
 * With a quiet period: the video of an album whose photos stopped coming. Charged in the album's upload queue,
 * from its record as it is then: a photo another run uploaded meanwhile makes it wait again.
 */
export async function dueAlbumVideo(run: AlbumRun, due: AlbumRecord): Promise<INodeExecutionData[]> {
	const memory = run.memory!;
	const quietMs = run.quietPeriodMinutes * 60_000;
	const charged = await memory.inAlbumQueue(due.key, async () => {
		const album = memory.albums.find((record) => record.sessionId === due.sessionId);
		const stillDue = album?.status === 'collecting' && album.lastPhotoAt + quietMs <= Date.now();
		if (!album || !stillDue || !memory.claimAlbum(album.sessionId)) return undefined;
		return chargeAlbum(run, album, true);
	});
	return charged ? [await generateAndRender(run, charged, [])] : [];
}

/** An album an earlier run charged but did not deliver: rendered again from its session, never generated again. */
export async function deliverPendingAlbum(run: AlbumRun, album: AlbumRecord): Promise<INodeExecutionData[]> {
	if (!run.memory?.claimAlbum(album.sessionId)) return [];
	if (!album.renderId) {
		let state;
		try {
			state = await readSessionState(run.client, album.sessionId, 0);
		} catch (error) {
			const nodeError = asNodeError(run.ctx.getNode(), error, 0);
			if (isNemoVideoError(error, 'sessionNotFound')) sessionGone(run, album, nodeError, true);
			throw nodeError;
		}
		if (!state.readyToExport) {
			run.memory.finishAlbum(album.sessionId);
			throw albumError(
				run,
				`Album "${album.album}" has no video: the AI built nothing in session ${album.sessionId}`,
				`Its AI message was sent (and charged) by an earlier run, and the session's timeline is still empty. The node gives this album up; its ${album.photos.length} photos stay used. To get a video of them, send a prompt with NemoVideo Generate on session ${album.sessionId}, then NemoVideo Export & Wait.`,
				album,
			);
		}
	}
	const exported = await renderAlbum(run, album);
	const notice = `Album "${album.album}" was charged by an earlier run whose render or download did not finish; rendered now from the same session, without a new charge.`;
	return [albumOutput(run, album, exported, { prompt: album.prompt ?? '', notice }, [])];
}

/**
 * Runs `work` for each album, at most Concurrency at once. Under Continue On Fail a failed album becomes an error
 * item naming it; otherwise the first failure starts no new album, lets the started ones end, and fails the node
 * (the videos made are kept as undelivered and output by the next run, without a new charge).
 */
export async function eachAlbum<T>(run: AlbumRun, albums: T[], work: (album: T) => Promise<INodeExecutionData[]>): Promise<INodeExecutionData[]> {
	const { ctx } = run;
	const concurrency = numberParameter(ctx, concurrencyOption(5), 0, { inOptions: true });
	const results: Array<INodeExecutionData[] | Error> = new Array(albums.length);
	let next = 0;
	let failure: Error | undefined;
	const worker = async () => {
		while (!failure && next < albums.length) {
			const index = next++;
			try {
				results[index] = await work(albums[index]);
			} catch (error) {
				results[index] = asNodeError(ctx.getNode(), error, 0);
				if (!ctx.continueOnFail()) failure ??= results[index] as Error;
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, albums.length) }, worker));
	if (failure) {
		const made = run.delivered.length;
		if (made) {
			const note = `${made} video${made === 1 ? ' was' : 's were'} made before the failure; the next run outputs ${made === 1 ? 'it' : 'them'} again without a new charge.`;
			const holder = failure as { description?: string };
			holder.description = [holder.description, note].filter(Boolean).join(' ');
			run.delivered.length = 0;
		}
		throw failure;
	}
	return results.flatMap((result) => {
		if (!(result instanceof Error)) return result ?? [];
		const description = (result as { description?: unknown }).description;
		const album = (result as { context?: IDataObject }).context?.album;
		return [
			{
				json: { error: result.message, ...(description ? { errorDescription: String(description) } : {}), ...(album ? { album } : {}), ...errorIds(result) },
				pairedItem: run.pairing([]),
			},
		];
	});
}
