/**
 * What Photo to Video remembers between executions, and its one job: never to charge a photo twice nor lose
 * an album, over months of runs (issue 17). It lives in the node's workflow static data
 * (`getWorkflowStaticData('node')`, key `photoCollections`), which n8n loads when a run starts and saves whole
 * when it ends, in every mode but manual, also after a failed run, never after a cancelled one
 * (n8n-core workflow-execute.js processSuccessExecution; n8n execution-lifecycle-hooks.js hookFunctionsSave).
 *
 * Remembered:
 * - the photos used (their AI message was sent), by content: 12 characters of their SHA-256 (72 bits), in
 *   buckets by the day (UTC) they were last seen in the input;
 * - the albums still open (collecting photos in their session, in quiet-period mode) and the albums charged but
 *   not yet delivered (session, render id, URL): the next run renders those again, it never generates again;
 * - the sessions of albums finished in the last 30 days, so that an older copy of the state cannot bring one back.
 *
 * Pruning rule: a photo is forgotten 400 days after it was last seen (a photo that keeps coming, as in a folder
 * read every night, is renewed each time); past 200,000 photos the ones seen longest ago go first (never those
 * seen today). 100,000 photos take 1.15 MB of JSON (bench/photo-collections.ts).
 *
 * Two runs of one workflow at once in one n8n process: each loads the state when it starts and the last to end
 * overwrites the other's save. So every run of a process works on one shared state (a registry per workflow and
 * node): a run's loaded copy is merged into it when the run starts, photos and albums a run works on are
 * claimed so that another run leaves them alone, and every change is written into the static data of every run
 * still alive: whichever saves last saves everything. Manual runs (never saved by n8n) work on their own copy.
 */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

export const MEMORY_KEY = 'photoCollections';
const DAY_MS = 86_400_000;
const KEY_LENGTH = 12;
export const FORGET_AFTER_DAYS = 400;
export const MAX_REMEMBERED_PHOTOS = 200_000;
const DONE_KEPT_DAYS = 30;

/** A photo of an album, as the album's session holds it: its key, its file name, when it was taken (ms). */
export interface AlbumPhoto {
	k: string;
	n: string;
	d?: number;
}

/** An album with a session: `collecting` (no message yet), or `charged` (its AI message was sent). */
export interface AlbumRecord {
	/** Album key (grouping's value: a folder path, a day, `all`) and its name in the output. */
	key: string;
	album: string;
	sessionId: string;
	status: 'collecting' | 'charged';
	photos: AlbumPhoto[];
	/** When its last photo came, and when the record last changed (ms). */
	lastPhotoAt: number;
	changedAt: number;
	renderId?: string;
	url?: string;
	prompt?: string;
}

/** The state as stored in static data. */
export interface StoredMemory extends IDataObject {
	v: 1;
	/** Day number (UTC) when last seen → the keys of the photos used, KEY_LENGTH characters each. */
	used: Record<string, string>;
	/** Albums with a session, by session id. */
	albums: Record<string, AlbumRecord>;
	/** Sessions of finished albums → the day they finished. */
	done: Record<string, number>;
}

export const today = (now = Date.now()) => Math.floor(now / DAY_MS);

/** The compact key of a photo's SHA-256 (hex or base64url digest → 12 base64url characters). */
export function photoKey(digest: Buffer): string {
	return digest.subarray(0, 9).toString('base64url');
}

/** The state in memory: photos used by key → the day last seen. */
export interface Memory {
	used: Map<string, number>;
	albums: Map<string, AlbumRecord>;
	done: Map<string, number>;
}

export function emptyMemory(): Memory {
	return { used: new Map(), albums: new Map(), done: new Map() };
}

/** Reads the stored form (anything else, or nothing, is an empty memory). */
export function parseMemory(stored: unknown): Memory {
	const memory = emptyMemory();
	if (!stored || typeof stored !== 'object' || (stored as StoredMemory).v !== 1) return memory;
	const { used = {}, albums = {}, done = {} } = stored as StoredMemory;
	for (const [day, keys] of Object.entries(used)) {
		if (typeof keys !== 'string') continue;
		for (let at = 0; at + KEY_LENGTH <= keys.length; at += KEY_LENGTH) memory.used.set(keys.slice(at, at + KEY_LENGTH), Number(day));
	}
	for (const [sessionId, record] of Object.entries(albums)) {
		if (record && typeof record === 'object' && Array.isArray(record.photos)) memory.albums.set(sessionId, record);
	}
	for (const [sessionId, day] of Object.entries(done)) memory.done.set(sessionId, Number(day));
	return memory;
}

