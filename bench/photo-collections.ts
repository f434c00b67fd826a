/**
 * Issue 17 benchmark: what Photo to Video's albums cost per photo, through n8n's binary store (filesystem mode,
 * n8n-core's BinaryDataService, as the node's `helpers.getBinaryStream` reads it).
 *
 *   npx tsx --expose-gc bench/photo-collections.ts        options: --gigabytes 1 (hashing volume)
 *
 * 1. Bytes read for the date taken, for photos of 0.1 to 50 MB (a real JPEG head with its EXIF, padded after
 *    its end): goal at most 128 KB each, whatever the size.
 * 2. Content hashing of about 1 GB of photos (10 MB files) by the node's reader (photoFacts.ts) against
 *    `sha256sum` on the same files of the store, in the same run (each three times, alternating, the best run
 *    of each counted): goal at most 1.3x; and the RSS growth while hashing them, and one 300 MB file (goal:
 *    flat, under 64 MB whatever the size).
 * 3. The static data of 100,000 remembered photos, as stored (JSON): goal at most 8 MB; with the time to read
 *    and write it.
 */
import './resolve-ts';
import '../test/harness/env';

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { BinaryDataService } from 'n8n-core';

import { readPhotoFacts } from '../nodes/shared/photoFacts';
import { emptyMemory, parseMemory, photoKey, serializeMemory, today } from '../nodes/shared/photoMemory';
import { MB, ROOT, RssSampler, mb, printTable, seconds, summary, runMain } from './common';

const { Container } = require(require.resolve('@n8n/di', { paths: [require.resolve('n8n-core')] })) as typeof import('@n8n/di');

const argument = (name: string, fallback: number) => {
	const at = process.argv.indexOf(`--${name}`);
	return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};

const JPEG = readFileSync(join(ROOT, 'test', 'exif-fixtures', 'jpeg-offset.jpg'));

/** A photo of `bytes`: the fixture (EXIF first, as cameras write it), then filler after its end marker. */
function* photoChunks(bytes: number, seed: number): Generator<Buffer> {
	yield JPEG;
	const block = randomBytes(MB);
	block.writeUInt32BE(seed, 0);
	for (let left = bytes - JPEG.length; left > 0; left -= MB) yield block.subarray(0, Math.min(MB, left));
}

async function store(service: BinaryDataService, bytes: number, seed: number): Promise<string> {
	const stored = await service.store(
		{ type: 'execution', workflowId: 'bench', executionId: 'bench' },
		Readable.from(photoChunks(bytes, seed)),
		{ data: '', mimeType: 'image/jpeg', fileName: `photo-${seed}.jpg` },
	);
	return stored.id!;
}

async function bytesReadForDate(service: BinaryDataService): Promise<{ rows: Array<Array<string | number>>; worst: number }> {
	const rows: Array<Array<string | number>> = [];
	let worst = 0;
	for (const size of [0.1, 1, 10, 50]) {
		const id = await store(service, Math.round(size * MB), size * 10);
		const facts = await readPhotoFacts(async (chunkSize) => await service.getAsStream(id, chunkSize), { key: false, date: true });
		worst = Math.max(worst, facts.bytesRead);
		rows.push([`${size} MB`, `${(facts.bytesRead / 1024).toFixed(0)} KB`, facts.date?.text ?? 'none']);
	}
	return { rows, worst };
}

