/**
 * Imported right after test/harness/env by the benchmark scripts: when the parent benchmark process passes
 * BENCH_BINARY_DIR, this process's n8n binary store is that folder, so a file one process put into the store
 * can be read by the next (each measured step runs in a fresh process). The parent owns and removes the folder.
 */
if (process.env.BENCH_BINARY_DIR) process.env.N8N_BINARY_DATA_STORAGE_PATH = process.env.BENCH_BINARY_DIR;
