import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isAfterCharge } from './chargedWork';
import { ChatReply } from './chatReply';
import type { ChatCommand } from './chatRouting';
import { routeMessage } from './chatRouting';
import type { ConversationSessions } from './conversationSessions';
import { conversationSessions } from './conversationSessions';
import { exportSession } from './exportAndWait';
import { exportSettings } from './exportParameters';
import type { ChatSettings } from './chatParameters';
import { aiTimeoutOption, chatSettings } from './chatParameters';
import type { GenerateOptions } from './generate';
import { generate } from './generate';
import { generateOptions } from './generateParameters';
import { readSessionState } from './session';
import type { Balance } from './transport/api';
import { credits } from './transport/api';
import type { NemoVideoClient } from './transport/client';
import { asNodeError, describeFailure, isNemoVideoError } from './transport/errors';
import type { PendingFile } from './upload';
import { collectItemFiles } from './upload';
import { uploadToSession } from './uploadGroups';

/** What a message costs (docs/nemovideo-api.md, credits): about 100 credits a generated clip, 50 an edit. */
export const FIRST_GENERATION_CREDITS = 100;
export const EDIT_CREDITS = 50;

const TRY_SAYING = 'For example: "turn these photos into a slideshow with smooth transitions", or "a 20 second vertical video with music".';

/** One chat message and everything the node answers to it. */
interface Turn {
	ctx: IExecuteFunctions;
	client: NemoVideoClient;
	itemIndex: number;
	conversationId: string;
	store: ConversationSessions;
	reply: ChatReply;
	/** The conversation's NemoVideo session ('' before the first photos). */
	sessionId: string;
	action: string;
	result: IDataObject;
	/** The node's options, read (and checked) before anything is sent. */
	settings: ChatSettings;
	generation: GenerateOptions;
}

/**
 * An expected refusal or mistake, told to the person chatting instead of failing the execution: an n8n error
 * marked as the chat's reply (`context.chatReply`), whose message is the whole reply.
 */
function problem(turn: Pick<Turn, 'ctx' | 'itemIndex'>, reply: string): NodeOperationError {
	const error = new NodeOperationError(turn.ctx.getNode(), reply, { itemIndex: turn.itemIndex });
	error.context.chatReply = true;
	return error;
}

function isProblem(error: unknown): error is NodeOperationError {
	return error instanceof NodeOperationError && error.context.chatReply === true;
}

// ---- what is said ------------------------------------------------------------------------------------------

/** An error in the words of the chat: what happened and what to do (never a token: errors never hold one). */
function said(error: unknown): string {
	const message = (error as Error)?.message ?? String(error);
	const description = (error as { description?: unknown })?.description;
	return typeof description === 'string' && description ? `${message}. ${description}` : message;
}

/**
 * Refusals of a message that say it was not taken (nothing done, nothing charged): the service's documented
 * refusals. Anything else after the message was sent (a drop, a timeout, an error in the stream, a 5xx) may
 * have been taken and charged.
 */
function refusedBeforeTaken(error: unknown): boolean {
	return ['noCredits', 'sessionNotFound', 'tokenExpired', 'unauthorized', 'rateLimited', 'planBlocked', 'missingClientId'].some(
		(kind) => isNemoVideoError(error, kind as Parameters<typeof isNemoVideoError>[1]),
	);
}

function noSessionText(turn: Turn, earlierMessages: boolean | undefined): string {
	const ask = `Send me your photos (JPG, PNG, WEBP or HEIC) and a few words about the video you want. ${TRY_SAYING} Nothing was charged.`;
	if (earlierMessages) {
		return `I can't find the video project of this conversation any more (its link to a NemoVideo session was lost). ${ask}`;
	}
	const where =
		turn.store.keptIn === 'workflowStaticData'
			? ' If you already sent photos in this conversation, n8n no longer has its link to them (a chat from the editor keeps it only until n8n restarts; connect a chat memory to keep it).'
			: '';
	return `This conversation has no video project yet.${where} ${ask}`;
}

function sessionGoneText(sessionId: string): string {
	return `The video project of this conversation (NemoVideo session ${sessionId}) no longer exists on NemoVideo: it expired. Send the photos again to start a new one. Nothing was charged.`;
}

async function wayOn(client: NemoVideoClient): Promise<string> {
	const auth = await client.tokens.get();
	return describeFailure({ kind: 'noCredits', operation: '' }, { anonymous: auth.anonymous, userId: auth.userId }).description;
}

function formatCredits(value: number): string {
	return value.toLocaleString('en-US');
}

// ---- the actions -------------------------------------------------------------------------------------------

async function sayCredits(turn: Turn): Promise<void> {
	const balance = await credits(turn.client, { itemIndex: turn.itemIndex });
	const frozen = balance.frozen ? ` (${formatCredits(balance.frozen)} more are held for work in progress)` : '';
	turn.reply.add(
		`You have ${formatCredits(balance.available)} NemoVideo credits${frozen}. A first video costs about ${FIRST_GENERATION_CREDITS} credits, an edit about ${EDIT_CREDITS}; status, credits and export are free.`,
	);
	if (balance.available < EDIT_CREDITS) turn.reply.add(await wayOn(turn.client));
	turn.result.credits = balance as unknown as IDataObject;
}