async function hashing(service: BinaryDataService, gigabytes: number) {
	const ids: string[] = [];
	const fileBytes = 10 * MB;
	const count = Math.round((gigabytes * 1024 * MB) / fileBytes);
	for (let n = 0; n < count; n++) ids.push(await store(service, fileBytes, 1000 + n));
	const paths = ids.map((id) => service.getPath(id));
	const hashAll = async () => {
		let read = 0;
		for (const id of ids) read += (await readPhotoFacts(async (chunkSize) => await service.getAsStream(id, chunkSize), { key: true, date: true })).bytesRead;
		if (read !== count * fileBytes) throw new Error(`hashed ${read} bytes of ${count * fileBytes}`);
	};
	// Timed without the RSS sampler (its thread competes for the 2 cores); memory measured in a pass of its own.
	const ours = async () => {
		const t = Date.now();
		await hashAll();
		return Date.now() - t;
	};
	const memory = async () => {
		const sampler = new RssSampler();
		const baseline = await sampler.start();
		await hashAll();
		const growth = (await sampler.stop()) - baseline;
		await sampler.close();
		return growth;
	};
	const sha256sum = () => {
		const t = Date.now();
		const result = spawnSync('sha256sum', paths, { stdio: ['ignore', 'ignore', 'inherit'] });
		if (result.status !== 0) throw new Error(`sha256sum exited ${result.status}`);
		return Date.now() - t;
	};
	// Alternating, three times each: on a busy machine the better runs are the ones less disturbed.
	const tool: number[] = [];
	const mine: number[] = [];
	for (let round = 0; round < 3; round++) {
		tool.push(sha256sum());
		mine.push(await ours());
	}
	const best = Math.min(...mine);
	const bestTool = Math.min(...tool);
	return { count, bytes: count * fileBytes, best, bestTool, ratio: best / bestTool, growth: await memory(), bigGrowth: await bigFileGrowth(service) };
}

/** RSS growth while hashing one 300 MB file: what "memory does not grow with the file" means. */
async function bigFileGrowth(service: BinaryDataService): Promise<number> {
	const id = await store(service, 300 * MB, 7);
	const sampler = new RssSampler();
	const baseline = await sampler.start();
	await readPhotoFacts(async (chunkSize) => await service.getAsStream(id, chunkSize), { key: true, date: true });
	const growth = (await sampler.stop()) - baseline;
	await sampler.close();
	return growth;
}

function staticDataSize(photos: number) {
	const memory = emptyMemory();
	const day = today();
	for (let n = 0; n < photos; n++) memory.used.set(photoKey(randomBytes(32)), day - (n % 400));
	let t = Date.now();
	const stored = JSON.stringify(serializeMemory(memory));
	const writeMs = Date.now() - t;
	t = Date.now();
	const again = parseMemory(JSON.parse(stored));
	const readMs = Date.now() - t;
	if (again.used.size !== photos) throw new Error('the stored memory did not read back');
	return { bytes: Buffer.byteLength(stored), writeMs, readMs };
}

runMain(async () => {
	const service = Container.get(BinaryDataService);
	await service.init();

	const dates = await bytesReadForDate(service);
	printTable('Bytes read for the date taken (goal: at most 128 KB)', ['photo', 'read', 'date taken'], dates.rows);

	const gigabytes = argument('gigabytes', 1);
	const hash = await hashing(service, gigabytes);
	printTable(`Content hashing of ${hash.count} photos, ${mb(hash.bytes)} MB (goal: at most 1.3x sha256sum, memory flat)`, ['reader', 'time', 'MB/s', 'RSS growth'], [
		['sha256sum (same files)', `${seconds(hash.bestTool)} s`, (hash.bytes / MB / (hash.bestTool / 1000)).toFixed(0), '-'],
		['photoFacts.ts (key and date)', `${seconds(hash.best)} s`, (hash.bytes / MB / (hash.best / 1000)).toFixed(0), `${mb(hash.growth)} MB`],
		['photoFacts.ts, one 300 MB file', '-', '-', `${mb(hash.bigGrowth)} MB`],
	]);

	const state = staticDataSize(100_000);
	printTable('Static data of 100,000 remembered photos (goal: at most 8 MB)', ['stored JSON', 'write', 'read'], [
		[`${(state.bytes / MB).toFixed(2)} MB`, `${state.writeMs} ms`, `${state.readMs} ms`],
	]);

	const goalMet = dates.worst <= 128 * 1024 && hash.ratio <= 1.3 && Math.max(hash.growth, hash.bigGrowth) < 64 * MB && state.bytes <= 8 * MB;
	summary('photo-collections', {
		goalMet,
		dateBytesReadMax: dates.worst,
		hashRatio: Number(hash.ratio.toFixed(2)),
		hashMBps: Number((hash.bytes / MB / (hash.best / 1000)).toFixed(0)),
		sha256sumMBps: Number((hash.bytes / MB / (hash.bestTool / 1000)).toFixed(0)),
		hashRssGrowthMB: Number(mb(hash.growth)),
		hash300MBFileRssGrowthMB: Number(mb(hash.bigGrowth)),
		staticDataBytesFor100k: state.bytes,
	});
	return goalMet;
});
