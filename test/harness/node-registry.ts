import type { INodeType } from 'n8n-workflow';

/** The pipeline nodes, registered here as they are added. */
export function extraNodeTypes(): INodeType[] {
	return [];
}