/** Applies the pruning rule (see the header) in place. */
export function prune(memory: Memory, now = Date.now()): void {
	const day = today(now);
	for (const [key, seen] of memory.used) if (seen < day - FORGET_AFTER_DAYS) memory.used.delete(key);
	for (const [sessionId, finished] of memory.done) if (finished < day - DONE_KEPT_DAYS) memory.done.delete(sessionId);
	let excess = memory.used.size - MAX_REMEMBERED_PHOTOS;
	if (excess <= 0) return;
	const oldestFirst = [...memory.used].filter(([, seen]) => seen < day).sort((a, b) => a[1] - b[1]);
	for (const [key] of oldestFirst) {
		if (excess-- <= 0) break;
		memory.used.delete(key);
	}
}

/** The stored form: buckets of keys by day. */
export function serializeMemory(memory: Memory): StoredMemory {
	const buckets: Record<string, string[]> = {};
	for (const [key, day] of memory.used) (buckets[day] ??= []).push(key);
	return {
		v: 1,
		used: Object.fromEntries(Object.entries(buckets).map(([day, keys]) => [day, keys.join('')])),
		albums: Object.fromEntries(memory.albums),
		done: Object.fromEntries(memory.done),
	};
}

/**
 * Merges `other` into `into`: photos by the later day seen, albums by their later change, a finished session
 * removes its album from either side.
 */
export function mergeMemory(into: Memory, other: Memory): Memory {
	for (const [key, day] of other.used) if ((into.used.get(key) ?? -Infinity) < day) into.used.set(key, day);
	for (const [sessionId, day] of other.done) if ((into.done.get(sessionId) ?? -Infinity) < day) into.done.set(sessionId, day);
	for (const [sessionId, record] of other.albums) {
		const mine = into.albums.get(sessionId);
		if (!mine || mine.changedAt < record.changedAt) into.albums.set(sessionId, record);
	}
	for (const sessionId of into.done.keys()) into.albums.delete(sessionId);
	return into;
}

// ---- the registry: one shared state per workflow and node in this process -------------------------------

interface Shared {
	memory: Memory;
	/** Photo key → the execution that claimed it; session id → the execution finishing that album. */
	photoClaims: Map<string, string>;
	albumClaims: Map<string, string>;
	/** Album key → the end of the last upload into it (uploads into one album go one after the other). */
	albumQueues: Map<string, Promise<void>>;
	/** The static data of the runs that may still save it. */
	live: Array<WeakRef<IDataObject>>;
}

const registry = new Map<string, Shared>();

/** Forgets every run of this process: what an n8n restart does (tests use it to show one). */
export function forgetProcessMemory(): void {
	registry.clear();
}

/** The memory of one execution of one node. */
export class PhotoMemory {
	private constructor(
		private readonly shared: Shared,
		private readonly runId: string,
		/** Manual runs: nothing of this run reaches another run, nor the database. */
		readonly saved: boolean,
	) {}

	static open(ctx: IExecuteFunctions): PhotoMemory {
		const staticData = ctx.getWorkflowStaticData('node');
		const loaded = parseMemory(staticData[MEMORY_KEY]);
		const runId = ctx.getExecutionId() ?? `run-${Math.random()}`;
		const saved = ctx.getMode() !== 'manual';
		if (!saved) return new PhotoMemory(newShared(loaded, staticData), runId, false);
		const registryKey = `${ctx.getWorkflow().id ?? ''}\u0000${ctx.getNode().name}`;
		let shared = registry.get(registryKey);
		if (!shared) registry.set(registryKey, (shared = newShared(loaded, staticData)));
		else {
			mergeMemory(shared.memory, loaded);
			shared.live.push(new WeakRef(staticData));
		}
		const memory = new PhotoMemory(shared, runId, true);
		memory.publish();
		return memory;
	}

	get albums(): AlbumRecord[] {
		return [...this.shared.memory.albums.values()];
	}

