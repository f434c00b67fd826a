import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Jest global setup: the suite's folder, where every test worker records tokens and what it saw, and keeps n8n's files. */
export default function setup(): void {
	process.env.NEMOVIDEO_LEAK_DIR = mkdtempSync(join(tmpdir(), 'nemovideo-leaks-'));
}
