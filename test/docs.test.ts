/**
 * The README a user reads, held to the package (issue 20): its parameter tables and the credential's fields against
 * the built nodes in dist/ (names, defaults, option names), the error texts it quotes against the texts the built
 * code can produce, the commands in the code blocks of the README and CONTRIBUTING.md against package.json,
 * bench/run-all.js and the files they name, and every relative link of those pages and docs/ against the tree.
 * `npm test` builds before the fast suite; run alone, this needs `npm run build` first (it fails and says so).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

import type { ICredentialType, INodeProperties, INodePropertyOptions, INodeType } from 'n8n-workflow';
import * as ts from 'typescript';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	scripts: Record<string, string>;
	n8n: { nodes: string[]; credentials: string[] };
};
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const README = 'README.md';
const CONTRIBUTING = 'CONTRIBUTING.md';

// ---- the built package ----------------------------------------------------------------------------

function filesUnder(dir: string, keep: (file: string) => boolean): string[] {
	if (!existsSync(dir)) return [];
	return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) return filesUnder(path, keep);
		return keep(path) ? [path] : [];
	});
}

/** The built files this test reads; an error that says what to do when they are missing or older than the source. */
function builtFiles(): string[] {
	const built = [...pkg.n8n.nodes, ...pkg.n8n.credentials].map((file) => join(root, file));
	const missing = built.filter((file) => !existsSync(file)).map((file) => relative(root, file));
	if (missing.length) {
		throw new Error(`dist/ is not built (missing ${missing.join(', ')}): run \`npm run build\` first (npm test builds before the fast suite)`);
	}
	const sources = [...filesUnder(join(root, 'nodes'), (f) => f.endsWith('.ts')), ...filesUnder(join(root, 'credentials'), (f) => f.endsWith('.ts'))];
	const newest = sources.reduce((a, b) => (statSync(a).mtimeMs >= statSync(b).mtimeMs ? a : b));
	const builtAt = Math.min(...built.map((file) => statSync(file).mtimeMs));
	if (statSync(newest).mtimeMs > builtAt) {
		throw new Error(`dist/ is older than ${relative(root, newest)}: run \`npm run build\` first (npm test builds before the fast suite)`);
	}
	return built;
}

function instanceOf<T>(file: string): T {
	const exported = require(file) as Record<string, new () => T>;
	return new (Object.values(exported)[0])();
}

const built = builtFiles();
const nodes = built.filter((file) => file.endsWith('.node.js')).map((file) => instanceOf<INodeType>(file).description);
const credential = instanceOf<ICredentialType>(built.find((file) => file.endsWith('.credentials.js'))!);

// ---- reading markdown -------------------------------------------------------------------------------

