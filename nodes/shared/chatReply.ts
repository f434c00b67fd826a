import type { IExecuteFunctions } from 'n8n-workflow';

import { isToolMode } from './toolMode';

/** Between two parts of one reply (an upload note, the AI's words, what it cost). */
const PART_SEPARATOR = '\n\n';

/**
 * The reply of one chat turn: the text the node outputs as `output`, streamed on as it is made when the Chat
 * Trigger's Response Mode is Streaming. n8n's engine sends no begin or end for a node (docs: the Chat Trigger's
 * streaming, n8n-core's base-execute-context.js `sendChunk`), so the reply sends its own: `begin` before the first
 * words, `end` after the last. Chunks go out in order, one after the other; a chunk that cannot be sent is not
 * worth failing the turn for (the words are in `output` too).
 */
export class ChatReply {
	private readonly parts: string[] = [];

	private readonly streaming: boolean;

	private queue: Promise<void> = Promise.resolve();

	/** Whether `begin` went out: every later part, piece or notice starts with the separator. */
	private begun = false;

	/** The current part is still being streamed (the AI's words): the next piece joins it. */
	private open = false;

	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly itemIndex: number,
	) {
		// n8n 1.x's execute context may lack isStreaming and sendChunk; as a tool, the agent's reply is not ours.
		this.streaming =
			!isToolMode(ctx) && typeof ctx.isStreaming === 'function' && typeof ctx.sendChunk === 'function' && ctx.isStreaming();
	}

	/** The whole reply, as the chat shows it when nothing was streamed. */
	get text(): string {
		return this.parts.filter((part) => part.trim()).join(PART_SEPARATOR);
	}

	/** A whole part of the reply. */
	add(text: string): void {
		if (!text.trim()) return;
		this.open = false;
		this.send(this.begun ? `${PART_SEPARATOR}${text}` : text);
		this.parts.push(text);
	}

	/** A piece of words still coming (the AI's, as they arrive): joins the part being streamed. */
	piece(text: string): void {
		if (!text) return;
		if (!this.open) {
			this.open = true;
			this.send(`${this.begun ? PART_SEPARATOR : ''}${text.trimStart()}`);
			this.parts.push(text.trimStart());
			return;
		}
		this.parts[this.parts.length - 1] += text;
		this.send(text);
	}

	/** Closes the part being streamed: what comes next is a part of its own. */
	closePiece(): void {
		this.open = false;
	}

	/** Words for the streamed chat only (progress while waiting), not part of `output`. */
	notice(text: string): void {
		this.send(this.begun ? `${PART_SEPARATOR}${text}` : text);
	}

	/** Ends the streamed message; waits until every chunk went out. */
	async finish(): Promise<void> {
		if (this.begun) this.enqueue('end');
		await this.queue;
	}

	private send(content: string): void {
		if (!this.streaming) return;
		if (!this.begun) {
			this.begun = true;
			this.enqueue('begin');
		}
		this.enqueue('item', content);
	}

	private enqueue(type: 'begin' | 'item' | 'end', content?: string): void {
		this.queue = this.queue.then(async () => {
			try {
				await Promise.resolve(this.ctx.sendChunk(type, this.itemIndex, content));
			} catch {
				// The chat's connection may be gone; the reply is also the node's output.
			}
		});
	}
}
