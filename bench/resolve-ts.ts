/**
 * Imported first by every benchmark script. Under tsx, `import … from './X.node'` resolves to the node's codex
 * file `X.node.json` (Node's CommonJS resolver tries `.json` before tsx's `.ts`), so the node classes come out
 * undefined. Jest does not have this problem (its moduleFileExtensions put `ts` first). This makes a relative
 * `*.node` request try `*.node.ts` first, for this process only.
 */
import Module from 'node:module';

type Resolve = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const moduleInternals = Module as unknown as { _resolveFilename: Resolve };
const original = moduleInternals._resolveFilename;

moduleInternals._resolveFilename = function (this: unknown, request, parent, isMain, options) {
	if (/\.node$/.test(request) && (request.startsWith('.') || request.startsWith('/'))) {
		try {
			return original.call(this, `${request}.ts`, parent, isMain, options);
		} catch {
			// not a TypeScript node file: fall through
		}
	}
	return original.call(this, request, parent, isMain, options);
};
