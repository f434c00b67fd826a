/**
 * The timeline decoder (nodes/shared/timeline.ts), a pure function: the service's compact draft (docs/nemovideo-api.md,
 * State: `t` tracks of type `tt` with segments `sg` of `d` milliseconds) read into named tracks, seconds, a title and
 * a one-line summary; readyToExport; and the words Generate uses for an edit that ended with no text.
 */
import { decodeTimeline, describeTimelineChange, isReadyToExport } from '../nodes/shared/timeline';

describe('the timeline decoder', () => {
	test('track types from tt 0/1/7 (anything else "other"), seconds from ms, track d over the segment sum', () => {
		const timeline = decodeTimeline({
			t: [
				{ tt: 0, sg: [{ d: 1500, m: { name: 'a.jpg' } }, { d: 2250 }] },
				{ tt: 1, d: 10000, sg: [{ d: 4000 }] },
				{ tt: 7, sg: [] },
				{ tt: 3, sg: [{ d: 1 }] },
				{ sg: 'not a list' },
			],
			m: { title: 'T' },
		});
		expect(timeline.tracks.map((track) => [track.type, track.typeCode, track.segmentCount, track.durationSeconds])).toEqual([
			['video', 0, 2, 3.75],
			['audio', 1, 1, 10],
			['text', 7, 0, 0],
			['other', 3, 1, 0.001],
			['other', null, 0, 0],
		]);
		expect(timeline.tracks[0].segments[0]).toEqual({ index: 0, durationSeconds: 1.5, metadata: { name: 'a.jpg' } });
		expect(timeline.durationSeconds).toBe(10);
		expect(timeline.title).toBe('T');
	});

	test('readyToExport: some track with a non-empty sg', () => {
		expect(isReadyToExport({ t: [] })).toBe(false);
		expect(isReadyToExport({ t: [{ tt: 0, sg: [] }, { tt: 7, sg: [] }] })).toBe(false);
		expect(isReadyToExport({ t: [{ tt: 0, sg: [] }, { tt: 1, sg: [{ d: 1 }] }] })).toBe(true);
		expect(isReadyToExport(undefined)).toBe(false);
		expect(isReadyToExport({ t: 'x' })).toBe(false);
	});

	test('a draft-level d is the duration; a segment d that is not a positive number counts as 0 s', () => {
		const timeline = decodeTimeline({ d: 12345, t: [{ tt: 0, sg: [{ d: -5 }, { d: 'x' }, { d: 2000.4 }] }] });
		expect(timeline.durationSeconds).toBe(12.345);
		expect(timeline.tracks[0].segments.map((segment) => segment.durationSeconds)).toEqual([0, 0, 2]);
		expect(timeline.tracks[0].durationSeconds).toBe(2);
	});

	test('the title: the draft metadata first, else the first text segment (text, title, name or content), else null', () => {
		const textTrack = { tt: 7, sg: [{ d: 1000, m: { content: '  Summer  ' } }] };
		expect(decodeTimeline({ m: { name: 'From the draft' }, t: [textTrack] }).title).toBe('From the draft');
		expect(decodeTimeline({ m: { title: '   ' }, t: [textTrack] }).title).toBe('Summer');
		expect(decodeTimeline({ t: [{ tt: 0, sg: [{ d: 1000, m: { name: 'photo.jpg' } }] }] }).title).toBeNull();
	});

	test('the summary names each track with segments, singular or plural, and an unknown type by its code', () => {
		const timeline = decodeTimeline({
			t: [
				{ tt: 0, sg: [{ d: 2000 }, { d: 2000 }] },
				{ tt: 1, sg: [] },
				{ tt: 9, sg: [{ d: 500 }] },
			],
		});
		expect(timeline.summary).toBe('4 s timeline with video: 2 segments, 4 s; track type 9: 1 segment, 0.5 s.');
		expect(decodeTimeline({ t: [{ tt: 0, sg: [] }] }).summary).toBe('The timeline is empty.');
	});

	test('what is not a draft decodes to an empty timeline', () => {
		for (const draft of [undefined, null, 'text', 42, [], { t: 'x' }]) {
			expect(decodeTimeline(draft)).toEqual({ durationSeconds: 0, trackCount: 0, tracks: [], title: null, summary: 'The timeline is empty.' });
		}
	});
});

describe('what an edit changed (describeTimelineChange)', () => {
	const draft = (videoSegments: number, title?: string) => ({
		t: [
			{ tt: 0, sg: Array.from({ length: videoSegments }, () => ({ d: 2000 })) },
			...(title ? [{ tt: 7, sg: [{ d: 1000, m: { text: title } }] }] : []),
		],
	});

	test('the same draft did not change', () => {
		expect(describeTimelineChange(draft(2), draft(2))).toEqual({ changed: false, summary: 'The timeline did not change.' });
		expect(describeTimelineChange(undefined, null)).toEqual({ changed: false, summary: 'The timeline did not change.' });
	});

	test('duration, segments by type and the title, each from and to, then the new summary', () => {
		expect(describeTimelineChange(draft(2), draft(3, 'Trip'))).toEqual({
			changed: true,
			summary:
				'Timeline changed: duration 4 s → 6 s, video segments 2 → 3, text segments 0 → 1, title none → "Trip". ' +
				'Now: 6 s timeline "Trip" with video: 3 segments, 6 s; text: 1 segment, 1 s.',
		});
	});

	test('a change the decoder does not name is still a change', () => {
		const before = { t: [{ tt: 0, sg: [{ d: 2000, m: { effect: 'fade' } }] }] };
		const after = { t: [{ tt: 0, sg: [{ d: 2000, m: { effect: 'zoom' } }] }] };
		expect(describeTimelineChange(before, after)).toEqual({
			changed: true,
			summary: 'Timeline changed: segment details changed. Now: 2 s timeline with video: 1 segment, 2 s.',
		});
	});
});
