import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { DEFAULT_PROMPT } from './constants';
import { generate, generateOptions } from './generate';
import { pairedWith } from './items';
import { collectGroupFiles, uploadToSession } from './pipeline';
import { exportSession, exportSettings } from './render';
import type { NemoVideoClient } from './transport/client';

/** The prompt with the node's aspect-ratio and length options written into it. */
export function composePrompt(prompt: string, aspectRatio: string, lengthSeconds: number): string {
	const parts = [prompt.trim() || DEFAULT_PROMPT];
	if (aspectRatio && aspectRatio !== 'prompt') parts.push(`Use a ${aspectRatio} aspect ratio.`);
	if (lengthSeconds > 0) parts.push(`Make it about ${lengthSeconds} seconds long.`);
	return parts.map((part) => (/[.!?]$/.test(part) ? part : `${part}.`)).join(' ');
}

/**
 * One video from a group of items: new session, upload, generate, check, export and download, through the same
 * code as the single-step nodes.
 */
export async function photoToVideo(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	group: number[],
): Promise<INodeExecutionData[]> {
	const collected = await collectGroupFiles(ctx, group, 'binary');
	if (collected.itemIndexes.length === 0) return collected.failed;
	const itemIndex = collected.itemIndexes[0];
	const options = ctx.getNodeParameter('options', itemIndex, {}) as Record<string, number | string>;

	const upload = await uploadToSession(client, '', collected, itemIndex);
	const prompt = composePrompt(
		ctx.getNodeParameter('prompt', itemIndex, '') as string,
		ctx.getNodeParameter('aspectRatio', itemIndex, '16:9') as string,
		ctx.getNodeParameter('lengthSeconds', itemIndex, 0) as number,
	);
	const generated = await generate(
		ctx,
		client,
		upload.sessionId,
		prompt,
		generateOptions(ctx, itemIndex, Number(options.generationTimeoutMinutes ?? 15)),
	);
	if (!generated.readyToExport) {
		throw new NodeOperationError(ctx.getNode(), 'NemoVideo did not build a video from the photos', {
			itemIndex,
			description: `After the prompt the session's timeline is still empty. The AI said: "${generated.summary}". Try a more specific prompt, or check session ${upload.sessionId} with NemoVideo Get State.`,
		});
	}
	const settings = exportSettings(ctx, itemIndex);
	settings.waitForCompletion = true;
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
}
