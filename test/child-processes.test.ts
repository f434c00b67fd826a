/**
 * The e2e suites' child processes (test/e2e/lib/proc.js).
 *
 * Reading what a command printed: the e2e suites read n8n's answers from what its commands print (`n8n execute --rawOutput` prints the whole run as
 * JSON, with every binary inline when binary data is kept in memory: about 7 MB for example 1 on n8n 1.123). n8n
 * ends its commands with process.exit(), and Node drops whatever a pipe has not taken yet, so a pipe loses the end
 * of a long output; a file does not (Node writes to files synchronously). runCapture must return all of it.
 */
import { spawn } from 'node:child_process';

import { killGroup, runCapture } from './e2e/lib/proc';

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

/**
 * Stopping a child: every child of the suites is spawned detached, so it leads its own process group, and that
 * group is what is killed. A pid whose group is gone has ended, and the number may already belong to another
 * process (pids wrap at 32768 here, within an hour of npm installs), so it must not be signalled on its own.
 */
describe('killGroup (stopping an e2e child and whatever it started)', () => {
	test('kills a process group', async () => {
		const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
		const ended = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
		expect(killGroup(child.pid as number, 'SIGKILL')).toBe(true);
		await expect(ended).resolves.toBe('SIGKILL');
	});

	test('leaves alone a process that does not lead a group (as a reused pid would be)', async () => {
		const bystander = spawn('sleep', ['30'], { stdio: 'ignore' }); // in jest's own group
		try {
			expect(killGroup(bystander.pid as number, 'SIGKILL')).toBe(false);
			expect(bystander.exitCode).toBeNull();
			expect(() => process.kill(bystander.pid as number, 0)).not.toThrow();
		} finally {
			bystander.kill('SIGKILL');
		}
	});
});
