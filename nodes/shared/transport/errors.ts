import type { ExecutionBaseError, INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { ACCEPTED_FILE_TYPES, REGISTER_URL } from '../constants';
import { MAX_RETRY_AFTER_MS } from './wait';

export type NemoVideoFailureKind =
	| 'tokenExpired'
	| 'unauthorized'
	| 'sessionNotFound'
	| 'noCredits'
	| 'unsupportedFile'
	| 'fileTooLarge'
	| 'missingClientId'
	| 'planBlocked'
	| 'rateLimited'
	| 'serverError'
	| 'network'
	| 'badResponse'
	| 'timeout'
	| 'cancelled'
	| 'apiError';

/** What went wrong, as read off one answer of the service (or its absence). Never holds a token. */
export interface NemoVideoFailure {
	kind: NemoVideoFailureKind;
	httpStatus?: number;
	appCode?: number;
	serviceMessage?: string;
	/** Method and path only: never a query string or a header. */
	operation: string;
	retryAfterMs?: number;
	/** A 429 whose Retry-After is longer than the node waits: refused once, not retried. */
	retryAfterTooLong?: boolean;
	/** A 429 whose wait would outlast the call's own deadline (a bounded tool call): not retried. */
	retryAfterPastDeadline?: boolean;
}

/** Work the service already charged for when a call failed: the AI message was taken in this session. */
export interface ChargedWork {
	sessionId: string;
	renderId?: string;
}

export interface FailureContext {
	anonymous: boolean;
	userId?: string;
	fileName?: string;
	/** Set when the failure came after a charged step: the advice then never says to run the same call again. */
	charged?: ChargedWork;
}

/** An error of the NemoVideo transport: an n8n NodeApiError that also says what kind of failure it was. */
export class NemoVideoApiError extends NodeApiError {
	readonly kind: NemoVideoFailureKind;

	readonly appCode?: number;

	readonly httpStatus?: number;

	constructor(
		node: INode,
		readonly nemoVideoFailure: NemoVideoFailure,
		readonly failureContext: FailureContext,
		itemIndex?: number,
	) {
		const failure = nemoVideoFailure;
		const { message, description } = describeFailure(failure, failureContext);
		const response: JsonObject = {
			message: failure.serviceMessage ?? message,
			operation: failure.operation,
		};
		if (failure.appCode !== undefined) response.code = failure.appCode;
		if (failure.httpStatus !== undefined) response.httpStatus = failure.httpStatus;
		super(node, response, {
			message,
			description,
			httpCode: failure.httpStatus !== undefined ? String(failure.httpStatus) : undefined,
			itemIndex,
		});
		this.kind = failure.kind;
		this.appCode = failure.appCode;
		this.httpStatus = failure.httpStatus;
	}

	/** The same failure described as coming after charged work: the advice names that work instead of a retry. */
	afterCharge(charged: ChargedWork): this {
		this.failureContext.charged = charged;
		this.description = describeFailure(this.nemoVideoFailure, this.failureContext).description;
		return this;
	}
}

export function isNemoVideoError(
	error: unknown,
	kind?: NemoVideoFailureKind,
): error is NemoVideoApiError {
	return error instanceof NemoVideoApiError && (kind === undefined || error.kind === kind);
}

/** Classifies a non-success answer by its app code first (it may come with HTTP 200 or a 4xx), then its status. */
export function classifyAnswer(
	httpStatus: number,
	appCode: number | undefined,
	serviceMessage: string | undefined,
): NemoVideoFailureKind {
	switch (appCode) {
		case 1001:
			return 'tokenExpired';
		case 1002:
			return 'sessionNotFound';
		case 2001:
			return 'noCredits';
		case 4001:
			return 'unsupportedFile';
		case 4002:
			return 'fileTooLarge';
	}
	// Only 1001 means "token expired" (API table): a bare 401 (a gateway, a proxy) is not renewed.
	if (httpStatus === 401) return 'unauthorized';
	if (httpStatus === 402) return 'planBlocked';
	if (httpStatus === 429) return 'rateLimited';
	if (httpStatus === 400 && /client[-_ ]?id/i.test(serviceMessage ?? '')) return 'missingClientId';
	if (httpStatus >= 500) return 'serverError';
	return 'apiError';
}

const acceptedTypes = ACCEPTED_FILE_TYPES.join(', ');

function rateLimitTooLong(failure: NemoVideoFailure): FailureWords {
	const seconds = Math.round((failure.retryAfterMs ?? 0) / 1000);
	return {
		message: `NemoVideo rate limit: the service asked to wait ${seconds} s`,
		description: `The service refused ${failure.operation} once with HTTP 429 and asked to wait ${seconds} s (Retry-After), ${failure.retryAfterPastDeadline ? 'longer than this call had left' : `more than the ${MAX_RETRY_AFTER_MS / 1000} s this node waits`}, so it did not retry.`,
		advice: 'Run the workflow again after that time, or use your own access token.',
	};
}

/**
 * What to do after a failure that came once the AI message was taken: it is paid for, so running the same node
 * again would send it again and pay twice; Export & Wait finishes the video from the session (issue 16 §1).
 */
export function chargedWorkAdvice(charged: ChargedWork): string {
	const render = charged.renderId ? ` Render ${charged.renderId} was started: Export & Wait with "Resume Render ID" ${charged.renderId} picks it up.` : '';
	return `The AI message was already taken in session ${charged.sessionId} (it is paid for): running this node again would send it again and charge again. Finish the video without paying again with NemoVideo Export & Wait, "Session ID" ${charged.sessionId}.${render}`;
}

/** The user-facing words for each failure: what happened, and what to do about it. */
export function describeFailure(
	failure: NemoVideoFailure,
	context: FailureContext,
): { message: string; description: string } {
	const words = describeKind(failure, context);
	// A passing failure's advice ("try again") would pay twice after a charge: the charged work's advice replaces it.
	if (context.charged) return { message: words.message, description: `${words.description} ${chargedWorkAdvice(context.charged)}` };
	return { message: words.message, description: words.advice ? `${words.description} ${words.advice}` : words.description };
}

/** What happened, and (for a passing failure) the advice to try again, which does not hold after a charge. */
interface FailureWords {
	message: string;
	description: string;
	advice?: string;
}

function describeKind(failure: NemoVideoFailure, context: FailureContext): FailureWords {
	const said = failure.serviceMessage ? ` The service said: "${failure.serviceMessage}".` : '';
	switch (failure.kind) {
		case 'tokenExpired':
			return context.anonymous
				? {
						message: 'The NemoVideo anonymous token expired and could not be renewed',
						description: `The service rejected the token again right after it was renewed (code ${failure.appCode ?? failure.httpStatus}).${said} Try again later, or set your own access token in the NemoVideo API credential.`,
					}
				: {
						message: 'The NemoVideo access token is invalid or expired',
						description: `The service rejected the access token in the NemoVideo API credential (code ${failure.appCode ?? failure.httpStatus}). Create a new token in your NemoVideo account and paste it into the credential, or clear the field to use a free anonymous token.`,
					};
		case 'unauthorized':
			return {
				message: 'NemoVideo refused the request: HTTP 401 without a token error',
				description: `The answer to ${failure.operation} was HTTP 401 without code 1001 (the API's "token expired"), so the token was not renewed.${said} Something at the Base URL (a proxy or gateway in front of the API) may be asking for its own authentication: check the Base URL in the NemoVideo API credential${context.anonymous ? '' : ' and the access token'}, then try again.`,
			};
		case 'sessionNotFound':
			return {
				message: 'NemoVideo session not found',
				description: `The service does not know this session (code 1002): it expired or belongs to another token.${said} Leave "Session ID" empty to start a new session, and upload the photos again.`,
			};
		case 'noCredits':
			return context.anonymous
				? {
						message: 'No NemoVideo credits left on the free anonymous token',
						description: `The free credits are used up (code 2001). Register to get more credits and keep this work: ${REGISTER_URL}?bind=${encodeURIComponent(context.userId ?? '')}`,
					}
				: {
						message: 'No NemoVideo credits left',
						description:
							'Your NemoVideo account has no credits for this operation (code 2001). Top up credits in your NemoVideo account, then run the workflow again.',
					};
		case 'unsupportedFile':
			return {
				message: `NemoVideo does not accept this file type${context.fileName ? `: ${context.fileName}` : ''}`,
				description: `The service refused the file (code 4001).${said} Accepted types: ${acceptedTypes}.`,
			};
		case 'fileTooLarge':
			return {
				message: `File too large for NemoVideo${context.fileName ? `: ${context.fileName}` : ''}`,
				description: `The service refused the file (code 4002): the limit is 200 MB a file. Compress or resize the photo, or trim the video, and try again.`,
			};
		case 'missingClientId':
			return {
				message: 'NemoVideo refused the request: missing client id',
				description: `The service asked for an X-Client-Id (HTTP 400) even after one was sent.${said} Set a Client ID in the NemoVideo API credential, or leave it empty to let the node generate one.`,
			};
		case 'planBlocked':
			return {
				message: 'Your NemoVideo plan does not allow export',
				description: `The service refused the export (HTTP 402). This is about your subscription plan, not your balance. Register or upgrade your plan to unlock export.${said}`,
			};
		case 'rateLimited':
			if (failure.retryAfterTooLong || failure.retryAfterPastDeadline) return rateLimitTooLong(failure);
			return {
				message: 'NemoVideo rate limit: the request was refused twice',
				description: `The service answered HTTP 429 (too many requests) again after the node waited${failure.retryAfterMs !== undefined ? ` ${Math.round(failure.retryAfterMs / 1000)} s` : ''} and retried once. Anonymous tokens are limited to one per client per 7 days.`,
				advice: 'Wait a few minutes before running the workflow again, or use your own access token.',
			};
		case 'serverError':
			return {
				message: `NemoVideo service error (HTTP ${failure.httpStatus ?? '5xx'})`,
				description: `The service failed to answer ${failure.operation}.${said}`,
				advice: 'This is usually temporary: try again in a minute, or turn on "Retry On Fail" in the node\'s settings.',
			};
		case 'network':
			return {
				message: 'Could not reach the NemoVideo service',
				description: `The connection failed during ${failure.operation}.${said}`,
				advice: 'Check the Base URL in the NemoVideo API credential and the network, then try again.',
			};
		case 'badResponse':
			return {
				message: 'NemoVideo sent an answer that could not be read',
				description: `The answer to ${failure.operation} was not the JSON the API documents (HTTP ${failure.httpStatus ?? '?'}).${said}`,
				advice: 'Check the Base URL in the credential points at the NemoVideo API; if it does, try again later.',
			};
		case 'timeout':
			return {
				message: 'NemoVideo did not answer in time',
				description: `No answer to ${failure.operation} within the time limit.${said}`,
				advice: "Try again later, or raise the node's timeout.",
			};
		case 'cancelled':
			return {
				message: 'The execution was cancelled',
				description: `The request ${failure.operation} was stopped because the workflow execution was cancelled.`,
			};
		case 'apiError':
		default:
			return {
				message: `NemoVideo refused the request (${failure.appCode !== undefined ? `code ${failure.appCode}` : `HTTP ${failure.httpStatus}`})`,
				description: `The service refused ${failure.operation}.${said || ' It gave no reason.'} Check the node's parameters.`,
			};
	}
}

/** n8n's own errors (NodeApiError, NodeOperationError, an expression's error) carry a context. */
function isN8nError(error: unknown): error is ExecutionBaseError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return true;
	const context = (error as { context?: unknown } | undefined)?.context;
	return error instanceof Error && typeof context === 'object' && context !== null;
}