async function sayState(turn: Turn): Promise<void> {
	const state = await readSessionState(turn.client, turn.sessionId, turn.itemIndex);
	const next = state.readyToExport ? 'Say "export" to get the MP4.' : 'Tell me what video to make of the photos.';
	turn.reply.add(`${state.timeline.summary} ${next}`);
	turn.result.timeline = state.timeline;
	turn.result.readyToExport = state.readyToExport;
}

async function sayExport(turn: Turn): Promise<void> {
	const state = await readSessionState(turn.client, turn.sessionId, turn.itemIndex);
	if (!state.readyToExport) {
		throw problem(turn, `There is no video to export yet: the project's timeline is empty. ${TRY_SAYING} Nothing was charged.`);
	}
	const chat = turn.settings;
	turn.reply.notice('Rendering the video…');
	let shown = -1;
	const settings = exportSettings(turn.ctx, turn.itemIndex, {
		download: false,
		waitForCompletion: true,
		onTimeout: 'returnStatus',
		pollIntervalSeconds: chat.renderPollIntervalSeconds,
		timeoutMs: chat.renderTimeoutMs,
		onStatus: (status) => {
			const step = status.progress === null ? -1 : Math.floor(status.progress / 25);
			if (step > shown && status.progress !== null && status.progress < 100) {
				shown = step;
				turn.reply.notice(`Rendering… ${Math.round(status.progress)}%`);
			}
		},
	});
	const { json } = await exportSession(turn.ctx, turn.client, turn.sessionId, settings, turn.itemIndex);
	turn.result.renderId = json.renderId;
	if (json.status !== 'completed' || typeof json.url !== 'string') {
		turn.reply.add(`The video is still rendering (render ${String(json.renderId)}). It is not lost: say "export" again in a few minutes (export is free).`);
		return;
	}
	turn.result.url = json.url;
	const length = typeof json.durationSeconds === 'number' ? ` (${Math.round(json.durationSeconds)} s)` : '';
	turn.reply.add(`Your video is ready${length}: [${json.url}](${json.url})`);
}

async function runCommand(turn: Turn, command: ChatCommand, earlierMessages?: boolean): Promise<void> {
	turn.action = command;
	if (command === 'credits') return await sayCredits(turn);
	if (!turn.sessionId) throw problem(turn, noSessionText(turn, earlierMessages));
	if (command === 'state') return await sayState(turn);
	return await sayExport(turn);
}

async function checkedFiles(turn: Turn): Promise<PendingFile[]> {
	try {
		return await collectItemFiles(turn.ctx, turn.itemIndex);
	} catch (error) {
		throw problem(turn, `${said(error)} Nothing was uploaded or charged: send photos (JPG, PNG, WEBP or HEIC) of at most 200 MB each.`);
	}
}

async function upload(turn: Turn): Promise<void> {
	turn.action = 'upload';
	const files = await checkedFiles(turn);
	const outcome = await uploadToSession(turn.client, turn.sessionId, { itemIndexes: [turn.itemIndex], files, urls: [], failed: [] }, turn.itemIndex);
	if (outcome.sessionId !== turn.sessionId) {
		if (outcome.previousSessionId) turn.reply.add('The earlier video project of this conversation had expired on NemoVideo: these photos start a new one.');
		turn.sessionId = outcome.sessionId;
		await turn.store.remember(outcome.sessionId);
	}
	const count = outcome.fileCount;
	turn.reply.add(`Added ${count} file${count === 1 ? '' : 's'} to this conversation's video project.`);
	turn.result.files = outcome.files;
}

/** The balance, when it is enough for the message; otherwise the reply says so and nothing is sent. */
async function affordable(turn: Turn, cost: number): Promise<Balance> {
	const balance = await credits(turn.client, { itemIndex: turn.itemIndex });
	if (balance.available >= cost) return balance;
	throw problem(
		turn,
		`This message would cost about ${cost} NemoVideo credits and you have ${formatCredits(balance.available)}. ${await wayOn(turn.client)} Your message was not sent, and nothing was charged.`,
	);
}

