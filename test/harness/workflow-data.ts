/**
 * What n8n-core needs around one execution, shared by the workflow runner (workflow.ts), the credential test
 * (credential-test.ts) and the AI tool call (tool-call.ts): the additional data n8n builds for every execution,
 * node parameters completed with their defaults as the editor saves them, and execution ids.
 */
import type { ExecutionLifecycleHooks } from 'n8n-core';
import type { ICredentialsHelper, INode, INodeType, IWorkflowExecuteAdditionalData } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

/** n8n's per-execution additional data, minus its database and sub-workflows (which these nodes do not use). */
export function additionalDataFor(
	credentialsHelper: ICredentialsHelper,
	hooks: ExecutionLifecycleHooks,
	workflowId = 'wf-test',
): IWorkflowExecuteAdditionalData {
	return {
		hooks,
		credentialsHelper,
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
		workflowId,
	} as unknown as IWorkflowExecuteAdditionalData;
}

/** Completes each node's parameters with the defaults of its type, as n8n does when it loads a workflow. */
export function withDefaultParameters(nodeTypes: { getByName(name: string): INodeType }, nodes: INode[]): void {
	for (const node of nodes) {
		const type = nodeTypes.getByName(node.type);
		const defaults = NodeHelpers.getNodeParameters(type.description.properties, node.parameters, true, false, node, type.description);
		node.parameters = { ...defaults, ...node.parameters } as INode['parameters'];
	}
}

/** Execution ids unique across harnesses, also those of a second module copy ("another process"). */
const moduleCopy = Math.random().toString(36).slice(2, 8);
let executionCount = 0;

export function newExecutionId(kind = 'exec'): string {
	return `${kind}-${moduleCopy}-${++executionCount}`;
}
