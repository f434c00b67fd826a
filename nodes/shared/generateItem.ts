import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { earlierCharge, isAfterCharge, rememberCharge } from './chargedWork';
import { promptProperty } from './descriptions';
import type { GenerateResult } from './generate';
import { answerSentEarlier, generate } from './generate';
import { generateOptions, generateTimeoutProperty } from './generateParameters';
import { requiredText } from './parameters';
import {
	boundedGenerateOptions,
	notStarted,
	reachedToolBound,
	requestedSessionId,
	stillGenerating,
	toolBoundPassed,
	toolDeadline,
} from './toolMode';
import { createSession } from './transport/api';
import type { NemoVideoClient } from './transport/client';
import { asNodeError } from './transport/errors';

/**
 * NemoVideo Generate for one item: its parameters read and checked before anything is sent, the message sent once
 * and remembered as charged (n8n's Retry On Fail then reads the session instead of sending it again), and, as an
 * AI tool, a bounded call: past the bound the AI is still working, which is a status, not an error.
 */
export async function generateItem(ctx: IExecuteFunctions, client: NemoVideoClient, itemIndex: number): Promise<GenerateResult | IDataObject> {
	const prompt = requiredText(ctx, promptProperty, itemIndex);
	const deadline = toolDeadline(ctx, itemIndex);
	const options = boundedGenerateOptions(generateOptions(ctx, itemIndex, { property: generateTimeoutProperty }), deadline);
	const earlier = earlierCharge(ctx, [itemIndex]);
	if (earlier) return await answerSentEarlier(client, earlier.sessionId, itemIndex);
	const sessionId = requestedSessionId(ctx, itemIndex, { charged: true }) || (await createSession(client, { itemIndex, deadline })).sessionId;
	if (toolBoundPassed(deadline)) return notStarted(sessionId);
	try {
		const result = await generate(ctx, client, sessionId, prompt, options);
		rememberCharge(ctx, [itemIndex], { sessionId });
		return result;
	} catch (error) {
		if (isAfterCharge(error)) rememberCharge(ctx, [itemIndex], { sessionId });
		if (reachedToolBound(deadline)) return stillGenerating(sessionId);
		throw asNodeError(ctx.getNode(), error, itemIndex);
	}
}