async function askTheAi(turn: Turn, prompt: string): Promise<void> {
	turn.action = 'generate';
	const { ctx, client, itemIndex, sessionId, reply } = turn;
	const before = await readSessionState(client, sessionId, itemIndex);
	const cost = before.readyToExport ? EDIT_CREDITS : FIRST_GENERATION_CREDITS;
	await affordable(turn, cost);
	const options: GenerateOptions = {
		...turn.generation,
		onText: (piece) => reply.piece(piece),
		stillWorkingEveryMs: turn.settings.stillWorkingEveryMs,
		onStillWorking: () => reply.notice('⏳ Still working…'),
	};
	let generated;
	try {
		generated = await generate(ctx, client, sessionId, prompt, options, before);
	} catch (error) {
		if (refusedBeforeTaken(error)) throw asNodeError(ctx.getNode(), error, itemIndex);
		// After a charge the error's own advice names the workflow's Export & Wait node; the chat has "export".
		const what = isAfterCharge(error) ? (error as Error).message : said(error);
		throw problem(
			turn,
			`Your message reached NemoVideo, but its answer did not come back whole: ${what}. Please don't send the same message again (it could be charged twice): say "status" in a minute to see what changed, and "export" when the video is there.`,
		);
	}
	reply.closePiece();
	if (!generated.text) reply.add(generated.summary);
	// The service does not say what one message cost; the balance after it is a fact it does report.
	const after = await credits(client, { itemIndex }).catch(() => undefined);
	const left = after ? ` You have ${formatCredits(after.available)} credits left.` : '';
	if (generated.readyToExport) reply.add(`Say "export" when you want the MP4.${left}`);
	else if (left) reply.add(left.trim());
	Object.assign(turn.result, { text: generated.text, stateChanged: generated.stateChanged, readyToExport: generated.readyToExport });
}

async function converse(turn: Turn, prompt: string, earlierMessages: boolean | undefined): Promise<void> {
	turn.action = 'generate';
	if (!prompt) {
		throw problem(turn, `Send me your photos and tell me what video to make of them. ${TRY_SAYING} Say "status" to see the project, "credits" for your balance, "export" for the MP4.`);
	}
	if (!turn.sessionId) throw problem(turn, noSessionText(turn, earlierMessages));
	await askTheAi(turn, prompt);
}

/** A refusal or mistake as the chat's reply; anything else (the node's own setup) fails the item. */
function tellProblem(turn: Turn, error: unknown): void {
	if (isProblem(error)) turn.reply.add(error.message);
	else if (isNemoVideoError(error, 'sessionNotFound')) turn.reply.add(sessionGoneText(turn.sessionId));
	else if (isNemoVideoError(error)) turn.reply.add(`${said(error)} Nothing was charged for this message.`);
	else if (error instanceof NodeOperationError) turn.reply.add(said(error));
	else throw error;
	turn.result.problem = true;
}

// ---- the turn ----------------------------------------------------------------------------------------------

function fileCountOf(ctx: IExecuteFunctions, itemIndex: number): number {
	const binary = ctx.getInputData()[itemIndex]?.binary ?? {};
	const names = String(ctx.getNodeParameter('binaryProperties', itemIndex, '*') ?? '*').trim();
	if (names === '*' || names === '') return Object.keys(binary).length;
	return names.split(',').filter((name) => binary[name.trim()]).length;
}

function conversationIdOf(ctx: IExecuteFunctions, itemIndex: number): string {
	const value = ctx.getNodeParameter('conversationId', itemIndex, '') as unknown;
	const id = value === undefined || value === null ? '' : String(value).trim();
	if (id) return id;
	throw new NodeOperationError(ctx.getNode(), 'Conversation ID is empty', {
		itemIndex,
		description: 'Put this node right after a Chat Trigger (its items carry sessionId), or set "Conversation ID" to what identifies the conversation.',
	});
}

/**
 * One chat message: routed (chatRouting.ts), acted on with the package's own modules, answered. Every refusal
 * or mistake of the person chatting is a reply, with nothing charged for it; the execution succeeds.
 */
export async function chatTurn(ctx: IExecuteFunctions, client: NemoVideoClient, itemIndex: number): Promise<IDataObject> {
	const message = String(ctx.getNodeParameter('message', itemIndex, '') ?? '');
	const conversationId = conversationIdOf(ctx, itemIndex);
	const route = routeMessage(message, fileCountOf(ctx, itemIndex));
	const store = await conversationSessions(ctx, itemIndex, conversationId);
	const found = await store.find();
	// The options are read (and a bad one fails the item) before anything is sent or said.
	const settings = chatSettings(ctx, itemIndex);
	const generation = generateOptions(ctx, itemIndex, { property: aiTimeoutOption, inOptions: true });
	const turn: Turn = {
		...{ ctx, client, itemIndex, conversationId, store, settings, generation },
		reply: new ChatReply(ctx, itemIndex),
		sessionId: found.sessionId ?? '',
		action: route.action,
		result: {},
	};
	try {
		if (route.action === 'upload') {
			await upload(turn);
			if (route.then) await runCommand(turn, route.then);
			else if (route.prompt) await askTheAi(turn, route.prompt);
			else turn.reply.add(`What video should I make of them? ${TRY_SAYING} Nothing was charged yet.`);
		} else if (route.action === 'generate') await converse(turn, route.prompt, found.earlierMessages);
		else await runCommand(turn, route.action, found.earlierMessages);
	} catch (error) {
		tellProblem(turn, error);
	} finally {
		await turn.reply.finish();
	}
	await store.record(message, turn.reply.text);
	return {
		output: turn.reply.text,
		sessionId: turn.sessionId,
		conversationId,
		action: turn.action,
		...turn.result,
	};
}
