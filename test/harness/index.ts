/**
 * The fast suite's n8n: workflows run through n8n-core's real WorkflowExecute (workflow.ts) with the package's
 * node types (node-types.ts), an in-memory credential store applying preAuthentication as n8n does
 * (credential-store.ts), n8n's credential test (credential-test.ts) and binary data store (binary.ts). The nodes
 * as AI tools: tool-call.ts.
 */
export { initBinaryData, readBinary } from './binary';
export { CredentialStore } from './credential-store';
export { testCredential } from './credential-test';
export { NodeTypes, PACKAGE } from './node-types';
export { Harness, SavedWorkflow } from './workflow';
export type { WorkflowRun, WorkflowSpec } from './workflow';
