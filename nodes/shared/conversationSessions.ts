import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { isToolMode } from './toolMode';

/**
 * Which NemoVideo session belongs to which chat conversation: one module with one job. The key is the workflow,
 * the node and the Chat Trigger's `sessionId` (chosen by the chat client, so never trusted across workflows).
 *
 * Where it is kept:
 * - With a chat memory connected to the node's Memory input: in the conversation's own history, as one hidden
 *   message (`additional_kwargs.hideFromUI`, which n8n's Chat Trigger leaves out when it loads a session). A
 *   Postgres or Redis Chat Memory keeps it in that database: across restarts, and for every worker in queue mode.
 *   Simple Memory keeps it in the process, for as long as Simple Memory keeps a conversation.
 * - Without one: in the workflow's static data (`getWorkflowStaticData('node')`), which n8n loads when a run
 *   starts and saves whole when it ends, except in manual runs (the editor's chat), where it is never saved. Two
 *   runs that overlap would each save their own copy, and the last would wipe the other's conversation: every
 *   mapping is also kept in this process and written into the static data of every run of the node that this
 *   process has open, so whichever run is saved last saves them all. Queue mode's workers are separate
 *   processes: there, only a memory keeps concurrent conversations apart.
 */
export interface ConversationSessions {
	readonly keptIn: 'memory' | 'workflowStaticData';
	/** The conversation's session, and whether the conversation had earlier messages (known with a memory only). */
	find(): Promise<{ sessionId?: string; earlierMessages?: boolean }>;
	remember(sessionId: string): Promise<void>;
	/** Keeps the exchange in the memory (so the Chat Trigger can load the session's messages); nothing without one. */
	record(message: string, reply: string): Promise<void>;
}

/** The part of a LangChain chat memory (what n8n's memory sub-nodes supply) that is used here. */
interface ChatMemory {
	chatHistory: {
		getMessages(): Promise<unknown[]>;
		addMessage(message: unknown): Promise<void>;
	};
	saveContext?(input: IDataObject, output: IDataObject): Promise<void>;
}

interface Entry extends IDataObject {
	sessionId: string;
	at: number;
}

/** Conversations kept in static data; the oldest go first (the static data is saved with the workflow). */
const MAX_CONVERSATIONS = 1000;
const STATIC_KEY = 'conversations';

function isChatMemory(value: unknown): value is ChatMemory {
	const history = (value as ChatMemory | undefined)?.chatHistory;
	return typeof history?.getMessages === 'function' && typeof history.addMessage === 'function';
}

// ---- in a chat memory -------------------------------------------------------------------------------------

interface Mapping extends IDataObject {
	workflowId: string;
	nodeId: string;
	sessionId: string;
}

/**
 * The hidden message, as LangChain's AIMessage serialises (`toDict()`: what the Postgres and Redis histories
 * store, and read back as a real AIMessage with its `additional_kwargs`). No LangChain import: a community
 * package has no runtime dependencies; the object carries the methods the histories call.
 */
function mappingMessage(mapping: Mapping) {
	const content = `NemoVideo session ${mapping.sessionId}`;
	const data = { content, additional_kwargs: { hideFromUI: true, nemoVideo: mapping }, response_metadata: {}, tool_calls: [], invalid_tool_calls: [] };
	return {
		...data,
		lc_serializable: true,
		lc_namespace: ['langchain_core', 'messages'],
		type: 'ai',
		_getType: () => 'ai',
		getType: () => 'ai',
		toDict: () => ({ type: 'ai', data }),
		toJSON: () => ({ lc: 1, type: 'constructor', id: ['langchain_core', 'messages', 'AIMessage'], kwargs: data }),
	};
}

function mappingOf(message: unknown): Mapping | undefined {
	const kwargs = (message as { additional_kwargs?: IDataObject } | undefined)?.additional_kwargs;
	const mapping = kwargs?.nemoVideo as Mapping | undefined;
	return mapping && typeof mapping.sessionId === 'string' ? mapping : undefined;
}

