// Runs before any test module loads n8n-core: n8n reads its folders and binary-data mode from the environment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { recordConsole } from './leak-record';

const userFolder = mkdtempSync(join(tmpdir(), 'nemovideo-n8n-'));
process.env.N8N_USER_FOLDER = userFolder;
// The binary store can hold hundreds of MB after the size tests: remove it when the worker exits.
process.on('exit', () => rmSync(userFolder, { recursive: true, force: true }));
process.env.N8N_DEFAULT_BINARY_DATA_MODE = 'filesystem';
process.env.N8N_BINARY_DATA_STORAGE_PATH = join(userFolder, 'binaryData');
process.env.N8N_ENCRYPTION_KEY = 'nemovideo-test-encryption-key';
process.env.N8N_BINARY_DATA_SIGNING_SECRET = 'nemovideo-test-signing-secret';

recordConsole();
