import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Jest global teardown: fails the run when any token the suite used appears in any output item, error
 * (message, description, context, stack) or console line that the suite recorded.
 */
export default function check(): void {
	const dir = process.env.NEMOVIDEO_LEAK_DIR;
	if (!dir) throw new Error('leak check: NEMOVIDEO_LEAK_DIR was not set by the global setup');
	const files = readdirSync(dir);
	const read = (prefix: string) =>
		files.filter((name) => name.startsWith(prefix)).flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean));
	const tokens = [...new Set(read('tokens-'))];
	const seen = read('seen-');
	const leaks: string[] = [];
	for (const line of seen) {
		for (const token of tokens) {
			if (line.includes(token)) leaks.push(`${line.slice(0, 300)} … contains a token (${token.slice(0, 8)}…)`);
		}
	}
	rmSync(dir, { recursive: true, force: true });
	if (leaks.length) throw new Error(`A token leaked into ${leaks.length} recorded line(s):\n${leaks.slice(0, 10).join('\n')}`);
	// The check must have had something to check, or it proves nothing.
	if (tokens.length > 0 && seen.length > 0) {
		process.stdout.write(`Token leak check: ${tokens.length} tokens against ${seen.length} recorded outputs, errors and log lines: none leaked.\n`);
	}
}
