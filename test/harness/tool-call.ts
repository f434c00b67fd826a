/**
 * Runs the package's nodes as AI tools through n8n-core, the way n8n 2.41.1 does:
 *
 * - The tool type: n8n's NodeTypes.getByNameAndVersion (n8n/dist/node-types.js) answers a `<name>Tool` type it
 *   does not know by cloning the base node type and passing it to convertNodeToAiTool
 *   (n8n/dist/tool-generation/ai-tools.js): name + 'Tool', no inputs, one `ai_tool` output, display name +
 *   ' Tool', no `usableAsTool`, a `toolDescription` property. `asToolType` does the same to a copy; the
 *   node's own `execute` runs unchanged.
 * - The MCP Server Trigger (@n8n/n8n-nodes-langchain McpTrigger) gets its tools with
 *   `getInputConnectionData('ai_tool', 0)`: n8n-core's real get-input-connection-data.js wraps the tool node
 *   with createNodeAsTool / makeHandleToolInvocation (a SupplyDataContext whose input is the one item of tool
 *   arguments), and its DirectExecutionStrategy calls `tool.invoke(args)`. Its MessageFormatter makes the
 *   client's text: the returned string as is, or `${error.name}: ${error.message}` for a thrown error. The
 *   stand-in node below does exactly that, one tool call per execution (each MCP call is its own request).
 * - The AI Agent's engine-request path (n8n-core requests-response.js) runs the tool node as a workflow node
 *   (a plain ExecuteContext) under its `…Tool` type, with the tool arguments as its input item:
 *   `registerToolTypes` lets `Harness.run` do that.
 */
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	IConnections,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	IRun,
} from 'n8n-workflow';
import { NodeConnectionTypes, Workflow, createRunExecutionData } from 'n8n-workflow';

import { initBinaryData } from './binary';
import { recordSeen } from './leak-record';
import { PACKAGE } from './node-types';
import type { Harness } from './workflow';
import { additionalDataFor, newExecutionId, withDefaultParameters } from './workflow-data';

/** A copy of a node type as n8n 2.41.1 turns it into its tool variant (see the file comment). */
export function asToolType(type: INodeType): INodeType {
	const base = type.description;
	const description = {
		...base,
		properties: [...base.properties],
		name: `${base.name}Tool`,
		displayName: `${base.displayName} Tool`,
		inputs: [],
		outputs: [NodeConnectionTypes.AiTool],
	};
	delete description.usableAsTool;
	// As convertNodeToAiTool: a Description property only when the node has none, defaulting to the node's
	// description (n8n applies usableAsTool.replacements only to the editor's types file, not at run time).
	if (!description.properties.some((property) => property.name === 'toolDescription')) {
		const toolDescription: INodeProperties = {
			displayName: 'Description',
			name: 'toolDescription',
			type: 'string',
			default: base.description,
			required: true,
			typeOptions: { rows: 2 },
		};
		description.properties.unshift(toolDescription);
	}
	const tool = Object.create(type) as INodeType;
	Object.defineProperty(tool, 'description', { value: description });
	return tool;
}

/** The description the editor writes into a new tool node: the `usableAsTool.replacements` one (ai-tools.js createAiTools). */
export function editorToolDescription(type: INodeType): string {
	const usable = type.description.usableAsTool;
	return (typeof usable === 'object' && usable.replacements?.description) || type.description.description;
}

/** Registers `<package>.<name>Tool` for every package node, as n8n's node types answer it. */
export function registerToolTypes(harness: Harness): void {
	for (const [name, type] of Object.entries(harness.nodeTypes.types)) {
		if (name.startsWith(`${PACKAGE}.`) && !name.endsWith('Tool')) harness.nodeTypes.types[`${name}Tool`] = asToolType(type);
	}
}

/** The stand-in for the MCP Server Trigger: gets its tools from n8n-core and calls the first with `args`. */
const mcpServer: INodeType = {
	description: {
		displayName: 'MCP Server (test)',
		name: 'mcpServer',
		group: ['trigger'],
		version: 1,
		description: '',
		defaults: { name: 'MCP Server' },
		inputs: [NodeConnectionTypes.Main, { type: NodeConnectionTypes.AiTool, displayName: 'Tools' }],
		outputs: [NodeConnectionTypes.Main],
		properties: [{ displayName: 'Arguments', name: 'args', type: 'json', default: '{}' }],
	},
	async execute(this: IExecuteFunctions) {
		const tools = (await this.getInputConnectionData(NodeConnectionTypes.AiTool, 0)) as Array<{
			name: string;
			description: string;
			invoke(args: unknown): Promise<string>;
		}>;
		const args = JSON.parse(String(this.getNodeParameter('args', 0))) as Record<string, unknown>;
		const [tool] = tools;
		try {
			const text = await tool.invoke(args);
			return [[{ json: { isError: false, text, toolName: tool.name, toolDescription: tool.description } }]];
		} catch (error) {
			const { name, message } = error as Error;
			return [[{ json: { isError: true, text: `${name}: ${message}`, toolName: tool.name, toolDescription: tool.description } }]];
		}
	},
};

