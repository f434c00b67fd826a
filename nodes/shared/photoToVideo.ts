import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { DEFAULT_PROMPT } from './constants';
import { generate } from './generate';
import { generateOptions, generationTimeoutOption } from './generateParameters';
import { numberParameter } from './parameters';
import { pairedWith } from './itemLoop';
import type { GroupFiles } from './uploadGroups';
import { collectGroupFiles, uploadToSession } from './uploadGroups';
import { exportSession } from './exportAndWait';
import { exportSettings } from './exportParameters';
import { boundedGenerateOptions, reachedToolBound, stillGenerating, toolDeadline } from './toolMode';
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

/** The ids known so far travel with an error, so that a workflow (or an agent) can resume instead of paying again. */
function withSessionId<T extends Error>(error: T, sessionId: string): T {
	const holder = error as { context?: IDataObject };
	holder.context ??= {};
	const ids = (holder.context.nemoVideo ?? {}) as IDataObject;
	holder.context.nemoVideo = { ...ids, sessionId: ids.sessionId ?? sessionId };
	return error;
}

/**
 * One video from a group of items whose files were checked: new session, upload, generate, check, export and
 * (outside tool mode) download, through the same code as the single-step nodes.
 */
export async function photoToVideo(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	collected: GroupFiles,
): Promise<INodeExecutionData[]> {
	if (collected.itemIndexes.length === 0) return collected.failed;
	const itemIndex = collected.itemIndexes[0];
	// In tool mode the upload, the AI's stream and the render share one bound (`options.toolTimeoutSeconds`).
	const deadline = toolDeadline(ctx, itemIndex);
	// Every parameter is read, and checked, before anything is sent.
	const prompt = composePrompt(
		ctx.getNodeParameter('prompt', itemIndex, '') as string,
		ctx.getNodeParameter('aspectRatio', itemIndex, '16:9') as string,
		numberParameter(ctx, lengthSecondsProperty, itemIndex),
	);
	const conversation = generateOptions(ctx, itemIndex, { property: generationTimeoutOption, inOptions: true });
	const exportWithoutBound = exportSettings(ctx, itemIndex, { waitForCompletion: true });

	const upload = await uploadToSession(client, '', collected, itemIndex);
	try {
		const generateBound = boundedGenerateOptions(conversation, deadline);
		let generated;
		try {
			generated = await generate(ctx, client, upload.sessionId, prompt, generateBound);
		} catch (error) {
			if (reachedToolBound(deadline)) {
				const status = stillGenerating(upload.sessionId, { fileCount: upload.fileCount, prompt });
				return [{ json: status, pairedItem: pairedWith(collected.itemIndexes) }, ...collected.failed];
			}
			throw asNodeError(ctx.getNode(), error, itemIndex);
		}
		if (!generated.readyToExport) {
			throw new NodeOperationError(ctx.getNode(), 'NemoVideo did not build a video from the photos', {
				itemIndex,
				description: `After the prompt the session's timeline is still empty. The AI said: "${generated.summary}". Try a more specific prompt, or check session ${upload.sessionId} with NemoVideo Get State.`,
			});
		}
		const settings =
			deadline === undefined
				? exportWithoutBound
				: { ...exportWithoutBound, download: false, onTimeout: 'returnStatus' as const, timeoutMs: Math.max(1000, deadline - Date.now()) };
		const exported = await exportSession(ctx, client, upload.sessionId, settings, itemIndex);
		return [
			{
				json: {
					...exported.json,
					files: upload.files,
					text: generated.text,
					summary: generated.summary,
					prompt,
				},
				binary: exported.binary,
				pairedItem: pairedWith(collected.itemIndexes),
			},
			...collected.failed,
		];
	} catch (error) {
		throw withSessionId(asNodeError(ctx.getNode(), error, itemIndex), upload.sessionId);
	}
}
