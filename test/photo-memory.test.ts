/**
 * What Photo to Video remembers (nodes/shared/photoMemory.ts), as pure functions: the stored form, merging two
 * copies of the state (two runs, two workers), and the pruning rule.
 */
import { createHash } from 'node:crypto';

import type { AlbumRecord } from '../nodes/shared/photoMemory';
import {
	FORGET_AFTER_DAYS,
	MAX_REMEMBERED_PHOTOS,
	emptyMemory,
	mergeMemory,
	parseMemory,
	photoKey,
	prune,
	serializeMemory,
	today,
} from '../nodes/shared/photoMemory';

const key = (n: number) => photoKey(createHash('sha256').update(`photo ${n}`).digest());
const NOW = Date.parse('2026-09-01T12:00:00Z');
const DAY = today(NOW);

function album(sessionId: string, changedAt: number, status: AlbumRecord['status'] = 'collecting'): AlbumRecord {
	return { key: 'all', album: 'all', sessionId, status, photos: [{ k: key(1), n: 'a.jpg' }], lastPhotoAt: changedAt, changedAt };
}

describe('the stored form', () => {
	test('keys are 12 characters; the state round-trips through JSON', () => {
		const memory = emptyMemory();
		memory.used.set(key(1), DAY).set(key(2), DAY - 3);
		memory.albums.set('s1', album('s1', NOW));
		memory.done.set('s0', DAY);
		expect(key(1)).toMatch(/^[\w-]{12}$/);
		const again = parseMemory(JSON.parse(JSON.stringify(serializeMemory(memory))));
		expect(again).toEqual(memory);
	});

	test('anything else stored reads as an empty memory', () => {
		for (const stored of [undefined, null, 'text', { v: 2 }, { v: 1, used: 'x' }]) expect(parseMemory(stored).used.size).toBe(0);
	});

	test('100,000 photos take less than 8 MB (1.15 MB measured)', () => {
		const memory = emptyMemory();
		for (let n = 0; n < 100_000; n++) memory.used.set(key(n), DAY - (n % 400));
		const bytes = Buffer.byteLength(JSON.stringify(serializeMemory(memory)));
		expect(bytes).toBeLessThan(8 * 1024 * 1024);
		expect(bytes).toBeLessThan(1.4 * 1024 * 1024);
	});
});

describe('merging two copies', () => {
	test('photos: the later day seen wins; albums: the later change wins; a finished session stays finished', () => {
		const mine = emptyMemory();
		mine.used.set(key(1), DAY - 5);
		mine.albums.set('s1', album('s1', NOW - 1000));
		mine.albums.set('s2', album('s2', NOW - 1000));
		const theirs = emptyMemory();
		theirs.used.set(key(1), DAY).set(key(2), DAY - 1);
		theirs.albums.set('s1', album('s1', NOW, 'charged'));
		theirs.done.set('s2', DAY);
		const merged = mergeMemory(mine, theirs);
		expect(merged.used).toEqual(new Map([[key(1), DAY], [key(2), DAY - 1]]));
		expect(merged.albums.get('s1')?.status).toBe('charged');
		expect(merged.albums.has('s2')).toBe(false);
		// The other way round: an older copy cannot bring the finished album back.
		const stale = emptyMemory();
		stale.albums.set('s2', album('s2', NOW + 5000));
		expect(mergeMemory(merged, stale).albums.has('s2')).toBe(false);
	});
});

describe('the pruning rule', () => {
	test(`a photo not seen for ${FORGET_AFTER_DAYS} days is forgotten; one seen again is renewed`, () => {
		const memory = emptyMemory();
		memory.used.set(key(1), DAY - FORGET_AFTER_DAYS - 1).set(key(2), DAY - FORGET_AFTER_DAYS);
		prune(memory, NOW);
		expect([...memory.used.keys()]).toEqual([key(2)]);
	});

	test(`past ${MAX_REMEMBERED_PHOTOS} photos, those seen longest ago go first, never those seen today`, () => {
		const memory = emptyMemory();
		for (let n = 0; n < MAX_REMEMBERED_PHOTOS; n++) memory.used.set(key(n), DAY);
		memory.used.set(key(-1), DAY - 10).set(key(-2), DAY - 2);
		prune(memory, NOW);
		expect(memory.used.size).toBe(MAX_REMEMBERED_PHOTOS);
		expect(memory.used.has(key(-1))).toBe(false);
		expect(memory.used.has(key(-2))).toBe(false);
		memory.used.set(key(-3), DAY);
		prune(memory, NOW);
		expect(memory.used.size).toBe(MAX_REMEMBERED_PHOTOS + 1);
	});

	test('finished sessions are forgotten after 30 days', () => {
		const memory = emptyMemory();
		memory.done.set('old', DAY - 31).set('recent', DAY - 30);
		prune(memory, NOW);
		expect([...memory.done.keys()]).toEqual(['recent']);
	});
});
