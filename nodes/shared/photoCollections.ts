/**
 * Photo collections (issue 17): Photo to Video's album parameters and the code that reads them and runs them.
 * Albums by folder or by day, date order, only new photos, a minimum per album, and uploads that trickle in over
 * several executions (a quiet period). Names: docs of the package interface, "Photo collections". With every
 * option at its default the node takes its old path (photoToVideo.ts): a saved workflow does not change.
 *
 * A run: the input's photos are checked (upload.ts), their content key and date read in one pass (photoFacts.ts),
 * the ones already used or already in an album's session left out, the rest claimed (photoMemory.ts) and put
 * into albums (uploadGroups.ts albumOf). Then albumVideo.ts makes the videos: first the albums charged by an
 * earlier run but not delivered, then, without a quiet period, one video per album with enough new photos;
 * with one, the new photos go into their album's open session and the albums quiet for long enough are made.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { deliverPendingAlbum, dueAlbumVideo, eachAlbum, newAlbumVideo, orderPhotos, outputPairing, uploadIntoAlbum } from './albumVideo';
import type { AlbumInput, AlbumRun, PhotoOrder } from './albumVideo';
import { concurrencyOption, groupingProperty } from './descriptions';
import { exportSettings } from './exportParameters';
import { generateOptions, generationTimeoutOption } from './generateParameters';
import { numberParameter } from './parameters';
import { lengthSecondsProperty } from './photoToVideo';
import { instantOf } from './dateTaken';
import { isErrorItem } from './itemLoop';
import type { AlbumRecord } from './photoMemory';
import { PhotoMemory } from './photoMemory';
import { readPhotoFacts, urlKey } from './photoFacts';
import { NemoVideoClient } from './transport/client';
import { parseUrlList } from './upload';
import { albumOf, collectGroupFiles } from './uploadGroups';

// ---- the parameters ---------------------------------------------------------------------------------

/** Photo to Video's Grouping: Upload's two, and the albums. */
export const albumGroupingProperty: INodeProperties = {
	...groupingProperty,
	options: [
		...(groupingProperty.options ?? []),
		{
			name: 'One per Folder',
			value: 'folder',
			description: 'One video per folder the photos were read from (a folder of albums makes one video per album)',
		},
		{
			name: 'One per Day Taken',
			value: 'day',
			description: 'One video per calendar day the photos were taken (EXIF); photos without a date make the album "undated"',
		},
	],
};

const minimumPhotosOption: INodeProperties = {
	displayName: 'Minimum Photos',
	name: 'minimumPhotos',
	type: 'number',
	typeOptions: { minValue: 1, numberPrecision: 0 },
	default: 1,
	description:
		'An album with fewer new photos makes no video this run and nothing of it is sent; its photos stay new for a later run',
};

const quietPeriodOption: INodeProperties = {
	displayName: 'Quiet Period (Minutes)',
	name: 'quietPeriodMinutes',
	type: 'number',
	typeOptions: { minValue: 0, numberPrecision: 2 },
	default: 0,
	description:
		'For photos that arrive over several executions (a cloud folder checked every minute): they are uploaded into their album as they come (free), and the video is made by the first execution after no new photo came for this long. 0: each execution makes its videos at once. Items without photos are allowed: they only finish albums that are due.',
};

export const collectionOptions: INodeProperties[] = [
	minimumPhotosOption,
	{
		displayName: 'Only New Photos',
		name: 'onlyNewPhotos',
		type: 'boolean',
		default: false,
		description:
			'Whether to leave out photos this node already put into a video (by content: a renamed copy is the same photo). An album without a new photo makes no video and costs nothing. Remembered in the workflow, not after manual runs, and in queue mode only by each worker (see the README).',
	},
	{
		displayName: 'Order',
		name: 'order',
		type: 'options',
		default: 'input',
		options: [
			{ name: 'As They Come', value: 'input', description: 'The order of the input items' },
			{ name: 'By File Name', value: 'name', description: 'IMG_2 before IMG_10' },
			{
				name: 'By Date Taken',
				value: 'dateTaken',
				description: 'EXIF DateTimeOriginal (JPEG, HEIC, PNG, WebP); photos without it come after, as they came',
			},
		],
		description: 'The order of the photos in the video',
	},
	quietPeriodOption,
];