	isUsed(key: string): boolean {
		return this.shared.memory.used.has(key);
	}

	/** The keys of the photos in albums' sessions already (collecting or charged). */
	inAlbums(): Set<string> {
		return new Set(this.albums.flatMap((album) => album.photos.map((photo) => photo.k)));
	}

	/** Claims photos for this run; returns the keys another live run had already claimed (left alone). */
	claimPhotos(keys: string[]): Set<string> {
		const taken = new Set<string>();
		for (const key of keys) {
			const owner = this.shared.photoClaims.get(key);
			if (owner && owner !== this.runId) taken.add(key);
			else this.shared.photoClaims.set(key, this.runId);
		}
		return taken;
	}

	/** Claims an album to finish it; false when another live run is finishing it. */
	claimAlbum(sessionId: string): boolean {
		const owner = this.shared.albumClaims.get(sessionId);
		if (owner && owner !== this.runId) return false;
		this.shared.albumClaims.set(sessionId, this.runId);
		return true;
	}

	/** Runs `work` after the uploads into this album key started earlier in this process have ended. */
	async inAlbumQueue<T>(albumKey: string, work: () => Promise<T>): Promise<T> {
		const before = this.shared.albumQueues.get(albumKey) ?? Promise.resolve();
		const result = before.then(work);
		const settled = result.then(
			() => undefined,
			() => undefined,
		);
		this.shared.albumQueues.set(albumKey, settled);
		try {
			return await result;
		} finally {
			if (this.shared.albumQueues.get(albumKey) === settled) this.shared.albumQueues.delete(albumKey);
		}
	}

	/** The photos are used (their album's AI message is being sent). Returns what they were before (for undo). */
	markUsed(keys: string[], now = Date.now()): Map<string, number | undefined> {
		const before = new Map(keys.map((key) => [key, this.shared.memory.used.get(key)]));
		for (const key of keys) this.shared.memory.used.set(key, today(now));
		this.publish();
		return before;
	}

	/** Undoes markUsed (the service refused the message before doing anything: nothing was charged). */
	restoreUsed(before: Map<string, number | undefined>): void {
		for (const [key, day] of before) {
			if (day === undefined) this.shared.memory.used.delete(key);
			else this.shared.memory.used.set(key, day);
		}
		this.publish();
	}

	/** Forgets an album without marking its session finished (it was never charged). */
	dropAlbum(sessionId: string): void {
		this.shared.memory.albums.delete(sessionId);
		this.publish();
	}

	/** Used photos seen again in the input: renewed, so that the pruning rule keeps them. */

	renewSeen(keys: string[], now = Date.now()): void {
		let changed = false;
		for (const key of keys) {
			if (this.shared.memory.used.get(key) === today(now)) continue;
			if (!this.shared.memory.used.has(key)) continue;
			this.shared.memory.used.set(key, today(now));
			changed = true;
		}
		if (changed) this.publish();
	}

	putAlbum(record: AlbumRecord): void {
		this.shared.memory.albums.set(record.sessionId, { ...record, changedAt: Math.max(Date.now(), record.changedAt + 1) });
		this.publish();
	}

	/** The album is delivered (or given up): forgotten, and its session marked finished. */
	finishAlbum(sessionId: string, now = Date.now()): void {
		this.shared.memory.albums.delete(sessionId);
		this.shared.memory.done.set(sessionId, today(now));
		this.publish();
	}

	/** Lets go of everything this run claimed (its end, successful or not). */
	release(): void {
		for (const claims of [this.shared.photoClaims, this.shared.albumClaims]) {
			for (const [key, owner] of claims) if (owner === this.runId) claims.delete(key);
		}
	}

	/** Writes the state into the static data of every run still alive (which marks it changed for n8n). */
	publish(): void {
		prune(this.shared.memory);
		const stored = serializeMemory(this.shared.memory);
		this.shared.live = this.shared.live.filter((ref) => {
			const staticData = ref.deref();
			if (staticData) staticData[MEMORY_KEY] = stored;
			return staticData !== undefined;
		});
	}
}

function newShared(memory: Memory, staticData: IDataObject): Shared {
	return {
		memory,
		photoClaims: new Map(),
		albumClaims: new Map(),
		albumQueues: new Map(),
		live: [new WeakRef(staticData)],
	};
}
