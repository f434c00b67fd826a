/**
 * Issue 5 and issue 9 ("Polling on progress") benchmark: how fast Export & Wait notices a finished render, and
 * how many polls it makes, for renders of 10 s, 45 s and 90 s, with the emulator's linear `progress` in the poll
 * answers and without it (one emulator child process per render length and mode, since `renderMs` and
 * `renderReportsProgress` are per emulator; all run in parallel). Export & Wait runs with its defaults (poll
 * interval 30 s) and `download: false`. Lag = the node returning (n8n's task data) minus the render's completion
 * (the emulator's `completedAt`, i.e. start + renderMs).
 * Goals: with progress, lag <= 2 s + 5% of the render time and <= 10 polls for a 90 s render; without progress,
 * never worse than the schedule of before (lag <= 3 s + 10%, <= 15 polls for 90 s).
 *
 *   npx tsx bench/polling-lag.ts [--renders 10,45,90] [--modes progress,none]   (about as long as the longest + 15 s)
 */
import './resolve-ts';
import '../test/harness/env';

import { Harness } from '../test/harness';
import { TOKEN, nodeTiming, printTable, readySessions, runMain, seconds, startEmulator, summary } from './common';

type Mode = 'progress' | 'none';

/** The goal of each mode: allowed lag for a render of `renderS` seconds, and the most polls for 90 s. */
const GOALS: Record<Mode, { label: string; allowedLagMs: (renderS: number) => number; maxPollsAt90s: number }> = {
	progress: { label: '2 s + 5%', allowedLagMs: (renderS) => 2000 + renderS * 50, maxPollsAt90s: 10 },
	none: { label: '3 s + 10%', allowedLagMs: (renderS) => 3000 + renderS * 100, maxPollsAt90s: 15 },
};

function argument(name: string, fallback: string): string[] {
	const index = process.argv.indexOf(name);
	return (index > 0 ? process.argv[index + 1] : fallback).split(',').map((value) => value.trim()).filter(Boolean);
}

const renderSeconds = () => argument('--renders', '10,45,90').map(Number).filter((value) => value > 0);
const modes = () => argument('--modes', 'progress,none').filter((mode): mode is Mode => mode === 'progress' || mode === 'none');

interface Row {
	mode: Mode;
	renderSeconds: number;
	renderId: string;
	lagMs: number;
	allowedLagMs: number;
	polls: number;
	pollsReported: number;
	nodeMs: number;
	pollTimes: number[];
}

async function measure(renderS: number, mode: Mode): Promise<Row> {
	const emulator = await startEmulator({ renderMs: 200, sseEventDelayMs: 5, renderReportsProgress: mode === 'progress' });
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
			mode,
			renderSeconds: renderS,
			renderId,
			lagMs: timing.end - render.completedAt,
			allowedLagMs: GOALS[mode].allowedLagMs(renderS),
			polls: polls.length,
			pollsReported: Number(out.polls),
			nodeMs: timing.ms,
			pollTimes: polls.map((request) => request.at - render.startedAt),
		};
		console.log(`  ${renderS} s render (${mode === 'progress' ? 'with' : 'without'} progress): lag ${seconds(row.lagMs)} s, ${row.polls} polls`);
		return row;
	} finally {
		await emulator.stop();
	}
}

const pollsOk = (row: Row) => row.polls <= GOALS[row.mode].maxPollsAt90s;

async function main(): Promise<boolean> {
	const renders = renderSeconds();
	const runs = modes().flatMap((mode) => renders.map((renderS) => ({ mode, renderS })));
	console.log(`Renders of ${renders.join(', ')} s through Export & Wait (defaults, download off), with and without progress, in parallel`);
	const rows = await Promise.all(runs.map(async ({ mode, renderS }) => await measure(renderS, mode)));

	printTable(
		'Export & Wait: lag between the render finishing and the node returning (poll interval: default 30 s)',
		['progress', 'render s', 'node time s', 'lag s', 'allowed lag s', 'polls', 'max polls (90 s)', 'lag ok', 'polls ok'],
		rows.map((row) => [
			row.mode === 'progress' ? 'linear' : 'none',
			row.renderSeconds,
			seconds(row.nodeMs),
			seconds(row.lagMs),
			`${seconds(row.allowedLagMs)} (${GOALS[row.mode].label})`,
			row.polls,
			row.renderSeconds >= 90 ? GOALS[row.mode].maxPollsAt90s : '-',
			row.lagMs <= row.allowedLagMs ? 'yes' : 'NO',
			row.renderSeconds >= 90 ? (pollsOk(row) ? 'yes' : 'NO') : '-',
		]),
	);
	for (const row of rows) {
		console.log(`  polls of the ${row.renderSeconds} s render (${row.mode}), s after it started: ${row.pollTimes.map((ms) => (ms / 1000).toFixed(1)).join(', ')}`);
	}
	const mismatch = rows.filter((row) => row.pollsReported !== row.polls);
	if (mismatch.length) console.log(`  note: the node's own "polls" output differs from the emulator's log for ${mismatch.map((row) => `${row.renderSeconds} s (${row.mode})`).join(', ')}`);

	const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'MET' : 'NOT MET');
	const goals = modes().map((mode) => {
		const ofMode = rows.filter((row) => row.mode === mode);
		const lagOk = ofMode.every((row) => row.lagMs <= row.allowedLagMs);
		const long = ofMode.filter((row) => row.renderSeconds >= 90);
		const pollsGoal = long.length ? long.every(pollsOk) : null;
		console.log(`Goal ${mode === 'progress' ? 'with' : 'without'} progress: lag <= ${GOALS[mode].label} of the render time: ${verdict(lagOk)}; <= ${GOALS[mode].maxPollsAt90s} polls for a 90 s render: ${verdict(pollsGoal)}`);
		return { mode, lagOk, pollsGoal };
	});
	summary('polling-lag', {
		goalMet: goals.every((goal) => goal.lagOk && goal.pollsGoal !== false),
		goals,
		renders: rows.map((row) => ({
			mode: row.mode,
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
