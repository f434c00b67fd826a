/**
 * Runs workflows through n8n-core's real WorkflowExecute, with this package's nodes and credential, the way n8n
 * does, minus its database: a Manual Trigger, then the given nodes in a line, each one's output the next one's
 * input. Credentials live in memory (credential-store.ts); `testCredential` is n8n's credential test.
 */
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	IConnections,
	INode,
	INodeExecutionData,
	IRun,
	IRunExecutionData,
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
 * A workflow as n8n's database keeps it between runs, as far as runs share it: its id and its static data, as
 * JSON. A run loads a copy when it starts; n8n-core hands the changed object to the end-of-run hook, which saves it
 * unless the run was manual (n8n execution-lifecycle-hooks.js hookFunctionsSave); a cancelled run's hook never
 * runs. A new Harness per run with the same SavedWorkflow is "the next execution".
 */
export class SavedWorkflow {
	private static count = 0;

	readonly id = `wf-saved-${++SavedWorkflow.count}`;

	staticData = '{}';

	/** How many runs saved it. */
	saves = 0;

	/** The node's static data as saved (`node:<name>`), parsed. */
	nodeData(nodeName: string): Record<string, unknown> | undefined {
		return (JSON.parse(this.staticData) as Record<string, Record<string, unknown>>)[`node:${nodeName}`];
	}
}

export interface WorkflowSpec {
	/** The package's nodes, in order: each one's output is the next one's input. */
	nodes: Array<{ type: string; name?: string; parameters: Record<string, unknown>; continueOnFail?: boolean }>;
	/** What the trigger emits (json and binary). */
	input?: INodeExecutionData[];
	credentialId?: string;
	mode?: WorkflowExecuteMode;
	/** The saved workflow this run loads its static data from and saves it into, as n8n does. */
	saved?: SavedWorkflow;
}

export interface WorkflowRun {
	run: IRun;
	/** Output items of a node, by its name (default: the last node). */
	output(nodeName?: string): INodeExecutionData[];
	/** The error of the run, if a node failed. */
	error: (Error & { description?: string; context?: Record<string, unknown> }) | undefined;
	lastNodeName: string;
}

export class Harness {
	readonly credentials: CredentialStore;

	readonly nodeTypes = new NodeTypes();

	/** `credentials`: a store shared with another Harness, as n8n's database is shared by the workers of a queue. */
	constructor(options: { credentials?: CredentialStore } = {}) {
		this.credentials = options.credentials ?? new CredentialStore();
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
				...(node.type.startsWith('test.')
					? {}
					: { credentials: { nemoVideoApi: { id: credentialId, name: 'NemoVideo test credential' } } }),
			})),
		];
		const connections: IConnections = {};
		for (let index = 0; index < nodes.length - 1; index++) {
			connections[nodes[index].name] = {
				main: [[{ node: nodes[index + 1].name, type: 'main', index: 0 }]],
			};
		}
		withDefaultParameters(this.nodeTypes, nodes);
		const workflowId = spec.saved?.id ?? 'wf-test';
		const mode = spec.mode ?? 'manual';
		const workflow = new Workflow({
			id: workflowId,
			name: 'test',
			nodes,
			connections,
			active: false,
			nodeTypes: this.nodeTypes,
			settings: { executionOrder: 'v1' },
			staticData: spec.saved ? JSON.parse(spec.saved.staticData) : undefined,
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
			if (spec.saved && newStaticData && mode !== 'manual') {
				spec.saved.staticData = JSON.stringify(newStaticData);
				spec.saved.saves++;
			}
			resolveFinished(run);
		});

		const additionalData = additionalDataFor(this.credentials, hooks, workflowId);

		const runExecutionData: IRunExecutionData = createRunExecutionData({
			executionData: {
				nodeExecutionStack: [
					{ node: nodes[0], data: { main: [spec.input ?? [{ json: {} }]] }, source: null },
				],
			},
		});

		const execution = new WorkflowExecute(additionalData, mode, runExecutionData);
		const lastNodeName = nodes[nodes.length - 1].name;
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
