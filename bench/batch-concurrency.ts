/**
 * Issue 5 benchmark: a batch of 10 items through NemoVideo Export & Wait (download on, default poll interval)
 * with renders the emulator makes last 20 s each, at concurrency 1, the default (5) and 10, against one item
 * alone. Wall time, requests in total and per item (from the emulator's log), ratio to the single item's time.
 * Goal: concurrency >= 10 finishes within 1.3x a single item's time, with no more requests per item than a
 * single run. Takes about 5 minutes (concurrency 1 alone is ~10 x 23 s).
 *
 *   npx tsx bench/batch-concurrency.ts [--items 10] [--render-ms 20000] [--levels 1,default,10]
 */
import './resolve-ts';
import '../test/harness/env';

import { Harness } from '../test/harness';
import { TOKEN, nodeTiming, printTable, readySessions, runMain, seconds, startEmulator, summary, type RecordedRequest } from './common';

function arg(name: string, fallback: string): string {
	const index = process.argv.indexOf(`--${name}`);
	return index > 0 ? process.argv[index + 1] : fallback;
}

interface Row {
	label: string;
	items: number;
	concurrency: number | 'default (5)';
	wallMs: number;
	nodeMs: number;
	requests: RecordedRequest[];
	ok: number;
}

function byRoute(requests: RecordedRequest[]): string {
	const counts = new Map<string, number>();
	for (const request of requests) counts.set(request.route, (counts.get(request.route) ?? 0) + 1);
	return [...counts].map(([route, count]) => `${route} ${count}`).join(', ');
}

async function main(): Promise<boolean> {
	const items = Number(arg('items', '10'));
	const renderMs = Number(arg('render-ms', '20000'));
	const levels = arg('levels', '1,default,10').split(',').map((level) => level.trim());

	const emulator = await startEmulator({ renderMs: 200, sseEventDelayMs: 5 });
	const harness = new Harness();
	harness.credentials.set('cred-1', { baseUrl: emulator.baseUrl, accessToken: TOKEN });

	// Setup (not measured): one ready-to-export session per item, through Upload and Generate.
	const sessions = await readySessions(harness, items);
	await emulator.admin('POST', '/config', { renderMs });

	const measure = async (label: string, count: number, concurrency: number | undefined): Promise<Row> => {
		const since = await emulator.lastSeq();
		const started = Date.now();
		const run = await harness.run({
			input: sessions.slice(0, count).map((sessionId) => ({ json: { sessionId } })),
			nodes: [
				{
					type: 'nemoVideoExport',
					name: 'Export',
					parameters: concurrency === undefined ? {} : { options: { concurrency } },
				},
			],
		});
		const wallMs = Date.now() - started;
		if (run.error) throw new Error(`${label}: ${run.error.message}`);
		const output = run.output('Export');
		const ok = output.filter((item) => item.json.status === 'completed' && item.binary?.data).length;
		const row: Row = {
			label,
			items: count,
			concurrency: concurrency ?? 'default (5)',
			wallMs,
			nodeMs: nodeTiming(run.run, 'Export').ms,
			requests: await emulator.requests(since),
			ok,
		};
		console.log(`  ${label}: ${seconds(wallMs)} s, ${row.requests.length} requests, ${ok}/${count} videos`);
		return row;
	};

	console.log(`Batch of ${items} items through Export & Wait, renders of ${renderMs / 1000} s (emulator in a child process)`);
	const single = await measure('1 item alone', 1, undefined);
	const rows: Row[] = [single];
	for (const level of levels) {
		const concurrency = level === 'default' ? undefined : Number(level);
		rows.push(await measure(`${items} items, concurrency ${concurrency ?? 'default (5)'}`, items, concurrency));
	}
	await emulator.stop();

	const perItem = (row: Row) => row.requests.length / row.items;
	printTable(
		`Export & Wait, ${items} items, ${renderMs / 1000} s renders (download on, poll interval default 30 s)`,
		['run', 'concurrency', 'wall s', 'x single item', 'requests', 'per item', 'requests by route', 'videos'],
		rows.map((row) => [
			row.label,
			String(row.concurrency),
			seconds(row.wallMs),
			(row.wallMs / single.wallMs).toFixed(2),
			row.requests.length,
			perItem(row).toFixed(1),
			byRoute(row.requests),
			`${row.ok}/${row.items}`,
		]),
	);

	const high = rows.filter((row) => typeof row.concurrency === 'number' && row.concurrency >= items && row !== single);
	const goalMet =
		high.length > 0 &&
		high.every((row) => row.wallMs <= 1.3 * single.wallMs && perItem(row) <= perItem(single)) &&
		rows.every((row) => row.ok === row.items);
	console.log(
		`Goal: concurrency >= ${items} within 1.3x a single item's time, no more requests per item than a single run: ${goalMet ? 'MET' : 'NOT MET'}`,
	);
	summary('batch-concurrency', {
		items,
		renderSeconds: renderMs / 1000,
		goalMet,
		runs: rows.map((row) => ({
			run: row.label,
			concurrency: row.concurrency,
			wallSeconds: Number(seconds(row.wallMs)),
			ratioToSingle: Number((row.wallMs / single.wallMs).toFixed(2)),
			requests: row.requests.length,
			requestsPerItem: Number(perItem(row).toFixed(2)),
			videos: row.ok,
		})),
	});
	return true;
}

runMain(main);