// ---- the settings -----------------------------------------------------------------------------------

export interface CollectionSettings {
	grouping: string;
	order: PhotoOrder;
	onlyNewPhotos: boolean;
	minimumPhotos: number;
	quietPeriodMinutes: number;
}

/**
 * Reads the album parameters (item 0: one run makes its albums together), checking the numbers where read; with
 * albums, also the video's own parameters, so that a bad one fails the node before anything is sent.
 */
export function collectionSettings(ctx: IExecuteFunctions): CollectionSettings {
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	const order = String(options.order ?? 'input');
	const minimumPhotos = Math.ceil(numberParameter(ctx, minimumPhotosOption, 0, { inOptions: true }));
	const quietPeriodMinutes = numberParameter(ctx, quietPeriodOption, 0, { inOptions: true });
	const grouping = ctx.getNodeParameter('grouping', 0, 'all') as string;
	if (quietPeriodMinutes > 0 && grouping === 'perItem') {
		throw new NodeOperationError(ctx.getNode(), 'A quiet period needs albums that can grow', {
			description: 'With "One per Item" each item is its own video. Set Grouping to All Items Together, One per Folder or One per Day Taken.',
		});
	}
	const settings: CollectionSettings = {
		grouping,
		order: order === 'name' || order === 'dateTaken' ? order : 'input',
		onlyNewPhotos: options.onlyNewPhotos === true,
		minimumPhotos,
		quietPeriodMinutes,
	};
	if (usesCollections(settings)) checkVideoParameters(ctx);
	return settings;
}

/** The parameters albumVideo.ts reads when it makes a video, read once here to fail early on a bad one. */
function checkVideoParameters(ctx: IExecuteFunctions): void {
	numberParameter(ctx, lengthSecondsProperty, 0);
	numberParameter(ctx, concurrencyOption(5), 0, { inOptions: true });
	generateOptions(ctx, 0, { property: generationTimeoutOption, inOptions: true });
	exportSettings(ctx, 0, { waitForCompletion: true });
}

/** Whether any album option differs from its default (otherwise the node keeps its old path). */
export function usesCollections(settings: CollectionSettings): boolean {
	return (
		settings.grouping === 'folder' ||
		settings.grouping === 'day' ||
		settings.order !== 'input' ||
		settings.onlyNewPhotos ||
		settings.minimumPhotos > 1 ||
		settings.quietPeriodMinutes > 0
	);
}

/** The workflow time zone's offset at an instant, in minutes east of UTC (for photos that give none). */
export function zoneOffsetMinutes(timeZone: string, at: number): number {
	try {
		const parts = new Intl.DateTimeFormat('en-US', {
			timeZone,
			hourCycle: 'h23',
			year: 'numeric',
			month: 'numeric',
			day: 'numeric',
			hour: 'numeric',
			minute: 'numeric',
			second: 'numeric',
		}).formatToParts(new Date(at));
		const part = (type: string) => Number(parts.find((entry) => entry.type === type)?.value ?? 0);
		const asUtc = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
		return Math.round((asUtc - Math.floor(at / 1000) * 1000) / 60_000);
	} catch {
		return 0;
	}
}

// ---- the run ----------------------------------------------------------------------------------------

/** Items that carry no photo: allowed with a quiet period (a Schedule Trigger's item only finishes due albums). */
function itemsWithPhotos(ctx: IExecuteFunctions, settings: CollectionSettings, items: number[]): number[] {
	if (settings.quietPeriodMinutes <= 0) return items;
	const source = ctx.getNodeParameter('source', 0, 'binary') as string;
	const input = ctx.getInputData();
	if (source === 'url') return items.filter((index) => String(ctx.getNodeParameter('urls', index, '') ?? '').trim() !== '');
	return items.filter((index) => Object.keys(input[index].binary ?? {}).length > 0);
}

