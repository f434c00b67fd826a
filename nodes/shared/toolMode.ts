import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isAfterCharge } from './chargedWork';
import { toolTimeoutOption } from './descriptions';
import { exportTimeoutProperty } from './exportParameters';
import type { GenerateOptions } from './generate';
import { numberParameter, rawParameter } from './parameters';
import { sessionIdParameter } from './session';
import { isNemoVideoError } from './transport/errors';

/** What tool-mode detection reads of the execution context (n8n 1.x contexts lack isToolExecution). */
export interface ToolModeContext {
	getNode(): INode;
	isToolExecution?: () => boolean;
}

/**
 * Whether the node runs as an AI tool (for the AI Agent or the MCP Server Trigger). n8n wraps every
 * `usableAsTool` node as a `<name>Tool` type (n8n/dist/tool-generation/ai-tools.js `convertNodeToAiTool` in
 * 2.41; n8n/dist/load-nodes-and-credentials.js in 1.123), and a tool node always runs under that type name:
 * called through n8n-core's makeHandleToolInvocation (MCP Server Trigger, older agents) its context is a
 * SupplyDataContext whose `isToolExecution()` is true; run by the engine on an agent's request
 * (requests-response.js) its context is a plain ExecuteContext, where `isToolExecution()` is false. The type
 * name holds in both paths and in n8n 1.x, which has no `isToolExecution`.
 */
export function isToolMode(ctx: ToolModeContext): boolean {
	if (typeof ctx.isToolExecution === 'function' && ctx.isToolExecution()) return true;
	const typeName = String(ctx.getNode().type ?? '').split('.').pop() ?? '';
	return typeName.endsWith('Tool');
}

/** The node's own name (`nemoVideoExport`), whichever variant runs. */
export function baseNodeName(ctx: ToolModeContext): string {
	return (String(ctx.getNode().type ?? '').split('.').pop() ?? '').replace(/Tool$/, '');
}

/** The tool call's time bound in ms (`options.toolTimeoutSeconds`, default 45 s). */
export function toolTimeoutMs(ctx: IExecuteFunctions, itemIndex: number): number {
	return numberParameter(ctx, toolTimeoutOption, itemIndex, { inOptions: true }) * 1000;
}

/** What Export & Wait changes when it runs as a tool: no download, a bounded wait, an unfinished render as status. */
export interface ToolExportOverrides {
	download: false;
	onTimeout: 'returnStatus';
	timeoutMs: number;
}

/** Export & Wait's tool-mode settings; undefined outside tool mode (the node's own settings apply). */
export function toolExportOverrides(ctx: IExecuteFunctions, itemIndex: number): ToolExportOverrides | undefined {
	if (!isToolMode(ctx)) return undefined;
	const timeoutMinutes = numberParameter(ctx, exportTimeoutProperty, itemIndex);
	return {
		download: false,
		onTimeout: 'returnStatus',
		timeoutMs: Math.min(timeoutMinutes * 60_000, toolTimeoutMs(ctx, itemIndex)),
	};
}

/** When a tool call must have returned (`options.toolTimeoutSeconds` from now); undefined outside tool mode. */
export function toolDeadline(ctx: IExecuteFunctions, itemIndex: number): number | undefined {
	return isToolMode(ctx) ? Date.now() + toolTimeoutMs(ctx, itemIndex) : undefined;
}

/** Time kept after the AI's stream for reading the state (and, in Photo to Video, starting the render). */
const AFTER_STREAM_MS = 3000;

/** In tool mode the AI's stream and its recovery reads end before the call's deadline. */
export function boundedGenerateOptions(options: GenerateOptions, deadline: number | undefined): GenerateOptions {
	if (deadline === undefined) return options;
	const remaining = Math.max(1000, deadline - Date.now() - AFTER_STREAM_MS);
	return {
		...options,
		timeoutMs: Math.min(options.timeoutMs, remaining),
		heartbeatOnlyTimeoutMs: Math.min(options.heartbeatOnlyTimeoutMs, remaining),
		recoveryFirstWaitMs: Math.min(options.recoveryFirstWaitMs, 5000),
		recoveryIntervalMs: Math.min(options.recoveryIntervalMs, 5000),
		recoveryReads: Math.min(options.recoveryReads, 3),
	};
}

