/**
 * Runs workflows through n8n-core's real WorkflowExecute, with this package's nodes and credential, the way
 * n8n does, minus its database: credentials live in memory and preAuthentication is applied as n8n's
 * credentials helper applies it (hidden `expirable` field; the result is stored back into the credential).
 * `testCredential` is n8n's credential test (the editor's "Retry" / save): the same route through RoutingNode.
 */
import { BinaryDataService, ExecuteContext, ExecutionLifecycleHooks, RoutingNode, WorkflowExecute } from 'n8n-core';
import type {
	ICredentialsDecrypted,
	IBinaryData,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
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
import { ICredentialsHelper, NodeHelpers, Workflow, createEmptyRunExecutionData, createRunExecutionData } from 'n8n-workflow';

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

	/** How many times each execution read a stored credential (getDecrypted), by execution id. */
	readonly reads = new Map<string, number>();

	// The same rule as n8n's CredentialsHelper.preAuthentication (n8n/dist/credentials-helper.js): it runs when the
	// expirable field is empty, when the caller says the credential expired, and on every credential test (a
	// `noOp` node whose `temp` parameter is ''). What it returns is merged into the stored data and persisted.
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
		const isTestingCredentials = node?.parameters?.temp === '' && node?.type === 'n8n-nodes-base.noOp';
		if (credentials[expirable.name] !== '' && !credentialsExpired && !isTestingCredentials) return undefined;
		const output = await type.preAuthentication.call(helpers, credentials);
		if (output[expirable.name] === undefined) return undefined;
		const details = node.credentials?.[typeName];
		if (!details) return undefined;
		await this.updateCredentials(details, typeName, { ...this.get(details.id!), ...output } as ICredentialDataDecryptedObject);
		return Object.assign(credentials, output);
	}

	async runPreAuthentication(): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	getCredentialsProperties() {
		return [];
	}

	async getDecrypted(
		additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
	): Promise<ICredentialDataDecryptedObject> {
		if (!nodeCredentials.id || !this.data.has(nodeCredentials.id)) {
			throw new Error(`Credential ${nodeCredentials.id} not found`);
		}
		const execution = String(additionalData.executionId);
		this.reads.set(execution, (this.reads.get(execution) ?? 0) + 1);
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

/** Execution ids unique across harnesses, also those of a second module copy ("another process"). */
const harnessCopy = Math.random().toString(36).slice(2, 8);
let executionCount = 0;

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
	readonly credentials: CredentialStore;

	readonly nodeTypes = new NodeTypes();

	/** `credentials`: a store shared with another Harness, as n8n's database is shared by the workers of a queue. */
	constructor(options: { credentials?: CredentialStore } = {}) {
		this.credentials = options.credentials ?? new CredentialStore();
	}

	private additionalData(hooks: ExecutionLifecycleHooks): IWorkflowExecuteAdditionalData {
		return {
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

		const hooks = new ExecutionLifecycleHooks(spec.mode ?? 'manual', `exec-${harnessCopy}-${++executionCount}`, {
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

		const additionalData = this.additionalData(hooks);

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
		return { done, cancel: () => promise.cancel(), executionId: hooks.executionId };
	}

	/**
	 * n8n's credential test, as CredentialsTester.runRequestTest (n8n/dist/services/credentials-tester.service.js)
	 * runs it: the credential type's `test.request` as the routing of a `temp` parameter of a `noOp` node, through
	 * n8n-core's RoutingNode, with the credential's data as tested (`changes` are unsaved edits in the editor).
	 */
	async testCredential(
		credentialId: string,
		changes: ICredentialDataDecryptedObject = {},
	): Promise<{ status: 'OK' | 'Error'; message: string }> {
		const type = this.credentials.types.getByName('nemoVideoApi');
		const testRequest = type.test;
		if (!testRequest) throw new Error('the credential type has no test');
		const tested: ICredentialsDecrypted = {
			id: credentialId,
			name: 'NemoVideo test credential',
			type: type.name,
			data: { ...this.credentials.get(credentialId), ...changes },
		};
		const node: INode = {
			id: 'temp',
			parameters: {},
			name: 'Temp-Node',
			type: 'n8n-nodes-base.noOp',
			typeVersion: 1,
			position: [0, 0],
			credentials: { [type.name]: { id: credentialId, name: tested.name } },
		};
		const nodeType = credentialTestNodeType(type.name, testRequest.request);
		const nodeTypes: INodeTypes = {
			getByName: () => nodeType,
			getByNameAndVersion: () => nodeType,
			getKnownTypes: () => ({}),
		};
		const workflow = new Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
		const hooks = new ExecutionLifecycleHooks('internal', `test-${Date.now()}`, { id: 'wf-test' } as never);
		const additionalData = this.additionalData(hooks);
		// As n8n does: the node reads the credential as tested, not as stored.
		const stored = this.credentials;
		additionalData.credentialsHelper = new Proxy(stored, {
			get(target, prop) {
				if (prop === 'getDecrypted') return async () => tested.data ?? {};
				const value = Reflect.get(target, prop) as unknown;
				return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
			},
		});
		const context = new ExecuteContext(
			workflow,
			node,
			additionalData,
			'internal',
			createEmptyRunExecutionData(),
			0,
			[],
			{ main: [[{ json: {} }]] },
			{ node, data: {}, source: null },
			[],
		);
		const result = await credentialTestVerdict(new RoutingNode(context, nodeType, tested), testRequest, workflow);
		recordSeen('credential test', result);
		return result;
	}

	async run(spec: WorkflowSpec): Promise<WorkflowRun> {
		await initBinaryData();
		return await this.start(spec).done;
	}
}

/** The node n8n's credential tester builds: a noOp whose only parameter carries the test request as its routing. */
function credentialTestNodeType(credentialType: string, request: ICredentialTestRequest['request']): INodeType {
	return {
		description: {
			displayName: 'No Operation, do nothing',
			name: 'n8n-nodes-base.noOp',
			group: ['organization'],
			version: 1,
			description: '',
			defaults: { name: 'No Operation, do nothing' },
			inputs: ['main'],
			outputs: ['main'],
			credentials: [{ name: credentialType, required: true }],
			properties: [{ displayName: 'Temp', name: 'temp', type: 'string', routing: { request }, default: '' }],
		},
	};
}

/** The verdict rules of CredentialsTester.runRequestTest, in its order. */
async function credentialTestVerdict(
	routingNode: RoutingNode,
	testRequest: ICredentialTestRequest,
	workflow: Workflow,
): Promise<{ status: 'OK' | 'Error'; message: string }> {
	let response: INodeExecutionData[][] | null | undefined;
	try {
		await workflow.expression.acquireIsolate();
		response = (await routingNode.runNode()) as INodeExecutionData[][] | null | undefined;
	} catch (caught) {
		const error = caught as Error & { cause?: { response?: { status: number; statusText?: string }; code?: string } };
		const status = error.cause?.response?.status;
		if (status !== undefined) {
			for (const rule of testRequest.rules ?? []) {
				if (rule.type === 'responseCode' && rule.properties.value === status) {
					return { status: 'Error', message: rule.properties.message };
				}
			}
			if (status < 199 || status > 299) {
				return { status: 'Error', message: error.cause?.response?.statusText || `Received HTTP status code: ${status}` };
			}
		} else if (error.cause?.code) {
			return { status: 'Error', message: error.cause.code };
		}
		return { status: 'Error', message: String(error.message) };
	} finally {
		await workflow.expression.releaseIsolate();
	}
	for (const rule of testRequest.rules ?? []) {
		if (rule.type !== 'responseSuccessBody') continue;
		const body = (response?.[0]?.[0]?.json ?? {}) as Record<string, unknown>;
		if (body[rule.properties.key] === rule.properties.value) return { status: 'Error', message: rule.properties.message };
	}
	return { status: 'OK', message: 'Connection successful!' };
}
