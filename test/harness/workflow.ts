/**
 * Runs workflows through n8n-core's real WorkflowExecute, with this package's nodes and credential, the way n8n
 * does, minus its database: a Manual Trigger, then the given nodes in a line, each one's output the next one's
 * input. Credentials live in memory (credential-store.ts); `testCredential` is n8n's credential test.
 */
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	IConnections,
	IDataObject,
	INode,
	INodeExecutionData,
	IRun,
	IRunExecutionData,
	NodeConnectionType,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { Workflow, createRunExecutionData } from 'n8n-workflow';

import { initBinaryData } from './binary';
import { CredentialStore } from './credential-store';
import { testCredential } from './credential-test';
import { recordSeen } from './leak-record';
import { NodeTypes, PACKAGE } from './node-types';
import { additionalDataFor, newExecutionId, withDefaultParameters } from './workflow-data';

/**
 * A workflow as n8n's database keeps it between runs, shared by Harness instances (a new Harness per run is "the
 * next execution", as a restart or another process would run it): its id and its static data as JSON, loaded as
 * a copy when a run starts and saved by the end-of-run hook unless the run was manual (n8n
 * execution-lifecycle-hooks.js hookFunctionsSave); a cancelled run's hook never runs.
 */
export class SavedWorkflow {
	private static count = 0;

	staticData = '{}';

	constructor(readonly id = `wf-saved-${++SavedWorkflow.count}`) {}

	/** How many runs saved it. */
	saves = 0;

	/** The node's static data as saved (`node:<name>`), parsed. */
	nodeData(nodeName: string): Record<string, unknown> | undefined {
		return (JSON.parse(this.staticData) as Record<string, Record<string, unknown>>)[`node:${nodeName}`];
	}
}

export interface WorkflowSpec {
	/** The package's nodes, in order: each one's output is the next one's input. */
	nodes: Array<{
		type: string;
		name?: string;
		parameters: Record<string, unknown>;
		continueOnFail?: boolean;
		/** n8n's Retry On Fail: the engine runs the node again (at most `maxTries` times) when it fails. */
		retryOnFail?: boolean;
		maxTries?: number;
		waitBetweenTries?: number;
	}>;
	/** Sub-nodes (a chat memory): each supplies the node at `to` (an index of `nodes`) through `connection`. */
	subNodes?: Array<{ type: string; name: string; parameters: Record<string, unknown>; to: number; connection: NodeConnectionType }>;
	/** What the trigger emits (json and binary). */
	input?: INodeExecutionData[];
	credentialId?: string;
	mode?: WorkflowExecuteMode;
	/** The workflow's id: its static data is kept under it between runs (Harness.workflow), as n8n's database does. */
	workflowId?: string;
	/** The workflow as saved (its id and static data): one of this Harness's, or one shared by several. */
	saved?: SavedWorkflow;
	/**
	 * The Chat Trigger's Response Mode "Streaming": n8n's `streamingEnabled` and a `sendChunk` handler, as
	 * workflow-runner.js adds it (n8n 2.41.1); the chunks are recorded in `WorkflowRun.chunks`.
	 */
	streaming?: boolean;
}

/** One chunk as n8n writes it to the chat's response (a JSON line), with when it came. */
export interface RecordedChunk {
	type: string;
	content?: string;
	metadata: { nodeName: string; itemIndex: number; runIndex: number; timestamp: number };
	receivedAt: number;
}

export interface WorkflowRun {
	run: IRun;
	/** Output items of a node, by its name (default: the last node). */
	output(nodeName?: string): INodeExecutionData[];
	/** The error of the run, if a node failed. */
	error: (Error & { description?: string; context?: Record<string, unknown> }) | undefined;
	lastNodeName: string;
	/** What the streaming chat received (`spec.streaming`), in order. */
	chunks: RecordedChunk[];
}

export class Harness {
	readonly credentials: CredentialStore;

	readonly nodeTypes = new NodeTypes();

	/**
	 * The workflows as n8n's database keeps them, by id: each one's static data loaded as a copy when a run starts,
	 * saved whole when a run that changed it ends, except in manual runs (SavedWorkflow;
	 * workflow-static-data.service.js overwrites the whole object: of two overlapping runs the last one wins).
	 */
	readonly workflows: Map<string, SavedWorkflow>;

	/**
	 * `credentials` and `workflows`: stores shared with another Harness, as n8n's database is shared by the workers
	 * of a queue and kept across a restart.
	 */
	constructor(options: { credentials?: CredentialStore; workflows?: Map<string, SavedWorkflow> } = {}) {
		this.credentials = options.credentials ?? new CredentialStore();
		this.workflows = options.workflows ?? new Map();
	}

	/** The workflow saved under this id (a new, empty one the first time). */
	workflow(id: string): SavedWorkflow {
		let saved = this.workflows.get(id);
		if (!saved) this.workflows.set(id, (saved = new SavedWorkflow(id)));
		return saved;
	}

