import type { IDataObject } from 'n8n-workflow';

/** The draft's compact keys, as the service's skill documents them (docs/nemovideo-api.md, State). */
const TRACK_TYPES: Record<number, 'video' | 'audio' | 'text'> = { 0: 'video', 1: 'audio', 7: 'text' };

export interface TimelineSegment {
	index: number;
	durationSeconds: number;
	metadata: IDataObject;
}

export interface TimelineTrack {
	index: number;
	type: 'video' | 'audio' | 'text' | 'other';
	typeCode: number | null;
	segmentCount: number;
	durationSeconds: number;
	segments: TimelineSegment[];
	metadata: IDataObject;
}

export interface Timeline {
	durationSeconds: number;
	trackCount: number;
	tracks: TimelineTrack[];
	title: string | null;
	summary: string;
}

function asObject(value: unknown): IDataObject {
	return value && typeof value === 'object' && !Array.isArray(value) ? (value as IDataObject) : {};
}

function asArray(value: unknown): unknown[] {
	return Array.isArray(value) ? value : [];
}

function seconds(ms: unknown): number {
	const value = Number(ms);
	return Number.isFinite(value) && value > 0 ? Math.round(value) / 1000 : 0;
}

function textOf(metadata: IDataObject): string | undefined {
	for (const key of ['text', 'title', 'name', 'content']) {
		const value = metadata[key];
		if (typeof value === 'string' && value.trim()) return value.trim();
	}
	return undefined;
}

export function decodeTimeline(draftValue: unknown): Timeline {
	const draft = asObject(draftValue);
	const tracks: TimelineTrack[] = asArray(draft.t).map((trackValue, index) => {
		const track = asObject(trackValue);
		const typeCode = typeof track.tt === 'number' ? track.tt : null;
		const segments = asArray(track.sg).map((segmentValue, segmentIndex) => {
			const segment = asObject(segmentValue);
			return { index: segmentIndex, durationSeconds: seconds(segment.d), metadata: asObject(segment.m) };
		});
		const summed = segments.reduce((total, segment) => total + segment.durationSeconds, 0);
		return {
			index,
			type: (typeCode !== null && TRACK_TYPES[typeCode]) || 'other',
			typeCode,
			segmentCount: segments.length,
			durationSeconds: seconds(track.d) || Math.round(summed * 1000) / 1000,
			segments,
			metadata: asObject(track.m),
		};
	});
	const durationSeconds =
		seconds(draft.d) || Math.max(0, ...tracks.map((track) => track.durationSeconds));
	const textTrack = tracks.find((track) => track.type === 'text' && track.segmentCount > 0);
	const title = textOf(asObject(draft.m)) ?? (textTrack ? textOf(textTrack.segments[0].metadata) : undefined) ?? null;
	return { durationSeconds, trackCount: tracks.length, tracks, title, summary: summarise(tracks, durationSeconds, title) };
}

function summarise(tracks: TimelineTrack[], durationSeconds: number, title: string | null): string {
	if (!tracks.some((track) => track.segmentCount > 0)) return 'The timeline is empty.';
	const parts = tracks
		.filter((track) => track.segmentCount > 0)
		.map((track) => {
			const what = track.type === 'other' ? `track type ${track.typeCode ?? '?'}` : track.type;
			return `${what}: ${track.segmentCount} segment${track.segmentCount === 1 ? '' : 's'}, ${track.durationSeconds} s`;
		});
	return `${durationSeconds} s timeline${title ? ` "${title}"` : ''} with ${parts.join('; ')}.`;
}

/** Ready when some track has segments: the documented condition for export. */
export function isReadyToExport(draftValue: unknown): boolean {
	return asArray(asObject(draftValue).t).some((track) => asArray(asObject(track).sg).length > 0);
}

/** What changed between two reads of a session's draft, in words, for edits that end with no text. */
export function describeTimelineChange(before: unknown, after: unknown): { changed: boolean; summary: string } {
	if (JSON.stringify(before ?? null) === JSON.stringify(after ?? null)) {
		return { changed: false, summary: 'The timeline did not change.' };
	}
	const old = decodeTimeline(before);
	const now = decodeTimeline(after);
	const changes: string[] = [];
	if (old.durationSeconds !== now.durationSeconds) {
		changes.push(`duration ${old.durationSeconds} s → ${now.durationSeconds} s`);
	}
	for (const type of ['video', 'audio', 'text', 'other'] as const) {
		const count = (timeline: Timeline) =>
			timeline.tracks.filter((track) => track.type === type).reduce((n, track) => n + track.segmentCount, 0);
		if (count(old) !== count(now)) changes.push(`${type} segments ${count(old)} → ${count(now)}`);
	}
	if (old.title !== now.title) changes.push(`title ${old.title ? `"${old.title}"` : 'none'} → ${now.title ? `"${now.title}"` : 'none'}`);
	if (changes.length === 0) changes.push('segment details changed');
	return { changed: true, summary: `Timeline changed: ${changes.join(', ')}. Now: ${now.summary}` };
}