/** Whether the call's bound has passed: a charged step is then not started (issue 16 §5). */
export function toolBoundPassed(deadline: number | undefined): boolean {
	return deadline !== undefined && Date.now() >= deadline;
}

/** Whether a failure came from the call's own bound (the AI is then most likely still working). */
export function reachedToolBound(deadline: number | undefined): boolean {
	return deadline !== undefined && Date.now() >= deadline - AFTER_STREAM_MS - 500;
}

/** A tool call whose bound passed before the AI was asked: nothing was sent, nothing charged. */
export function notStarted(sessionId: string): IDataObject {
	return {
		sessionId,
		status: 'notStarted',
		summary: `The call's time ran out before the message was sent to session ${sessionId}: nothing was charged.`,
		nextStep: `Call NemoVideo Generate again with sessionId "${sessionId}" and the same prompt.`,
	};
}

/** A tool call whose AI step outlasted the bound: the message was sent once; the agent reads the session later. */
export function stillGenerating(sessionId: string, extra: IDataObject = {}): IDataObject {
	return {
		sessionId,
		status: 'generating',
		...extra,
		summary: `The AI is still working on session ${sessionId}; the message was sent once.`,
		nextStep: `Wait about a minute, then call NemoVideo Get State with sessionId "${sessionId}"; when readyToExport is true, call NemoVideo Export & Wait with that sessionId. Do not send the same prompt again: each message costs credits.`,
	};
}

