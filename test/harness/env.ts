// Runs before any test module loads n8n-core: n8n reads its folders and binary-data mode from the environment.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { recordConsole } from './leak-record';

// Under the suite's own folder, which the global teardown removes (jest's forceExit skips exit handlers).
const userFolder = mkdtempSync(join(process.env.NEMOVIDEO_LEAK_DIR ?? tmpdir(), 'n8n-'));
process.env.N8N_USER_FOLDER = userFolder;
process.env.N8N_DEFAULT_BINARY_DATA_MODE = 'filesystem';
process.env.N8N_BINARY_DATA_STORAGE_PATH = join(userFolder, 'binaryData');
process.env.N8N_ENCRYPTION_KEY = 'nemovideo-test-encryption-key';
process.env.N8N_BINARY_DATA_SIGNING_SECRET = 'nemovideo-test-signing-secret';
// n8n's logger reports every node error the tests provoke on purpose: into a file of the leak record, where the
// global teardown checks it for tokens like every other line, instead of onto the suite's output.
if (process.env.NEMOVIDEO_TEST_VERBOSE !== '1' && process.env.NEMOVIDEO_LEAK_DIR) {
	process.env.N8N_LOG_OUTPUT = 'file';
	process.env.N8N_LOG_FILE_LOCATION = join(process.env.NEMOVIDEO_LEAK_DIR, `seen-n8n-log-${process.pid}.txt`);
}

recordConsole();