export interface ToolCallSpec {
	/** A package node name, e.g. `nemoVideoPhotoToVideo` (its Tool variant runs). */
	type: string;
	name?: string;
	/** The tool node's parameters, `$fromAI(...)` expressions included. */
	parameters: Record<string, unknown>;
	/** What the MCP client sends. */
	args: Record<string, unknown>;
	credentialId?: string;
	continueOnFail?: boolean;
}

export interface ToolCallResult {
	/** The text block the MCP client receives. */
	text: string;
	isError: boolean;
	/** The parsed items (the text is a JSON array of the output items' json), when not an error. */
	items: Array<Record<string, unknown>>;
	toolName: string;
	toolDescription: string;
	run: IRun;
}

/** One MCP tool call, as its own execution. */
export async function callTool(harness: Harness, spec: ToolCallSpec): Promise<ToolCallResult> {
	await initBinaryData();
	harness.nodeTypes.types['test.mcpServer'] = mcpServer;
	registerToolTypes(harness);
	const toolType = `${PACKAGE}.${spec.type}Tool`;
	const toolName = spec.name ?? 'NemoVideo Tool';
	const nodes: INode[] = [
		{ id: 'trigger', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		{ id: 'mcp', name: 'MCP Server', type: 'test.mcpServer', typeVersion: 1, position: [200, 0], parameters: { args: JSON.stringify(spec.args) } },
		{
			id: 'tool',
			name: toolName,
			type: toolType,
			typeVersion: 1,
			position: [200, 200],
			// As a workflow saved by the editor or written by hand: parameters left at their defaults are absent.
			parameters: spec.parameters as INode['parameters'],
			continueOnFail: spec.continueOnFail,
			credentials: { nemoVideoApi: { id: spec.credentialId ?? 'cred-1', name: 'NemoVideo test credential' } },
		},
	];
	withDefaultParameters(harness.nodeTypes, nodes);
	const connections: IConnections = {
		Start: { main: [[{ node: 'MCP Server', type: NodeConnectionTypes.Main, index: 0 }]] },
		[toolName]: { ai_tool: [[{ node: 'MCP Server', type: NodeConnectionTypes.AiTool, index: 0 }]] },
	};
	const workflow = new Workflow({
		id: 'wf-tool',
		name: 'tool',
		nodes,
		connections,
		active: false,
		nodeTypes: harness.nodeTypes,
		settings: { executionOrder: 'v1' },
	});
	const hooks = new ExecutionLifecycleHooks('webhook', newExecutionId('exec-tool'), {
		id: 'wf-tool',
		name: 'tool',
		nodes,
		connections,
		active: true,
		activeVersionId: null,
		isArchived: false,
		createdAt: new Date(),
		updatedAt: new Date(),
	} as never);
	const additionalData = additionalDataFor(harness.credentials, hooks, 'wf-tool');
	const runExecutionData = createRunExecutionData({
		executionData: { nodeExecutionStack: [{ node: nodes[0], data: { main: [[{ json: {} }]] }, source: null }] },
	});
	const run = await new WorkflowExecute(additionalData, 'webhook', runExecutionData).processRunExecutionData(workflow);
	recordSeen('tool run.error', run.data.resultData.error ?? null);
	const output = run.data.resultData.runData['MCP Server']?.[0]?.data?.main?.[0]?.[0] as INodeExecutionData | undefined;
	if (!output) throw new Error(`The MCP stand-in produced no output: ${String(run.data.resultData.error?.message)}`);
	recordSeen('tool result', output.json);
	const text = String(output.json.text);
	const isError = output.json.isError === true;
	return {
		text,
		isError,
		items: isError ? [] : (JSON.parse(text) as Array<Record<string, unknown>>),
		toolName: String(output.json.toolName),
		toolDescription: String(output.json.toolDescription ?? ''),
		run,
	};
}
