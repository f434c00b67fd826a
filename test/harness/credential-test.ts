/**
 * n8n's credential test (the editor's "Retry" / save), as CredentialsTester.runRequestTest
 * (n8n/dist/services/credentials-tester.service.js) runs it: the credential type's `test.request` as the routing of
 * a `temp` parameter of a `noOp` node, through n8n-core's RoutingNode, with the credential's data as tested.
 */
import { ExecuteContext, ExecutionLifecycleHooks, RoutingNode } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialsDecrypted,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypes,
} from 'n8n-workflow';
import { Workflow, createEmptyRunExecutionData } from 'n8n-workflow';

import type { CredentialStore } from './credential-store';
import { recordSeen } from './leak-record';
import { additionalDataFor } from './workflow-data';

/** Tests the stored credential `credentialId` with unsaved edits `changes` (as the editor sends them). */
export async function testCredential(
	store: CredentialStore,
	credentialId: string,
	changes: ICredentialDataDecryptedObject = {},
): Promise<{ status: 'OK' | 'Error'; message: string }> {
	const type = store.types.getByName('nemoVideoApi');
	const testRequest = type.test;
	if (!testRequest) throw new Error('the credential type has no test');
	const tested: ICredentialsDecrypted = {
		id: credentialId,
		name: 'NemoVideo test credential',
		type: type.name,
		data: { ...store.get(credentialId), ...changes },
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
	// As n8n does: the node reads the credential as tested, not as stored.
	const asTested = new Proxy(store, {
		get(target, prop) {
			if (prop === 'getDecrypted') return async () => tested.data ?? {};
			const value = Reflect.get(target, prop) as unknown;
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
		},
	});
	const additionalData = additionalDataFor(asTested, hooks);
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
