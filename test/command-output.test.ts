/**
 * The e2e suites read n8n's answers from what its commands print (`n8n execute --rawOutput` prints the whole run as
 * JSON, with every binary inline when binary data is kept in memory: about 7 MB for example 1 on n8n 1.123). n8n
 * ends its commands with process.exit(), and Node drops whatever a pipe has not taken yet, so a pipe loses the end
 * of a long output; a file does not (Node writes to files synchronously). runCapture must return all of it.
 */
import { runCapture } from './e2e/lib/proc';

/** A child that prints `bytes` bytes and a last line, then exits at once, as n8n's commands do. */
const printThenExit = (bytes: number) =>
	`process.stdout.write('x'.repeat(${bytes}) + '\\nTHE END\\n'); process.exit(0);`;

describe('runCapture (the e2e suites reading what a command printed)', () => {
	test('returns the whole of a long output from a child that exits as soon as it has printed it', async () => {
		const bytes = 8_000_000;
		for (let attempt = 0; attempt < 3; attempt++) {
			const result = await runCapture(process.execPath, ['-e', printThenExit(bytes)]);
			expect(result.code).toBe(0);
			expect(result.stdout.length).toBe(bytes + '\nTHE END\n'.length);
			expect(result.stdout.endsWith('\nTHE END\n')).toBe(true);
		}
	});

	test('still returns what the child wrote to stderr, and a short output', async () => {
		const result = await runCapture(process.execPath, ['-e', "console.log('out'); console.error('err'); process.exit(3)"]);
		expect(result).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
	});
});
