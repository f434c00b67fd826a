import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Jest global setup: a folder where every test worker records tokens and what it saw. */
export default function setup(): void {
	process.env.NEMOVIDEO_LEAK_DIR = mkdtempSync(join(tmpdir(), 'nemovideo-leaks-'));
}