/** The lines of a page outside fenced code blocks, and its fenced blocks with their language. */
function splitCode(text: string): { prose: string[]; blocks: Array<{ lang: string; lines: string[] }> } {
	const prose: string[] = [];
	const blocks: Array<{ lang: string; lines: string[] }> = [];
	let block: { lang: string; lines: string[] } | undefined;
	for (const line of text.split('\n')) {
		const fence = /^\s*```(\w*)/.exec(line);
		if (fence && !block) block = { lang: fence[1], lines: [] };
		else if (fence && block) {
			blocks.push(block);
			block = undefined;
		} else if (block) block.lines.push(line);
		else prose.push(line);
	}
	return { prose, blocks };
}

/** The lines of the section under a heading, up to the next heading of the same or a higher level. */
function section(lines: string[], heading: RegExp): string[] {
	const start = lines.findIndex((line) => heading.test(line));
	if (start < 0) throw new Error(`no heading matching ${heading} in the README`);
	const level = /^#+/.exec(lines[start])![0].length;
	const end = lines.findIndex((line, index) => index > start && /^#+ /.test(line) && /^#+/.exec(line)![0].length <= level);
	return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The rows of the first table in `lines` whose header starts with `header`, as trimmed cells. */
function table(lines: string[], header: string[]): string[][] {
	const cells = (line: string) => line.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim());
	const start = lines.findIndex((line) => line.startsWith('|') && header.every((name, index) => cells(line)[index] === name));
	if (start < 0) throw new Error(`no table with the header | ${header.join(' | ')} |`);
	const rows: string[][] = [];
	for (const line of lines.slice(start + 2)) {
		if (!line.startsWith('|')) break;
		rows.push(cells(line));
	}
	return rows;
}

const readme = splitCode(read(README));

// ---- parameters -------------------------------------------------------------------------------------

/** A default as the README's tables show it: an option by its name, on/off, a number, text in backticks. */
function shownDefault(property: INodeProperties): string {
	const value = property.default;
	if (property.type === 'options') {
		return (property.options as INodePropertyOptions[]).find((option) => option.value === value)?.name ?? String(value);
	}
	if (property.type === 'boolean') return value ? 'on' : 'off';
	if (property.type === 'number') return String(value);
	if (typeof value === 'string') return value === '' ? '' : `\`${value.replace(/^=/, '')}\``;
	return JSON.stringify(value);
}

/** The parameters a user sets, by the README's names: `Options → X` for an option of the Options collection. */
function documentedParameters(properties: INodeProperties[], credentialFields = false): Map<string, INodeProperties> {
	const byName = new Map<string, INodeProperties>();
	for (const property of properties) {
		// The tool variant's own description (its default is the tool description), n8n's hidden fields, and
		// notices (a hint shown in the panel, not a parameter).
		if (property.name === 'toolDescription' || property.type === 'hidden' || property.type === 'notice') continue;
		if (property.type === 'collection' && !credentialFields) {
			for (const option of property.options as INodeProperties[]) byName.set(`${property.displayName} → ${option.displayName}`, option);
		} else byName.set(property.displayName, property);
	}
	return byName;
}

/** What is wrong with a README parameter table against the built properties; empty when nothing is. */
function tableProblems(rows: string[][], properties: Map<string, INodeProperties>): string[] {
	const problems: string[] = [];
	for (const [name, shown, meaning] of rows) {
		const property = properties.get(name);
		if (!property) {
			problems.push(`"${name}" is not a parameter (built: ${[...properties.keys()].join(', ')})`);
			continue;
		}
		if (shown !== shownDefault(property)) problems.push(`"${name}": the README says the default is "${shown}", the built node "${shownDefault(property)}"`);
		if (property.type !== 'options') continue;
		const choices = (property.options as INodePropertyOptions[]).map((option) => option.name);
		for (const [, bold] of (meaning ?? '').matchAll(/\*\*([^*]+)\*\*/g)) {
			if (!choices.includes(bold)) problems.push(`"${name}": **${bold}** is not one of its options (${choices.join(', ')})`);
		}
	}
	const documented = new Set(rows.map(([name]) => name));
	for (const name of properties.keys()) if (!documented.has(name)) problems.push(`"${name}" has no row`);
	return problems;
}

describe('the README\'s parameter tables are the built nodes\' parameters', () => {
	const operations = section(readme.prose, /^## Operations$/);

	test.each(nodes.map((node) => [node.displayName, node] as const))('%s: every parameter, its default and its options', (_, node) => {
		const rows = table(section(operations, new RegExp(`^### ${node.displayName} \\(\`${node.name}\`\\)$`)), ['Parameter', 'Default', 'Meaning']);
		expect(tableProblems(rows, documentedParameters(node.properties))).toEqual([]);
	});

	test('the credential: every field and its default', () => {
		const rows = table(section(readme.prose, /^## Credentials$/), ['Field', 'Default', 'Meaning']);
		expect(tableProblems(rows, documentedParameters(credential.properties, true))).toEqual([]);
	});

	test('a changed default is caught', () => {
		const node = nodes.find((candidate) => candidate.properties.some((p) => p.type === 'number'))!;
		const properties = documentedParameters(node.properties);
		const [name, property] = [...properties].find(([, p]) => p.type === 'number')!;
		const rows = [...properties].map(([key, p]) => [key, key === name ? `${Number(property.default) + 1}` : shownDefault(p), '']);
		expect(tableProblems(rows, properties)).toEqual([
			`"${name}": the README says the default is "${Number(property.default) + 1}", the built node "${String(property.default)}"`,
		]);
	});
});

// ---- error texts ------------------------------------------------------------------------------------

/** Every text the built code can produce, as a pattern: a template's `${…}` parts match anything. */
function builtTexts(): RegExp[] {
	const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
	const patterns: RegExp[] = [];
	const files = filesUnder(join(root, 'dist'), (file) => file.endsWith('.js') && !file.endsWith('vendor.js'));
	for (const file of files) {
		const visit = (node: ts.Node): void => {
			if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) patterns.push(new RegExp(`^${escape(node.text)}$`));
			else if (ts.isTemplateExpression(node)) {
				const pieces = [node.head.text, ...node.templateSpans.map((span) => span.literal.text)];
				// `${a} ${b}` joins texts made elsewhere (those are read on their own): it would match anything.
				if (/\p{L}/u.test(pieces.join(''))) patterns.push(new RegExp(`^${pieces.map(escape).join('[\\s\\S]*')}$`));
			}
			ts.forEachChild(node, visit);
		};
		visit(ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS));
	}
	return patterns;
}

describe('the error texts the README quotes are texts the built code produces', () => {
	const rows = table(section(readme.prose, /^### Errors$/), ['When', 'Message']);
	// A text is quoted "…", or “…” when it holds straight quotes of its own.
	const quotesIn = (cell: string) => [...cell.matchAll(/“([^”]+)”|"([^"]+)"/g)].map(([, curly, straight]) => curly ?? straight);
	const quoted = rows.flatMap(([when, ...cells]) => cells.flatMap(quotesIn).map((words) => [when, words] as const));
	const patterns = builtTexts();

	test('the errors table quotes the messages', () => {
		expect(quoted.length).toBeGreaterThan(20);
	});

	test.each(quoted)('%s: "%s"', (_, words) => {
		// `<…>` and `…` stand for the part the code fills in (a file name, a number, the service's words).
		const example = words.replace(/<[^>]*>/g, 'X').replace(/…/g, 'X');
		expect(patterns.some((pattern) => pattern.test(example))).toBe(true);
	});

	test('a text the code does not produce is caught', () => {
		expect(patterns.some((pattern) => pattern.test('The render was too beautiful to finish — leave Quality empty'))).toBe(false);
	});
});

// ---- commands ---------------------------------------------------------------------------------------

const BENCHES = [...read('bench/run-all.js').matchAll(/\{ name: '([\w-]+)'/g)].map(([, name]) => name);
/** The repository's own top-level folders: a command's word starting with one of them names a file that must exist. */
const TREE = ['test', 'scripts', 'bench', 'examples', 'docs', 'nodes', 'credentials', 'icons', '.ci', '.github'];

/** What is wrong with one shell command: an unknown npm script or benchmark, a file that does not exist. */
function commandProblems(command: string): string[] {
	const problems: string[] = [];
	for (const part of command.replace(/(^|\s)#.*$/, '').split(/&&|\|\||;|\|/)) {
		const words = part.trim().split(/\s+/).filter((word) => word && !/^[A-Z_]+=/.test(word));
		if (words[0] === 'npm' && words[1] === 'test' && !pkg.scripts.test) problems.push('npm test: no "test" script');
		if (words[0] === 'npm' && words[1] === 'run') problems.push(...npmRunProblems(words.slice(2)));
		for (const word of words) {
			const path = word.replace(/^["']|["',]$/g, '');
			if (TREE.includes(path.split('/')[0]) && path.includes('/') && !/[<*]/.test(path) && !existsSync(join(root, path))) {
				problems.push(`${path} does not exist`);
			}
		}
	}
	return problems;
}

function npmRunProblems([script, ...rest]: string[]): string[] {
	// `npm run …` in prose stands for any script.
	if (script === '…') return [];
	if (!pkg.scripts[script]) return [`npm run ${script}: no such script in package.json`];
	if (script !== 'bench' || rest[0] !== '--') return [];
	const dash = rest.indexOf('--', 1);
	// `<names>` in prose stands for any of them.
	const names = rest.slice(1, dash < 0 ? undefined : dash).filter((name) => !name.startsWith('<'));
	const unknown = names.filter((name) => !BENCHES.includes(name));
	if (unknown.length) return unknown.map((name) => `npm run bench -- ${name}: no such benchmark (${BENCHES.join(', ')})`);
	const scripts = names.length ? names : BENCHES;
	const flags = dash < 0 ? [] : rest.slice(dash + 1).filter((word) => word.startsWith('--'));
	return flags
		.filter((flag) => !scripts.some((name) => read(`bench/${name}.ts`).includes(flag.slice(2))))
		.map((flag) => `npm run bench: ${flag} is read by none of ${scripts.join(', ')}`);
}

/** The shell commands of a page: its shell code blocks, and inline code that runs npm or npx. */
function commandsOf(file: string): string[] {
	const page = file === README ? readme : splitCode(read(file));
	const shell = page.blocks.filter((block) => ['', 'bash', 'sh', 'shell'].includes(block.lang)).flatMap((block) => block.lines);
	const inline = page.prose.flatMap((line) => [...line.matchAll(/`((?:npm|npx) [^`]+)`/g)].map(([, code]) => code));
	return [...shell, ...inline].filter((line) => line.trim());
}

/** The paths a layout block names at the start of its lines (the ones without placeholders). */
function layoutPaths(file: string): string[] {
	const blocks = splitCode(read(file)).blocks.filter((block) => block.lang === 'text');
	return blocks.flatMap((block) => block.lines.map((line) => line.split(/\s+/)[0])).filter((path) => path && !/[<*]/.test(path));
}

describe('the commands in the README and CONTRIBUTING.md exist', () => {
	test.each([README, CONTRIBUTING])('%s: npm scripts, benchmarks and the files they name', (file) => {
		const commands = commandsOf(file);
		expect(commands.length).toBeGreaterThan(3);
		expect(commands.flatMap(commandProblems)).toEqual([]);
	});

	test('CONTRIBUTING.md: every path of the layout exists', () => {
		const paths = layoutPaths(CONTRIBUTING);
		expect(paths.length).toBeGreaterThan(10);
		expect(paths.filter((path) => !existsSync(join(root, path)))).toEqual([]);
	});

	test('an unknown script, benchmark, option or file is caught', () => {
		expect(commandProblems('npm run tests')).toEqual(['npm run tests: no such script in package.json']);
		expect(commandProblems('npm run bench -- upload')).toEqual([`npm run bench -- upload: no such benchmark (${BENCHES.join(', ')})`]);
		expect(commandProblems('npm run bench -- polling-lag -- --sizes 200')).toEqual(['npm run bench: --sizes is read by none of polling-lag']);
		expect(commandProblems('npx jest test/no-such.test.ts')).toEqual(['test/no-such.test.ts does not exist']);
	});
});

// ---- links ------------------------------------------------------------------------------------------

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function anchorsOf(file: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	const text = read(file);
	for (const [, id] of text.matchAll(/<a id="([^"]+)"/g)) anchors.add(id);
	for (const line of splitCode(text).prose) {
		const heading = /^#{1,6} (.*)$/.exec(line);
		if (!heading) continue;
		const words = heading[1].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*_]{1,2}(?=\S)|(?<=\S)[`*_]{1,2}/g, '');
		const slug = words.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
		const count = seen.get(slug) ?? 0;
		seen.set(slug, count + 1);
		anchors.add(count ? `${slug}-${count}` : slug);
	}
	return anchors;
}

/** What is wrong with the relative links of a page: a missing file, or an anchor its page does not have. */
function linkProblems(file: string): string[] {
	const prose = splitCode(read(file)).prose.join('\n').replace(/`[^`]*`/g, '');
	const problems: string[] = [];
	for (const [, target] of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)) {
		if (/^[a-z]+:/i.test(target)) continue;
		const [path, anchor] = target.split('#');
		const linked = path ? relative(root, join(root, dirname(file), path)) : file;
		if (!existsSync(join(root, linked))) problems.push(`${target}: ${linked} does not exist`);
		else if (anchor && linked.endsWith('.md') && !anchorsOf(linked).has(anchor)) problems.push(`${target}: ${linked} has no heading #${anchor}`);
	}
	return problems;
}

describe('the relative links resolve', () => {
	const pages = [README, CONTRIBUTING, ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

	test.each(pages)('%s', (file) => {
		expect(linkProblems(file)).toEqual([]);
	});

	test('the README links its sections and the pages beside it', () => {
		expect(read(README).match(/\]\((?!https?:)[^)]+\)/g)?.length).toBeGreaterThan(30);
	});

	test('a missing file or anchor is caught', () => {
		expect(anchorsOf(README).has('nemovideo-export--wait-nemovideoexport')).toBe(true);
		expect(anchorsOf(README).has('folder--mp4-in-five-steps')).toBe(true);
		expect(anchorsOf(README).has('no-such-section')).toBe(false);
	});
});