/** The photos of the input, checked, with their facts, as album photos of their albums. */
async function readInput(
	ctx: IExecuteFunctions,
	settings: CollectionSettings,
	remembers: boolean,
): Promise<{ photos: AlbumInput[]; failed: INodeExecutionData[]; runnable: number[] }> {
	const input = ctx.getInputData();
	const runnable = input.map((item, index) => (isErrorItem(item) ? -1 : index)).filter((index) => index >= 0);
	const items = itemsWithPhotos(ctx, settings, runnable);
	const source = ctx.getNodeParameter('source', 0, 'binary') as 'binary' | 'url';
	const checked = await collectGroupFiles(ctx, items, source);
	const wantDate = settings.order === 'dateTaken' || settings.grouping === 'day';
	const zone = ctx.getTimezone();
	const photos: AlbumInput[] = [];
	for (const file of checked.files) {
		const facts = await readPhotoFacts(file.open, { key: remembers, date: wantDate });
		const date = facts.date;
		const instant = date ? instantOf(date, zoneOffsetMinutes(zone, date.clockMs)) : undefined;
		photos.push({
			file,
			itemIndex: file.itemIndex,
			n: file.fileName,
			k: facts.key ?? '',
			...(instant === undefined ? {} : { d: instant }),
			...(date ? { dateTaken: date.text } : {}),
			...albumOf(settings.grouping, file, date?.day),
		});
	}
	// URLs: the service fetches them; the URL is the photo's identity and its last path part its name.
	const urlItems = source === 'url' ? checked.itemIndexes : [];
	for (const itemIndex of urlItems) {
		for (const url of parseUrlList(ctx, itemIndex)) {
			const last = new URL(url).pathname.split('/').pop() || url;
			let name = last;
			try {
				name = decodeURIComponent(last);
			} catch {
				// A malformed escape: the name as written.
			}
			photos.push({ url, itemIndex, n: name, k: remembers ? urlKey(url) : '', ...albumOf(settings.grouping, { itemIndex }) });
		}
	}
	return { photos, failed: checked.failed, runnable };
}

/**
 * The new photos: without those used before (Only New Photos; seeing them again renews them), those already in
 * an album's session, the same content twice in this input, and those another run of this process is taking.
 */
function newPhotos(photos: AlbumInput[], settings: CollectionSettings, memory: PhotoMemory | undefined): AlbumInput[] {
	if (!memory) return photos;
	const seenKeys = new Set<string>();
	const inAlbums = memory.inAlbums();
	const fresh: AlbumInput[] = [];
	const usedAgain: string[] = [];
	for (const photo of photos) {
		if (seenKeys.has(photo.k)) continue;
		seenKeys.add(photo.k);
		if (memory.isUsed(photo.k)) usedAgain.push(photo.k);
		if ((settings.onlyNewPhotos && memory.isUsed(photo.k)) || inAlbums.has(photo.k)) continue;
		fresh.push(photo);
	}
	memory.renewSeen(usedAgain);
	const taken = memory.claimPhotos(fresh.map((photo) => photo.k));
	return fresh.filter((photo) => !taken.has(photo.k));
}

/** The photos by album, each album's photos in the wanted order. */
function albumsOf(photos: AlbumInput[], order: PhotoOrder): Map<string, AlbumInput[]> {
	const albums = new Map<string, AlbumInput[]>();
	for (const photo of photos) {
		const members = albums.get(photo.key);
		if (members) members.push(photo);
		else albums.set(photo.key, [photo]);
	}
	for (const [key, members] of albums) albums.set(key, orderPhotos(members, order));
	return albums;
}

/** Albums of a quiet period whose last photo came long enough ago, with enough photos, not taken by another run. */
function dueAlbums(memory: PhotoMemory, settings: CollectionSettings, now: number): AlbumRecord[] {
	const quietMs = settings.quietPeriodMinutes * 60_000;
	return memory.albums.filter(
		(album) =>
			album.status === 'collecting' &&
			album.lastPhotoAt + quietMs <= now &&
			album.photos.length >= settings.minimumPhotos,
	);
}

