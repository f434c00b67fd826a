import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { DEFAULT_PROMPT } from './constants';
import { afterCharge, earlierCharge, isAfterCharge, rememberCharge } from './chargedWork';
import type { ChargedWork } from './chargedWork';
import { generate } from './generate';
import type { GenerateOptions } from './generate';
import { generateOptions, generationTimeoutOption } from './generateParameters';
import { numberParameter } from './parameters';
import { pairedWith } from './itemLoop';
import type { GroupFiles, UploadOutcome } from './uploadGroups';
import { collectGroupFiles, uploadToSession } from './uploadGroups';
import { exportSession, renderIdsOf } from './exportAndWait';
import { exportSettings } from './exportParameters';
import type { ExportSettings } from './exportParameters';
import { boundedGenerateOptions, reachedToolBound, stillGenerating, toolBoundPassed, toolDeadline } from './toolMode';
import type { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';

/** Photo to Video's wanted length, written into the prompt. */
export const lengthSecondsProperty: INodeProperties = {
	displayName: 'Length (Seconds)',
	name: 'lengthSeconds',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 0,
	description: 'Wanted video length; 0 lets the AI choose (5-10 photos make the best short clips)',
};

/** The prompt with the node's aspect-ratio and length options written into it. */
export function composePrompt(prompt: string, aspectRatio: string, lengthSeconds: number): string {
	const parts = [prompt.trim() || DEFAULT_PROMPT];
	if (aspectRatio && aspectRatio !== 'prompt') parts.push(`Use a ${aspectRatio} aspect ratio.`);
	if (lengthSeconds > 0) parts.push(`Make it about ${lengthSeconds} seconds long.`);
	return parts.map((part) => (/[.!?]$/.test(part) ? part : `${part}.`)).join(' ');
}

function groupKey(group: number[]): string {
	return group.join(',');
}

/**
 * Checks the files of every group before any group is sent (issue 9 §9: with One per Item, a bad file in one
 * item must not let other workers start, and charge, renders that are then thrown away). Without "Continue On
 * Fail" the first bad file fails the node here, with nothing sent.
 */
export async function checkAllGroups(ctx: IExecuteFunctions, groups: number[][]): Promise<Map<string, GroupFiles>> {
	const checked = new Map<string, GroupFiles>();
	for (const group of groups) {
		const source = ctx.getNodeParameter('source', group[0], 'binary') as 'binary' | 'url';
		checked.set(groupKey(group), await collectGroupFiles(ctx, group, source));
	}
	return checked;
}

/** The checked files of a group (checkAllGroups ran on the same groups). */
export function checkedFilesOf(checked: Map<string, GroupFiles>, group: number[]): GroupFiles {
	const files = checked.get(groupKey(group));
	if (!files) throw new Error(`Items ${groupKey(group)} were not checked before sending`);
	return files;
}

/** The ids known so far travel with an error, so that a workflow (or an agent) can use the uploads, not upload again. */
function withSessionId<T extends Error>(error: T, sessionId: string): T {
	const holder = error as { context?: IDataObject };
	holder.context ??= {};
	const ids = (holder.context.nemoVideo ?? {}) as IDataObject;
	holder.context.nemoVideo = { ...ids, sessionId: ids.sessionId ?? sessionId };
	return error;
}

/** What one group's video is made with: its parameters, read (and checked) before anything is sent. */
interface VideoPlan {
	itemIndexes: number[];
	itemIndex: number;
	prompt: string;
	conversation: GenerateOptions;
	exportSettings: ExportSettings;
	/** In tool mode the upload, the AI's stream and the render share one bound (`options.toolTimeoutSeconds`). */
	deadline?: number;
}

function planVideo(ctx: IExecuteFunctions, collected: GroupFiles): VideoPlan {
	const itemIndex = collected.itemIndexes[0];
	const prompt = composePrompt(
		ctx.getNodeParameter('prompt', itemIndex, '') as string,
		ctx.getNodeParameter('aspectRatio', itemIndex, '16:9') as string,
		numberParameter(ctx, lengthSecondsProperty, itemIndex),
	);
	return {
		itemIndexes: collected.itemIndexes,
		itemIndex,
		prompt,
		conversation: generateOptions(ctx, itemIndex, { property: generationTimeoutOption, inOptions: true }),
		exportSettings: exportSettings(ctx, itemIndex, { waitForCompletion: true }),
		deadline: toolDeadline(ctx, itemIndex),
	};
}

/** A tool call whose bound passed before the charged message: the photos are in the session, nothing is charged. */
function uploadedOnly(upload: UploadOutcome): IDataObject {
	return {
		sessionId: upload.sessionId,
		status: 'uploaded',
		fileCount: upload.fileCount,
		summary: `The ${upload.fileCount} photos are in session ${upload.sessionId}; the call's time ran out before the AI was asked, so nothing was charged.`,
		nextStep: `Call NemoVideo Generate with sessionId "${upload.sessionId}" and the prompt, then NemoVideo Export & Wait with that sessionId.`,
	};
}

type Generated = { made: { upload: UploadOutcome; text: string; summary: string } } | { status: IDataObject };

/**
 * Upload into a new session and the AI's message (the charged step, remembered for n8n's Retry On Fail). In tool
 * mode a bound that passed before the message, or during it, is a status, not an error.
 */
async function uploadAndGenerate(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	collected: GroupFiles,
	plan: VideoPlan,
): Promise<Generated> {
	const upload = await uploadToSession(client, '', collected, plan.itemIndex, plan.deadline);
	if (toolBoundPassed(plan.deadline)) return { status: uploadedOnly(upload) };
	let generated;
	try {
		generated = await generate(ctx, client, upload.sessionId, plan.prompt, boundedGenerateOptions(plan.conversation, plan.deadline));
	} catch (error) {
		if (isAfterCharge(error)) rememberCharge(ctx, plan.itemIndexes, { sessionId: upload.sessionId });
		if (reachedToolBound(plan.deadline)) {
			return { status: stillGenerating(upload.sessionId, { fileCount: upload.fileCount, prompt: plan.prompt }) };
		}
		throw withSessionId(asNodeError(ctx.getNode(), error, plan.itemIndex), upload.sessionId);
	}
	rememberCharge(ctx, plan.itemIndexes, { sessionId: upload.sessionId });
	if (!generated.readyToExport) {
		const empty = new NodeOperationError(ctx.getNode(), 'NemoVideo did not build a video from the photos', {
			itemIndex: plan.itemIndex,
			description: `After the prompt the session's timeline is still empty. The AI said: "${generated.summary}". Try a more specific prompt with NemoVideo Generate in session ${upload.sessionId} (the photos are there), or check it with NemoVideo Get State.`,
		});
		throw afterCharge(ctx.getNode(), empty, { sessionId: upload.sessionId }, { adviseExport: false });
	}
	return { made: { upload, text: generated.text, summary: generated.summary } };
}

/**
 * The render of a charged session (and the download, outside tool mode): a render started by an earlier try is
 * taken up, not started again. A failure names the charged work and says how to finish it without paying again.
 */
async function exportCharged(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	work: ChargedWork,
	plan: VideoPlan,
): Promise<INodeExecutionData> {
	const bounded: Partial<ExportSettings> =
		plan.deadline === undefined ? {} : { download: false, onTimeout: 'returnStatus', timeoutMs: Math.max(1000, plan.deadline - Date.now()) };
	const settings: ExportSettings = { ...plan.exportSettings, ...bounded, resumeRenderId: work.renderId };
	try {
		const exported = await exportSession(ctx, client, work.sessionId, settings, plan.itemIndex);
		rememberCharge(ctx, plan.itemIndexes, { sessionId: work.sessionId, renderId: String(exported.json.renderId ?? '') || undefined });
		return exported;
	} catch (error) {
		const failed = afterCharge(ctx.getNode(), error, work);
		rememberCharge(ctx, plan.itemIndexes, { sessionId: work.sessionId, renderId: renderIdsOf(failed)?.renderId || undefined });
		throw failed;
	}
}

/**
 * One video from a group of items whose files were checked: new session, upload, generate, check, export and
 * (outside tool mode) download, through the same code as the single-step nodes. When an earlier try of this
 * node in this execution already had the message taken (n8n's Retry On Fail), its session is exported instead.
 */
export async function photoToVideo(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	collected: GroupFiles,
): Promise<INodeExecutionData[]> {
	if (collected.itemIndexes.length === 0) return collected.failed;
	const plan = planVideo(ctx, collected);
	const paired = pairedWith(plan.itemIndexes);
	const earlier = earlierCharge(ctx, plan.itemIndexes);
	if (earlier) {
		const exported = await exportCharged(ctx, client, earlier, plan);
		const note = `Made from session ${earlier.sessionId}, whose AI message an earlier try of this node already sent (n8n retried the node); it was not sent again.`;
		return [{ json: { ...exported.json, summary: note, prompt: plan.prompt }, binary: exported.binary, pairedItem: paired }, ...collected.failed];
	}
	const generated = await uploadAndGenerate(ctx, client, collected, plan);
	if ('status' in generated) return [{ json: generated.status, pairedItem: paired }, ...collected.failed];
	const { upload, text, summary } = generated.made;
	const exported = await exportCharged(ctx, client, { sessionId: upload.sessionId }, plan);
	const json = { ...exported.json, files: upload.files, text, summary, prompt: plan.prompt };
	return [{ json, binary: exported.binary, pairedItem: paired }, ...collected.failed];
}
