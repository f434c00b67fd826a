import type { IExecuteFunctions, INode, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/**
 * Reading parameters whose value decides what is sent or how long anything waits. n8n hands a node whatever an
 * expression resolved to: `{{ $json.timeout }}` that finds nothing is `undefined`, and `undefined * 60_000` is
 * NaN, a deadline that never comes (issue 16 §4). Every such value is checked here, once, where it is read, and a
 * bad one fails the item naming the parameter and the value it got, before anything is sent.
 */

/** The raw value of a parameter as the workflow stores it (`=…` for an expression), by its path. */
export function rawParameter(node: INode, path: string): unknown {
	let value: unknown = node.parameters;
	for (const key of path.split('.')) {
		if (!value || typeof value !== 'object') return undefined;
		value = (value as Record<string, unknown>)[key];
	}
	return value;
}

/** Whether the workflow fills the parameter with an expression (n8n stores those as text starting with `=`). */
export function isExpression(node: INode, path: string): boolean {
	const raw = rawParameter(node, path);
	return typeof raw === 'string' && raw.startsWith('=');
}

/** How a value reads in an error: `nothing` for what an expression that found nothing gives. */
function describeValue(value: unknown): string {
	if (value === undefined || value === null || value === '') return 'nothing';
	return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/** Where the value came from, for the error: the expression, when the workflow wrote one. */
function sourceOf(node: INode, path: string): string {
	const raw = rawParameter(node, path);
	return typeof raw === 'string' && raw.startsWith('=') ? ` (from the expression ${raw.slice(1).trim()})` : '';
}

function rangeOf(property: INodeProperties): string {
	const min = property.typeOptions?.minValue;
	const max = property.typeOptions?.maxValue;
	if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
	if (min !== undefined) return `of at least ${min}`;
	return max !== undefined ? `of at most ${max}` : '';
}

/** The number a value stands for: a finite number, or text that is one (an expression may give "5"). */
function finiteNumber(value: unknown): number | undefined {
	if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
	if (typeof value !== 'string' || value.trim() === '') return undefined;
	const number = Number(value);
	return Number.isFinite(number) ? number : undefined;
}

/**
 * A number parameter as its property declares it: its name (inside Options when `inOptions`), its default and its
 * range (`typeOptions.minValue`/`maxValue`). Not a finite number, or out of range, fails the item.
 */
export function numberParameter(
	ctx: IExecuteFunctions,
	property: INodeProperties,
	itemIndex: number,
	where: { inOptions?: boolean } = {},
): number {
	const path = where.inOptions ? `options.${property.name}` : property.name;
	const value = ctx.getNodeParameter(path, itemIndex, property.default) as unknown;
	const number = finiteNumber(value);
	const min = property.typeOptions?.minValue;
	const max = property.typeOptions?.maxValue;
	const inRange = number !== undefined && (min === undefined || number >= min) && (max === undefined || number <= max);
	if (inRange) return number;
	const node = ctx.getNode();
	const label = where.inOptions ? `the option "${property.displayName}"` : `"${property.displayName}"`;
	const wanted = `a number ${rangeOf(property)}`.trim();
	throw new NodeOperationError(node, `${label[0].toUpperCase()}${label.slice(1)} is ${describeValue(value)}, not ${wanted}`, {
		itemIndex,
		description: `Item ${itemIndex}: ${label} (${path}) got ${describeValue(value)}${sourceOf(node, path)}. Set it to ${wanted} (default ${String(property.default)}), or fix the expression so that it finds the value. Nothing was sent.`,
	});
}

/** A text parameter that must not be empty (a prompt): an expression that found nothing fails the item. */
export function requiredText(ctx: IExecuteFunctions, property: INodeProperties, itemIndex: number): string {
	const value = ctx.getNodeParameter(property.name, itemIndex, '') as unknown;
	const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
	if (text) return text;
	const node = ctx.getNode();
	throw new NodeOperationError(node, `"${property.displayName}" is empty`, {
		itemIndex,
		description: `Item ${itemIndex}: "${property.displayName}" (${property.name}) got ${describeValue(value)}${sourceOf(node, property.name)}. Write what to do, or fix the expression so that it finds the text. Nothing was sent.`,
	});
}
