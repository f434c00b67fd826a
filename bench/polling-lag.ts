/**
 * Issue 5 benchmark: how fast Export & Wait notices a finished render, and how many polls it makes, for renders
 * of 10 s, 45 s and 90 s (one emulator child process per render length, since `renderMs` is per emulator; the
 * three run in parallel). Export & Wait runs with its defaults (poll interval 30 s) and `download: false`.
 * Lag = the node returning (n8n's task data) minus the render's completion (the emulator's `completedAt`,
 * i.e. start + renderMs). Goal: lag <= 3 s + 10% of the render time, and <= 15 polls for a 90 s render.
 *
 *   npx tsx bench/polling-lag.ts [--renders 10,45,90]     (seconds; takes about as long as the longest + 15 s)
 */
import './resolve-ts';
import '../test/harness/env';

import { Harness } from '../test/harness';
import { TOKEN, nodeTiming, printTable, readySessions, runMain, seconds, startEmulator, summary } from './common';

const MAX_POLLS_AT_90S = 15;

function renderSeconds(): number[] {
	const index = process.argv.indexOf('--renders');
	const raw = index > 0 ? process.argv[index + 1] : '10,45,90';
	return raw.split(',').map((value) => Number(value.trim())).filter((value) => value > 0);
}

interface Row {
	renderSeconds: number;
	renderId: string;
	lagMs: number;
	allowedLagMs: number;
	polls: number;
	pollsReported: number;
	nodeMs: number;
	pollTimes: number[];
}

async function measure(renderS: number): Promise<Row> {
	const emulator = await startEmulator({ renderMs: 200, sseEventDelayMs: 5 });
	try {
		const harness = new Harness();
		harness.credentials.set('cred-1', { baseUrl: emulator.baseUrl, accessToken: TOKEN });
		const [sessionId] = await readySessions(harness, 1);
		await emulator.admin('POST', '/config', { renderMs: renderS * 1000 });
		const since = await emulator.lastSeq();
		const run = await harness.run({
			input: [{ json: { sessionId } }],
			nodes: [{ type: 'nemoVideoExport', name: 'Export', parameters: { download: false } }],
		});
		if (run.error) throw new Error(`${renderS} s render: ${run.error.message}`);
		const timing = nodeTiming(run.run, 'Export');
		const out = run.output('Export')[0].json;
		const renderId = String(out.renderId);
		const render = await emulator.render(renderId);
		if (render.status !== 'completed' || !render.completedAt) throw new Error(`render ${renderId} is ${render.status}`);
		const polls = (await emulator.requests(since, 'renderPoll')).filter((request) => request.renderId === renderId);
		const row: Row = {
			renderSeconds: renderS,
			renderId,
			lagMs: timing.end - render.completedAt,
			allowedLagMs: 3000 + renderS * 100,
			polls: polls.length,
			pollsReported: Number(out.polls),
			nodeMs: timing.ms,
			pollTimes: polls.map((request) => request.at - render.startedAt),
		};
		console.log(`  ${renderS} s render: lag ${seconds(row.lagMs)} s, ${row.polls} polls`);
		return row;
	} finally {
		await emulator.stop();
	}
}

async function main(): Promise<boolean> {
	const renders = renderSeconds();
	console.log(`Renders of ${renders.join(', ')} s through Export & Wait (defaults, download off), in parallel`);
	const rows = await Promise.all(renders.map(async (renderS) => await measure(renderS)));

	printTable(
		'Export & Wait: lag between the render finishing and the node returning (poll interval: default 30 s)',
		['render s', 'node time s', 'lag s', 'allowed lag s (3 + 10%)', 'polls', 'lag ok', 'polls ok'],
		rows.map((row) => [
			row.renderSeconds,
			seconds(row.nodeMs),
			seconds(row.lagMs),
			seconds(row.allowedLagMs),
			row.polls,
			row.lagMs <= row.allowedLagMs ? 'yes' : 'NO',
			row.renderSeconds >= 90 ? (row.polls <= MAX_POLLS_AT_90S ? 'yes' : 'NO') : '-',
		]),
	);
	for (const row of rows) {
		console.log(`  polls of the ${row.renderSeconds} s render, s after it started: ${row.pollTimes.map((ms) => (ms / 1000).toFixed(1)).join(', ')}`);
	}
	const mismatch = rows.filter((row) => row.pollsReported !== row.polls);
	if (mismatch.length) console.log(`  note: the node's own "polls" output differs from the emulator's log for ${mismatch.map((row) => `${row.renderSeconds} s`).join(', ')}`);

	const lagOk = rows.every((row) => row.lagMs <= row.allowedLagMs);
	const long = rows.filter((row) => row.renderSeconds >= 90);
	const pollsOk = long.length ? long.every((row) => row.polls <= MAX_POLLS_AT_90S) : null;
	const goalMet = lagOk && pollsOk !== false;
	const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'MET' : 'NOT MET');
	console.log(`\nGoal: lag <= 3 s + 10% of the render time: ${verdict(lagOk)}; <= ${MAX_POLLS_AT_90S} polls for a 90 s render: ${verdict(pollsOk)}`);
	summary('polling-lag', {
		goalMet,
		lagGoalMet: lagOk,
		pollsGoalMet: pollsOk,
		renders: rows.map((row) => ({
			renderSeconds: row.renderSeconds,
			lagSeconds: Number(seconds(row.lagMs)),
			allowedLagSeconds: Number(seconds(row.allowedLagMs)),
			polls: row.polls,
			nodeSeconds: Number(seconds(row.nodeMs)),
		})),
	});
	return true;
}

runMain(main);