function hint(ctx: IExecuteFunctions, message: string, type: 'info' | 'warning' = 'info'): void {
	// addExecutionHints exists in n8n 1.x since 1.54 and in 2.x; an older n8n just shows no hint.
	const add = (ctx as { addExecutionHints?: IExecuteFunctions['addExecutionHints'] }).addExecutionHints;
	add?.call(ctx, { message, type, location: 'outputPane' });
}

/** What this run left for later, said where a user looks: the output pane's hints. */
function explainWaiting(ctx: IExecuteFunctions, settings: CollectionSettings, memory: PhotoMemory | undefined, small: Array<[string, number]>): void {
	for (const [album, count] of small) {
		hint(ctx, `Album "${album}": ${count} new photo${count === 1 ? '' : 's'}, fewer than the minimum of ${settings.minimumPhotos}; no video yet, they stay new.`);
	}
	if (!memory || settings.quietPeriodMinutes <= 0) return;
	const collecting = memory.albums.filter((album) => album.status === 'collecting');
	for (const album of collecting) {
		hint(
			ctx,
			`Album "${album.album}": ${album.photos.length} photo${album.photos.length === 1 ? '' : 's'} collected in session ${album.sessionId}; its video is made ${settings.quietPeriodMinutes} min after the last photo came (${new Date(album.lastPhotoAt).toISOString()})${album.photos.length < settings.minimumPhotos ? `, once it has ${settings.minimumPhotos} photos` : ''}.`,
		);
	}
}

/** Runs Photo to Video with its album options: one output item per video made in this run. */
export async function runCollections(ctx: IExecuteFunctions, settings: CollectionSettings): Promise<INodeExecutionData[][]> {
	const remembers = settings.onlyNewPhotos || settings.quietPeriodMinutes > 0;
	const memory = remembers ? PhotoMemory.open(ctx) : undefined;
	if (memory && !memory.saved) {
		hint(
			ctx,
			'Manual run: n8n does not save what this node remembers (photos used, albums collecting) after a run started from the editor. The next manual run starts from the same memory again; runs of the active workflow (Schedule, triggers, n8n execute) remember.',
			'warning',
		);
	}
	try {
		const { photos, failed, runnable } = await readInput(ctx, settings, remembers);
		const { order, quietPeriodMinutes } = settings;
		const run: AlbumRun = { ctx, client: new NemoVideoClient(ctx), memory, order, quietPeriodMinutes, pairing: outputPairing(runnable), delivered: [] };
		const outputs: INodeExecutionData[] = [];
		const pending = memory?.albums.filter((album) => album.status === 'charged') ?? [];
		outputs.push(...(await eachAlbum(run, pending, async (album) => await deliverPendingAlbum(run, album))));
		const albums = albumsOf(newPhotos(photos, settings, memory), settings.order);
		const small: Array<[string, number]> = [];
		if (settings.quietPeriodMinutes > 0 && memory) {
			await eachAlbum(run, [...albums.values()], async (members) => await uploadIntoAlbum(run, members));
			const due = dueAlbums(memory, settings, Date.now());
			outputs.push(...(await eachAlbum(run, due, async (album) => await dueAlbumVideo(run, album))));
		} else {
			const ready = [...albums.values()].filter((members) => {
				if (members.length >= settings.minimumPhotos) return true;
				small.push([members[0].album, members.length]);
				return false;
			});
			outputs.push(...(await eachAlbum(run, ready, async (members) => await newAlbumVideo(run, members))));
		}
		// Delivered: forgotten only now, so that a failure above leaves them to the next run, without a charge.
		for (const sessionId of run.delivered) memory?.finishAlbum(sessionId);
		explainWaiting(ctx, settings, memory, small);
		return [[...outputs, ...failed]];
	} finally {
		memory?.release();
	}
}