/** The `$fromAI` key a parameter is filled from, if the workflow lets the agent fill it. */
export function toolArgumentOf(node: INode, path: string): string | undefined {
	const raw = rawParameter(node, path);
	if (typeof raw !== 'string') return undefined;
	return /\$fromAI\(\s*(['"`])([A-Za-z0-9_-]{1,64})\1/.exec(raw)?.[2];
}

/** The value a tool argument gives to ask for a new session (an explicitly empty argument works too). */
export const NEW_SESSION = 'new';

/**
 * The session id of Upload and Generate: '' asks for a new session. A new session that will be charged (Generate:
 * `charged`, and every call in tool mode, where the agent goes on to Generate) must be asked for: the field left
 * empty on purpose, or in tool mode the argument empty or `new`. An expression that resolved to nothing (the
 * `{{ $json.sessionId }}` default on an item whose field is `session_id`, or that a Merge dropped) is refused:
 * it would open a new, empty session and pay for "I don't see any photos" (issue 16 §3). Upload outside tool
 * mode starts a session as it always did: uploads are free.
 */
export function requestedSessionId(ctx: IExecuteFunctions, itemIndex: number, use: { charged?: boolean } = {}): string {
	const value = sessionIdParameter(ctx, itemIndex);
	const tool = isToolMode(ctx);
	if (tool && value.toLowerCase() === NEW_SESSION) return '';
	if (value) return value;
	const node = ctx.getNode();
	const raw = rawParameter(node, 'sessionId');
	if (raw === '' || raw === undefined || (tool && toolArgumentOf(node, 'sessionId'))) return '';
	if (tool) {
		throw new NodeOperationError(node, 'No sessionId reached this tool, and a new session was not asked for', {
			itemIndex,
			description: `Going on would open a new, empty session and spend credits on it. The workflow fills this tool's Session ID with "${String(raw)}", which is empty in a tool call, and the agent cannot set it. The workflow's owner should set Session ID to {{ $fromAI('sessionId', 'The sessionId from an earlier NemoVideo step, or "${NEW_SESSION}" to start a new session', 'string') }}. Until then, NemoVideo Photo to Video makes a video in one call.`,
		});
	}
	if (!use.charged) return '';
	const fields = Object.keys(ctx.getInputData()[itemIndex]?.json ?? {});
	throw new NodeOperationError(node, `Session ID is empty: ${String(raw).replace(/^=\s*/, '')} found nothing in item ${itemIndex}`, {
		itemIndex,
		description: `Going on would open a new, empty session and spend credits on a message about no photos. ${fields.length ? `The input item's fields are: ${fields.join(', ')}.` : 'The input item has no fields.'} Set "Session ID" to the field that holds the session (for example {{ $json.session_id }}), or clear the field to start a new session on purpose. Nothing was sent.`,
	});
}

const WITH_SESSION_ID = ['nemoVideoUpload', 'nemoVideoGenerate', 'nemoVideoExport', 'nemoVideoGetState'];

/**
 * n8n setting labels that errors name, the parameter each stands for, and (`onlyOn`) the nodes that have it:
 * elsewhere the label means Export & Wait's (Photo to Video's errors say to resume there).
 */
const SETTING_LABELS: Array<{ label: string; path: string; onlyOn?: string[]; argument?: string; unquoted?: true }> = [
	{ label: 'Resume Render ID', path: 'options.renderId', onlyOn: ['nemoVideoExport'], argument: 'renderId', unquoted: true },
	{ label: 'Generation Timeout (Minutes)', path: 'options.generationTimeoutMinutes' },
	{ label: 'Timeout (Minutes)', path: 'timeoutMinutes' },
	{ label: 'Session ID', path: 'sessionId', onlyOn: WITH_SESSION_ID, argument: 'sessionId', unquoted: true },
	{ label: 'Wait for Completion', path: 'waitForCompletion' },
	{ label: 'Binary Properties', path: 'binaryProperties' },
	{ label: 'Source', path: 'source' },
	{ label: 'URLs', path: 'urls' },
	{ label: 'Prompt', path: 'prompt' },
	{ label: 'Minimum Credits', path: 'minimumCredits' },
	{ label: 'On Timeout', path: 'options.onTimeout' },
];

/** Phrases of the canvas errors that an agent reads differently: how it asks for a new session, what it reruns. */
const AGENT_PHRASES: Array<[RegExp, string]> = [
	[/Leave the argument "(\w+)" empty to start a new session/g, `Set the argument "$1" to "${NEW_SESSION}" to start a new session`],
	[/run the workflow again/gi, 'call the tool again'],
];

/**
 * Rewrites `"Setting Label"` in a message into what an agent can change: the tool argument that fills it
 * (its `$fromAI` key), the argument of another NemoVideo tool, or a fixed setting of the workflow.
 */
export function renameSettings(ctx: ToolModeContext, text: string): string {
	const node = ctx.getNode();
	const self = baseNodeName(ctx);
	let result = text;
	for (const { label, path, onlyOn, argument: conventional, unquoted } of SETTING_LABELS) {
		const argument = toolArgumentOf(node, path);
		const escaped = label.replace(/[()]/g, '\\$&');
		const quoted = new RegExp(`(?:the option |the setting )?"${escaped}"(?: \\(${path.replace('.', '\\.')}\\))?`, 'g');
		let replacement = `the tool's fixed setting "${label}" (set in the workflow, not an argument of this tool)`;
		let bare: string | undefined;
		if (argument) {
			replacement = `the argument "${argument}"`;
			bare = `"${argument}"`;
		} else if (onlyOn && !onlyOn.includes(self)) {
			replacement = `the argument "${conventional ?? label}" of the NemoVideo Export & Wait tool`;
			bare = conventional && `"${conventional}"`;
		}
		result = result.replace(quoted, replacement);
		// An id named unquoted ("Session ID is empty", "(Session ID 123)"): the argument's name alone.
		if (bare && unquoted) result = result.replace(new RegExp(`(?<![\\w"])${escaped}(?![\\w"])`, 'g'), bare);
	}
	for (const [phrase, agentWording] of AGENT_PHRASES) result = result.replace(phrase, agentWording);
	return result;
}

const RETRYABLE_KINDS = new Set(['rateLimited', 'serverError', 'network', 'timeout']);

/**
 * Whether calling again with the same arguments can help, and the service's app code, when known. Never after a
 * charged step: the same call would send the AI message again and pay twice (issue 16 §1).
 */
export function classifyForTool(error: unknown): { code: number | null; retryable: boolean } {
	if (isNemoVideoError(error)) {
		return { code: error.appCode ?? null, retryable: RETRYABLE_KINDS.has(error.kind) && !isAfterCharge(error) };
	}
	const cause = (error as { cause?: unknown }).cause;
	if (cause && cause !== error && isNemoVideoError(cause)) {
		const verdict = classifyForTool(cause);
		return { ...verdict, retryable: verdict.retryable && !isAfterCharge(error) };
	}
	return { code: null, retryable: false };
}

/**
 * An error as an agent should read it: one message (n8n's agent path keeps only the message) that names the
 * tool arguments to change, the service's app code and whether retrying can help. The original ids
 * (`context.nemoVideo`) and item index are kept.
 */
export function toolError(ctx: ToolModeContext, error: Error): NodeOperationError {
	if (error instanceof NodeOperationError && error.context.forTool === true) return error;
	const node = ctx.getNode();
	const { code, retryable } = classifyForTool(error);
	const description = (error as { description?: unknown }).description;
	const details = typeof description === 'string' && description ? ` ${renameSettings(ctx, description)}` : '';
	const verdict = retryable ? 'Retrying the same call later can help.' : 'Retrying the same call will not help.';
	const codeText = code !== null ? ` (NemoVideo code ${code})` : '';
	const message = `${renameSettings(ctx, error.message).replace(/[.\s]+$/, '')}${codeText}.${details} ${verdict}`;
	const context = ((error as { context?: IDataObject }).context ?? {}) as IDataObject;
	const formatted = new NodeOperationError(node, message, {
		itemIndex: context.itemIndex as number | undefined,
		description: '',
	});
	formatted.context = { ...context, code, retryable, forTool: true };
	return formatted;
}

/** An error item in tool mode: the formatted message plus `code` and `retryable` as fields. */
export function toolErrorJson(ctx: ToolModeContext, error: Error): IDataObject {
	const formatted = toolError(ctx, error);
	return { error: formatted.message, code: formatted.context.code as number | null, retryable: formatted.context.retryable as boolean };
}

/** Long enough for the AI's usual reply (a question it asks included), short enough for a tool result. */
const MAX_TEXT = 1000;

function oneLine(text: unknown, max = MAX_TEXT): string {
	const flat = String(text ?? '').replace(/\s+/g, ' ').trim();
	return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function pick(json: IDataObject, keys: string[]): IDataObject {
	const result: IDataObject = {};
	for (const key of keys) if (json[key] !== undefined && json[key] !== null) result[key] = json[key];
	return result;
}

/** What an agent does with a render: hand on the URL, or ask again with the render id. */
export function renderNextStep(json: IDataObject): { summary: string; nextStep: string } {
	const renderId = String(json.renderId ?? '');
	if (json.status === 'completed' && json.url) {
		const length = json.durationSeconds ? `${String(json.durationSeconds)} s ` : '';
		return {
			summary: `The ${length}MP4 video is ready at url.`,
			nextStep: 'Give the url to the user. To change the video, call NemoVideo Generate with this sessionId and an edit prompt, then Export & Wait again.',
		};
	}
	const progress = typeof json.progress === 'number' ? `, ${json.progress}%` : '';
	return {
		summary: `Render ${renderId} is ${String(json.status ?? 'pending')}${progress}; it keeps running on NemoVideo.`,
		nextStep: `Call NemoVideo Export & Wait with renderId "${renderId}" (sessionId "${String(json.sessionId ?? '')}") to wait again or get the url. Do not start a new export or Photo to Video for it: that starts a second render (and Photo to Video charges again).`,
	};
}

function compactRender(json: IDataObject): IDataObject {
	const fields = pick(json, ['sessionId', 'renderId', 'status', 'progress', 'url', 'durationSeconds', 'sizeBytes', 'failedRenderIds']);
	if (json.status === 'completed') delete fields.progress;
	return { ...fields, ...renderNextStep(json) };
}

function compactPhotoToVideo(json: IDataObject): IDataObject {
	if (!json.renderId) return compactGenerating(json);
	const files = Array.isArray(json.files) ? json.files.length : undefined;
	const step = renderNextStep(json);
	return {
		...compactRender(json),
		...(files !== undefined ? { photoCount: files } : {}),
		summary: `${step.summary}${files !== undefined ? ` Made from ${files} file${files === 1 ? '' : 's'}.` : ''}`,
	};
}

function compactGenerating(json: IDataObject): IDataObject {
	return {
		...pick(json, ['sessionId', 'status', 'fileCount']),
		summary: oneLine(json.summary ?? json.text),
		nextStep: String(json.nextStep ?? ''),
	};
}

function compactUpload(json: IDataObject): IDataObject {
	const files = Array.isArray(json.files) ? (json.files as IDataObject[]) : [];
	const byType: IDataObject = {};
	for (const file of files) byType[String(file.fileType || 'file')] = ((byType[String(file.fileType || 'file')] as number) ?? 0) + 1;
	const names = files.slice(0, 20).map((file) => String(file.filename));
	return {
		...pick(json, ['sessionId', 'sessionCreated', 'fileCount', 'previousSessionId', 'notice']),
		fileTypes: byType,
		files: files.length > names.length ? [...names, `…and ${files.length - names.length} more`] : names,
		nextStep: `Call NemoVideo Generate with sessionId "${String(json.sessionId)}" and a prompt saying what video to make (about 100 credits for a generated clip, 50 for an edit), then NemoVideo Export & Wait with the same sessionId.`,
	};
}

interface CompactTimeline extends IDataObject {
	durationSeconds: number;
	tracks: IDataObject[];
}

function compactTimeline(timeline: unknown): CompactTimeline | undefined {
	if (!timeline || typeof timeline !== 'object') return undefined;
	const value = timeline as IDataObject;
	const tracks = Array.isArray(value.tracks) ? (value.tracks as IDataObject[]) : [];
	return {
		durationSeconds: Number(value.durationSeconds ?? 0),
		...(value.title ? { title: value.title } : {}),
		tracks: tracks.map((track) => pick(track, ['type', 'segmentCount', 'durationSeconds'])),
	};
}

function compactGenerate(json: IDataObject): IDataObject {
	if (json.status === 'generating' || json.status === 'notStarted') return compactGenerating(json);
	const ready = json.readyToExport === true;
	return {
		...pick(json, ['sessionId', 'stateChanged', 'readyToExport']),
		text: oneLine(json.text || json.changeSummary),
		...(json.text && json.changeSummary ? { change: oneLine(json.changeSummary, 300) } : {}),
		timeline: compactTimeline(json.timeline),
		nextStep: ready
			? `Call NemoVideo Export & Wait with sessionId "${String(json.sessionId)}" to render the MP4 (export is free), or Generate again to edit (about 50 credits).`
			: `The timeline is still empty. Upload photos into session "${String(json.sessionId)}" with NemoVideo Upload, or call Generate with a more specific prompt.`,
	};
}

/**
 * The compact, self-explanatory output of a node used as a tool: no binary (it cannot cross the tool
 * boundary), no raw draft, no per-segment metadata, no text said twice. Get State shapes its own output.
 */
export function compactForTool(ctx: ToolModeContext, output: INodeExecutionData): INodeExecutionData {
	const json = output.json;
	if (typeof json.error === 'string') return { json, pairedItem: output.pairedItem };
	const shapers: Record<string, (value: IDataObject) => IDataObject> = {
		nemoVideoExport: compactRender,
		nemoVideoPhotoToVideo: compactPhotoToVideo,
		nemoVideoUpload: compactUpload,
		nemoVideoGenerate: compactGenerate,
	};
	const shape = shapers[baseNodeName(ctx)];
	return { json: shape ? shape(json) : json, pairedItem: output.pairedItem };
}
