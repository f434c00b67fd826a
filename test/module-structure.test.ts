/**
 * How the package's modules depend on each other: no import circle among the files of nodes/ and credentials/,
 * type imports and re-exports included, so the transport reads from the endpoints down (api.ts → client.ts →
 * auth.ts → the lower modules) and every module can be read without the ones above it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { preProcessFile } from 'typescript';

const root = join(__dirname, '..');

function tsFiles(folder: string): string[] {
	return readdirSync(folder, { withFileTypes: true, recursive: true })
		.filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
		.map((entry) => join(entry.parentPath, entry.name));
}

/** The files a module imports by a relative path: `import`, `import type`, `export … from`, `import()`. */
function relativeImports(file: string): string[] {
	const { importedFiles } = preProcessFile(readFileSync(file, 'utf8'), true, true);
	return importedFiles
		.map(({ fileName }) => fileName)
		.filter((name) => name.startsWith('.'))
		.map((name) => resolve(dirname(file), name))
		.map((target) => [`${target}.ts`, join(target, 'index.ts'), target].find(existsSync) ?? target);
}

/** Every circle found by a depth-first walk, each written as `a.ts → b.ts → a.ts`. */
function importCircles(files: string[]): string[] {
	const imports = new Map(files.map((file) => [file, relativeImports(file)]));
	const done = new Set<string>();
	const circles: string[] = [];
	const walk = (file: string, path: string[]): void => {
		const start = path.indexOf(file);
		if (start >= 0) {
			circles.push([...path.slice(start), file].map((step) => relative(root, step)).join(' → '));
			return;
		}
		if (done.has(file)) return;
		for (const target of imports.get(file) ?? []) walk(target, [...path, file]);
		done.add(file);
	};
	for (const file of files) walk(file, []);
	return circles;
}

describe('module structure', () => {
	const files = [...tsFiles(join(root, 'nodes')), ...tsFiles(join(root, 'credentials'))];

	test('reads the modules it checks, the transport among them', () => {
		const names = files.map((file) => relative(root, file));
		expect(names).toEqual(expect.arrayContaining(['nodes/shared/transport/api.ts', 'credentials/NemoVideoApi.credentials.ts']));
		expect(relativeImports(join(root, 'nodes/shared/transport/api.ts')).length).toBeGreaterThan(0);
	});

	test('no import circle in nodes/ or credentials/, type imports included', () => {
		expect(importCircles(files)).toEqual([]);
	});
});