/**
 * The one error normaliser, so that what reaches the user is always one of n8n's errors naming its item: n8n's
 * own pass through (they already carry their kind and HTTP context), with the item index filled in where they
 * have none; a cancellation says so; anything else becomes a NodeOperationError of the item.
 */
export function asNodeError(node: INode, error: unknown, itemIndex?: number): ExecutionBaseError {
	if (isN8nError(error)) {
		if (error.context.itemIndex === undefined && itemIndex !== undefined) error.context.itemIndex = itemIndex;
		return error;
	}
	const name = (error as { name?: string })?.name;
	if (name === 'AbortError') {
		return new NodeOperationError(node, 'The execution was cancelled', {
			itemIndex,
			description: 'NemoVideo work in progress for this item was stopped.',
		});
	}
	return new NodeOperationError(node, error as Error, { itemIndex });
}

/**
 * A copy of an error for one waiter. An error that several items await (one shared token fetch) is one object;
 * the item loop writes each item's ids into the error it gets (context.nemoVideo), so shared, the last item's ids
 * would show on every item's error.
 */
export function ownCopy(node: INode, error: unknown, itemIndex?: number): ExecutionBaseError {
	if (error instanceof NemoVideoApiError) {
		return new NemoVideoApiError(node, error.nemoVideoFailure, { ...error.failureContext }, itemIndex ?? error.context.itemIndex as number | undefined);
	}
	const original = asNodeError(node, error, itemIndex);
	const copy = new NodeOperationError(node, original.message, { description: original.description ?? undefined, itemIndex });
	copy.context = { ...original.context };
	return copy;
}
