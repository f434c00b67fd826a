/**
 * Records, for the whole suite, every output item, error and console line, and every token the nodes were
 * given or fetched. `leak-check.ts` (jest's global teardown) then fails the run if any token shows up.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

function file(kind: 'tokens' | 'seen'): string | undefined {
	const dir = process.env.NEMOVIDEO_LEAK_DIR;
	return dir ? join(dir, `${kind}-${process.pid}.txt`) : undefined;
}

export function recordToken(token: unknown): void {
	const target = file('tokens');
	if (target && typeof token === 'string' && token.length >= 8) appendFileSync(target, `${token}\n`);
}

function serialise(value: unknown): string {
	if (value instanceof Error) {
		const plain: Record<string, unknown> = {};
		for (const key of Object.getOwnPropertyNames(value)) plain[key] = (value as unknown as Record<string, unknown>)[key];
		value = plain;
	}
	try {
		return JSON.stringify(value, (_key, inner: unknown) =>
			inner instanceof Error ? { ...inner, message: inner.message, stack: inner.stack } : inner,
		);
	} catch {
		return String(value);
	}
}

export function recordSeen(where: string, value: unknown): void {
	const target = file('seen');
	if (target) appendFileSync(target, `${where}\t${serialise(value).replace(/\n/g, '\\n')}\n`);
}

/**
 * Copies everything written to the console into the record. The console lines of a run are n8n's own logger
 * reporting the node errors that the tests provoke on purpose: under jest they are checked for tokens, and printed
 * only with NEMOVIDEO_TEST_VERBOSE=1, so that the suite's output shows the tests, not expected errors. Outside
 * jest (the benchmarks load the harness too) everything is printed.
 */
export function recordConsole(): void {
	const verbose = process.env.JEST_WORKER_ID === undefined || process.env.NEMOVIDEO_TEST_VERBOSE === '1';
	for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
		const original = console[level].bind(console);
		console[level] = (...args: unknown[]) => {
			recordSeen(`console.${level}`, args.map((arg) => (typeof arg === 'string' ? arg : serialise(arg))).join(' '));
			if (verbose) original(...args);
		};
	}
	for (const stream of [process.stdout, process.stderr]) {
		const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
		stream.write = ((chunk: unknown, ...rest: unknown[]) => {
			recordSeen(stream === process.stdout ? 'stdout' : 'stderr', String(chunk));
			return write(chunk, ...rest);
		}) as typeof stream.write;
	}
}