function inMemory(memory: ChatMemory, workflowId: string, nodeId: string): ConversationSessions {
	return {
		keptIn: 'memory',
		async find() {
			const messages = await memory.chatHistory.getMessages();
			const mine = messages.map(mappingOf).filter((m) => m?.workflowId === workflowId && m.nodeId === nodeId);
			return { sessionId: mine[mine.length - 1]?.sessionId, earlierMessages: messages.length > 0 };
		},
		async remember(sessionId) {
			await memory.chatHistory.addMessage(mappingMessage({ workflowId, nodeId, sessionId }));
		},
		async record(message, reply) {
			if (message && reply) await memory.saveContext?.({ input: message }, { output: reply });
		},
	};
}

// ---- in the workflow's static data --------------------------------------------------------------------------

/** The conversations of one node of one workflow as this process knows them, and the runs it has open. */
interface ProcessRecord {
	entries: Map<string, Entry>;
	runs: Array<WeakRef<IDataObject>>;
}

const processRecords = new Map<string, ProcessRecord>();

function processRecord(key: string): ProcessRecord {
	let record = processRecords.get(key);
	if (!record) processRecords.set(key, (record = { entries: new Map(), runs: [] }));
	return record;
}

function entriesOf(staticData: IDataObject): Record<string, Entry> {
	const value = staticData[STATIC_KEY];
	return value && typeof value === 'object' ? (value as Record<string, Entry>) : {};
}

/** The newest `MAX_CONVERSATIONS` entries. */
function pruned(entries: Record<string, Entry>): Record<string, Entry> {
	const list = Object.entries(entries);
	if (list.length <= MAX_CONVERSATIONS) return entries;
	return Object.fromEntries(list.sort(([, a], [, b]) => b.at - a.at).slice(0, MAX_CONVERSATIONS));
}

/**
 * Writes the entries into one run's static data. Assigned whole: n8n notices a change of the node's static data
 * object itself (its ObservableObject), not of an object put inside it during the run.
 */
function writeInto(staticData: IDataObject, add: Record<string, Entry>): void {
	const current = entriesOf(staticData);
	if (Object.entries(add).every(([id, entry]) => current[id]?.sessionId === entry.sessionId && current[id].at >= entry.at)) return;
	staticData[STATIC_KEY] = pruned({ ...current, ...add });
}

function inStaticData(ctx: IExecuteFunctions, processKey: string, conversationId: string): ConversationSessions {
	const staticData = ctx.getWorkflowStaticData('node');
	const record = processRecord(processKey);
	record.runs = record.runs.filter((run) => run.deref() !== undefined && run.deref() !== staticData);
	record.runs.push(new WeakRef(staticData));
	// This run's copy may predate conversations another run of this process added (and may have lost on save).
	for (const [id, entry] of Object.entries(entriesOf(staticData))) {
		if ((record.entries.get(id)?.at ?? -1) < entry.at) record.entries.set(id, entry);
	}
	const missing = Object.fromEntries([...record.entries].filter(([id, entry]) => entriesOf(staticData)[id]?.sessionId !== entry.sessionId));
	if (Object.keys(missing).length) writeInto(staticData, missing);
	return {
		keptIn: 'workflowStaticData',
		async find() {
			return { sessionId: record.entries.get(conversationId)?.sessionId };
		},
		async remember(sessionId) {
			const entry: Entry = { sessionId, at: Date.now() };
			record.entries.set(conversationId, entry);
			for (const run of record.runs) {
				const data = run.deref();
				if (data) writeInto(data, { [conversationId]: entry });
			}
		},
		async record() {},
	};
}

/**
 * The store of this node's conversation: the connected chat memory when there is one, else the workflow's
 * static data. `conversationId` is the Chat Trigger's `sessionId`.
 */
export async function conversationSessions(
	ctx: IExecuteFunctions,
	itemIndex: number,
	conversationId: string,
): Promise<ConversationSessions> {
	const node = ctx.getNode();
	const workflowId = String(ctx.getWorkflow().id ?? '');
	// The tool variant n8n makes of the node has no inputs (convertNodeToAiTool): no memory to ask for.
	const memory = isToolMode(ctx) ? undefined : await ctx.getInputConnectionData(NodeConnectionTypes.AiMemory, itemIndex);
	if (memory !== undefined && memory !== null) {
		if (!isChatMemory(memory)) throw new Error('The node connected to "Memory" is not a chat memory');
		return inMemory(memory, workflowId, node.id);
	}
	return inStaticData(ctx, `${workflowId}/${node.id}`, conversationId);
}
