/**
 * Runs workflows through n8n-core's real WorkflowExecute, with this package's nodes and credential, the way
 * n8n does, minus its database: credentials live in memory and preAuthentication is applied as n8n's
 * credentials helper applies it (hidden `expirable` field; the result is stored back into the credential).
 */
import { BinaryDataService, ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	IBinaryData,
	ICredentialDataDecryptedObject,
	ICredentialType,
	ICredentialTypes,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeType,
	INodeTypes,
	IRun,
	IRunExecutionData,
	IWorkflowExecuteAdditionalData,
	IConnections,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { ICredentialsHelper, NodeHelpers, Workflow, createRunExecutionData } from 'n8n-workflow';

import { createReadStream } from 'node:fs';
import { basename } from 'node:path';

import { NemoVideoApi } from '../../credentials/NemoVideoApi.credentials';
import { NemoVideoCredits } from '../../nodes/NemoVideoCredits/NemoVideoCredits.node';
import { NemoVideoGetState } from '../../nodes/NemoVideoGetState/NemoVideoGetState.node';
import { recordSeen, recordToken } from './leak-record';
import { extraNodeTypes } from './node-registry';

export const PACKAGE = 'n8n-nodes-nemovideo';

const credentialTypeList: ICredentialType[] = [new NemoVideoApi()];

function packageNodes(): Record<string, INodeType> {
	const nodes: INodeType[] = [new NemoVideoCredits(), new NemoVideoGetState(), ...extraNodeTypes()];
	return Object.fromEntries(nodes.map((node) => [`${PACKAGE}.${node.description.name}`, node]));
}

class NodeTypes implements INodeTypes {
	readonly types: Record<string, INodeType> = { ...packageNodes(), ...builtInNodes() };

	getByName(name: string): INodeType {
		const type = this.types[name];
		if (!type) throw new Error(`Unknown node type ${name}`);
		return type;
	}

	getByNameAndVersion(name: string): INodeType {
		return this.getByName(name);
	}

	getKnownTypes() {
		return {};
	}
}

class CredentialTypes implements ICredentialTypes {
	recognizes(name: string) {
		return credentialTypeList.some((type) => type.name === name);
	}

	getByName(name: string): ICredentialType {
		const type = credentialTypeList.find((candidate) => candidate.name === name);
		if (!type) throw new Error(`Unknown credential type ${name}`);
		return type;
	}

	getSupportedNodes() {
		return [];
	}

	getParentTypes() {
		return [];
	}
}

/** The credential store: a stand-in for n8n's database, keyed by credential id. */
export class CredentialStore extends ICredentialsHelper {
	readonly data = new Map<string, ICredentialDataDecryptedObject>();

	readonly types = new CredentialTypes();

	/** Every write preAuthentication caused, as n8n would persist it. */
	readonly writes: Array<{ id: string; data: ICredentialDataDecryptedObject }> = [];

	set(id: string, data: ICredentialDataDecryptedObject) {
		const type = this.types.getByName('nemoVideoApi');
		const defaults = Object.fromEntries(type.properties.map((property) => [property.name, property.default]));
		recordToken(data.accessToken);
		recordToken(data.sessionToken);
		this.data.set(id, { ...defaults, ...data } as ICredentialDataDecryptedObject);
	}

	get(id: string): ICredentialDataDecryptedObject {
		return { ...(this.data.get(id) ?? {}) };
	}

	getParentTypes(): string[] {
		return [];
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const type = this.types.getByName(typeName);
		if (typeof type.authenticate === 'function') return await type.authenticate(credentials, requestOptions);
		return requestOptions;
	}

	// The same rule as n8n's CredentialsHelper.preAuthentication (packages/cli/src/credentials-helper.ts).
	async preAuthentication(
		helpers: IHttpRequestHelper,
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		node: INode,
		credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		const type = this.types.getByName(typeName);
		const expirable = type.properties.find(
			(property) => property.type === 'hidden' && property.typeOptions?.expirable === true,
		);
		if (!expirable || typeof type.preAuthentication !== 'function') return undefined;
		if (credentials[expirable.name] !== '' && !credentialsExpired) return undefined;
		const output = await type.preAuthentication.call(helpers, credentials);
		if (output[expirable.name] === undefined) return undefined;
		const details = node.credentials?.[typeName];
		if (details) await this.updateCredentials(details, typeName, Object.assign(credentials, output));
		return Object.assign(credentials, output);
	}

	async runPreAuthentication(): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	getCredentialsProperties() {
		return [];
	}

	async getDecrypted(
		_additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
	): Promise<ICredentialDataDecryptedObject> {
		if (!nodeCredentials.id || !this.data.has(nodeCredentials.id)) {
			throw new Error(`Credential ${nodeCredentials.id} not found`);
		}
		return this.get(nodeCredentials.id);
	}

	async getCredentials(): Promise<never> {
		throw new Error('not used by these nodes');
	}

	async updateCredentials(
		nodeCredentials: INodeCredentialsDetails,
		_type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		const id = nodeCredentials.id!;
		recordToken(data.sessionToken);
		this.data.set(id, { ...data });
		this.writes.push({ id, data: { ...data } });
	}

	async updateCredentialsOauthTokenData(): Promise<void> {}

	getOAuth2Options() {
		return undefined;
	}

	isCredentialUsableByNode() {
		return true;
	}
}

/** Manual Trigger and a pass-through "input" node that emits the items a test gives it. */
function builtInNodes(): Record<string, INodeType> {
	const manualTrigger: INodeType = {
		description: {
			displayName: 'Manual Trigger',
			name: 'manualTrigger',
			group: ['trigger'],
			version: 1,
			description: '',
			defaults: { name: 'Start' },
			inputs: [],
			outputs: ['main'],
			properties: [],
		},
		async execute() {
			return [this.getInputData()];
		},
	};
	// Reads files from disk into binary data the way n8n's Read/Write Files node does: streamed into the store.
	const readFiles: INodeType = {
		description: {
			displayName: 'Read Files',
			name: 'readFiles',
			group: ['input'],
			version: 1,
			description: '',
			defaults: { name: 'Read Files' },
			inputs: ['main'],
			outputs: ['main'],
			properties: [{ displayName: 'Paths', name: 'paths', type: 'json', default: '[]' }],
		},
		async execute() {
			const paths = JSON.parse(String(this.getNodeParameter('paths', 0))) as string[];
			const items: INodeExecutionData[] = [];
			for (const path of paths) {
				const name = basename(path);
				const binary = await this.helpers.prepareBinaryData(createReadStream(path), name);
				items.push({ json: { fileName: name }, binary: { data: binary }, pairedItem: { item: 0 } });
			}
			return [items];
		},
	};
	return { 'n8n-nodes-base.manualTrigger': manualTrigger, 'test.readFiles': readFiles };
}

// n8n-core's own copy of the DI container (another package here brings an older @n8n/di).
const { Container } = require(require.resolve('@n8n/di', { paths: [require.resolve('n8n-core')] })) as typeof import('@n8n/di');

let binaryReady: Promise<void> | undefined;

/** The bytes of a binary the nodes stored (from n8n's filesystem store). */
export async function readBinary(binary: IBinaryData): Promise<Buffer> {
	return await Container.get(BinaryDataService).getAsBuffer(binary);
}

export async function initBinaryData(): Promise<void> {
	binaryReady ??= Container.get(BinaryDataService).init();
	await binaryReady;
}

export interface WorkflowSpec {
	/** The package's nodes, in order: each one's output is the next one's input. */
	nodes: Array<{ type: string; name?: string; parameters: Record<string, unknown>; continueOnFail?: boolean }>;
	/** What the trigger emits (json and binary). */
	input?: INodeExecutionData[];
	credentialId?: string;
	mode?: WorkflowExecuteMode;
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
	readonly credentials = new CredentialStore();

	readonly nodeTypes = new NodeTypes();

	/** Starts a workflow and returns a handle that can cancel it, as n8n's "stop execution" does. */
	start(spec: WorkflowSpec): { done: Promise<WorkflowRun>; cancel: () => void } {
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
		for (const node of nodes) {
			const type = this.nodeTypes.getByName(node.type);
			const defaults = NodeHelpers.getNodeParameters(type.description.properties, node.parameters, true, false, node, type.description);
			node.parameters = { ...defaults, ...node.parameters } as INode['parameters'];
		}
		const workflow = new Workflow({
			id: 'wf-test',
			name: 'test',
			nodes,
			connections,
			active: false,
			nodeTypes: this.nodeTypes,
			settings: { executionOrder: 'v1' },
		});

		const hooks = new ExecutionLifecycleHooks(spec.mode ?? 'manual', `exec-${Date.now()}`, {
			id: 'wf-test',
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
		hooks.addHandler('workflowExecuteAfter', (run) => resolveFinished(run));

		const additionalData = {
			hooks,
			credentialsHelper: this.credentials,
			executeWorkflow: async () => {
				throw new Error('not supported');
			},
			getRunExecutionData: async () => undefined,
			getRuntimeCredential: async () => undefined,
			currentNodeExecutionIndex: 0,
			restApiUrl: 'http://localhost:5678/rest',
			instanceBaseUrl: 'http://localhost:5678/',
			formBaseUrl: 'http://localhost:5678/form',
			formWaitingBaseUrl: 'http://localhost:5678/form-waiting',
			formTestBaseUrl: 'http://localhost:5678/form-test',
			webhookBaseUrl: 'http://localhost:5678/webhook',
			webhookWaitingBaseUrl: 'http://localhost:5678/webhook-waiting',
			webhookTestBaseUrl: 'http://localhost:5678/webhook-test',
			mcpBaseUrl: 'http://localhost:5678/mcp',
			mcpTestBaseUrl: 'http://localhost:5678/mcp-test',
			variables: {},
			logAiEvent: () => {},
			startRunnerTask: async () => {
				throw new Error('not supported');
			},
			executionId: hooks.executionId,
			workflowId: 'wf-test',
		} as unknown as IWorkflowExecuteAdditionalData;

		const runExecutionData: IRunExecutionData = createRunExecutionData({
			executionData: {
				nodeExecutionStack: [
					{ node: nodes[0], data: { main: [spec.input ?? [{ json: {} }]] }, source: null },
				],
			},
		});

		const execution = new WorkflowExecute(additionalData, spec.mode ?? 'manual', runExecutionData);
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
		return { done, cancel: () => promise.cancel() };
	}

	async run(spec: WorkflowSpec): Promise<WorkflowRun> {
		await initBinaryData();
		return await this.start(spec).done;
	}
}