	/** Starts a workflow and returns a handle that can cancel it, as n8n's "stop execution" does. */
	start(spec: WorkflowSpec): { done: Promise<WorkflowRun>; cancel: () => void; executionId: string } {
		const credentialId = spec.credentialId ?? 'cred-1';
		const nodes: INode[] = [
			{
				id: 'trigger',
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			...spec.nodes.map((node, index) => ({
				id: `node-${index}`,
				name: node.name ?? `Node ${index + 1}`,
				type: node.type.includes('.') ? node.type : `${PACKAGE}.${node.type}`,
				typeVersion: 1,
				position: [200 * (index + 1), 0] as [number, number],
				parameters: node.parameters as INode['parameters'],
				continueOnFail: node.continueOnFail,
				retryOnFail: node.retryOnFail,
				maxTries: node.maxTries,
				waitBetweenTries: node.waitBetweenTries,
				...(node.type.startsWith('test.')
					? {}
					: { credentials: { nemoVideoApi: { id: credentialId, name: 'NemoVideo test credential' } } }),
			})),
		];
		const subNodes: INode[] = (spec.subNodes ?? []).map((sub, index) => ({
			id: `sub-${index}`,
			name: sub.name,
			type: sub.type,
			typeVersion: 1,
			position: [200 * (sub.to + 1), 200] as [number, number],
			parameters: sub.parameters as INode['parameters'],
		}));
		const connections: IConnections = {};
		for (let index = 0; index < nodes.length - 1; index++) {
			connections[nodes[index].name] = {
				main: [[{ node: nodes[index + 1].name, type: 'main', index: 0 }]],
			};
		}
		(spec.subNodes ?? []).forEach((sub) => {
			connections[sub.name] = { [sub.connection]: [[{ node: nodes[sub.to + 1].name, type: sub.connection, index: 0 }]] };
		});
		nodes.push(...subNodes);
		withDefaultParameters(this.nodeTypes, nodes);
		const saved = spec.saved ?? this.workflow(spec.workflowId ?? 'wf-test');
		const workflowId = saved.id;
		const mode = spec.mode ?? 'manual';
		const workflow = new Workflow({
			id: workflowId,
			staticData: JSON.parse(saved.staticData) as IDataObject,
			name: 'test',
			nodes,
			connections,
			active: false,
			nodeTypes: this.nodeTypes,
			settings: { executionOrder: 'v1' },
		});

		const hooks = new ExecutionLifecycleHooks(mode, newExecutionId(), {
			id: workflowId,
			name: 'test',
			nodes,
			connections,
			active: false,
			activeVersionId: null,
			isArchived: false,
			createdAt: new Date(),
			updatedAt: new Date(),
		} as never);
		let resolveFinished: (run: IRun) => void = () => {};
		const finished = new Promise<IRun>((resolve) => (resolveFinished = resolve));
		hooks.addHandler('workflowExecuteAfter', (run, newStaticData) => {
			if (newStaticData && mode !== 'manual') {
				saved.staticData = JSON.stringify(newStaticData);
				saved.saves++;
			}
			resolveFinished(run);
		});

		const additionalData = additionalDataFor(this.credentials, hooks, workflowId);
		const chunks: RecordedChunk[] = [];
		if (spec.streaming) {
			additionalData.streamingEnabled = true;
			hooks.addHandler('sendChunk', (chunk) => {
				const line = JSON.parse(JSON.stringify(chunk)) as Omit<RecordedChunk, 'receivedAt'>;
				chunks.push({ ...line, receivedAt: Date.now() });
			});
		}

		const runExecutionData: IRunExecutionData = createRunExecutionData({
			executionData: {
				nodeExecutionStack: [
					{ node: nodes[0], data: { main: [spec.input ?? [{ json: {} }]] }, source: null },
				],
			},
		});

		const execution = new WorkflowExecute(additionalData, mode, runExecutionData);
		const lastNodeName = nodes[nodes.length - 1 - subNodes.length].name;
		const promise = execution.processRunExecutionData(workflow);
		const done = (async () => {
			await initBinaryData();
			let run: IRun;
			try {
				run = await promise;
			} catch {
				run = await finished;
			}
			const runData = run.data.resultData.runData;
			recordSeen('run.error', run.data.resultData.error ?? null);
			for (const [name, tasks] of Object.entries(runData)) {
				for (const task of tasks) recordSeen(`output ${name}`, { json: task.data?.main?.[0]?.map((item) => item.json), error: task.error });
			}
			return {
				run,
				lastNodeName,
				error: run.data.resultData.error as WorkflowRun['error'],
				chunks,
				output: (nodeName = lastNodeName) => runData[nodeName]?.[0]?.data?.main?.[0] ?? [],
			};
		})();
		return { done, cancel: () => promise.cancel(), executionId: hooks.executionId };
	}

	/** n8n's credential test (the editor's "Retry" / save) of a stored credential: see credential-test.ts. */
	async testCredential(
		credentialId: string,
		changes: ICredentialDataDecryptedObject = {},
	): Promise<{ status: 'OK' | 'Error'; message: string }> {
		return await testCredential(this.credentials, credentialId, changes);
	}

	async run(spec: WorkflowSpec): Promise<WorkflowRun> {
		await initBinaryData();
		return await this.start(spec).done;
	}
}
