/** n8n's binary data store, as the nodes of a harness run write to it (filesystem mode: test/harness/env.ts). */
import { BinaryDataService } from 'n8n-core';
import type { IBinaryData } from 'n8n-workflow';

// n8n-core's own copy of the DI container (another package here brings an older @n8n/di).
const { Container } = require(require.resolve('@n8n/di', { paths: [require.resolve('n8n-core')] })) as typeof import('@n8n/di');

let binaryReady: Promise<void> | undefined;

/** The bytes of a binary the nodes stored (from n8n's filesystem store). */
export async function readBinary(binary: IBinaryData): Promise<Buffer> {
	return await Container.get(BinaryDataService).getAsBuffer(binary);
}

/** Initialises the store once per module copy, before the first run writes to it. */
export async function initBinaryData(): Promise<void> {
	binaryReady ??= Container.get(BinaryDataService).init();
	await binaryReady;
}
