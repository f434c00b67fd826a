/**
 * The credential store: a stand-in for n8n's database and CredentialsHelper, keyed by credential id.
 * preAuthentication is applied as n8n's credentials helper applies it (hidden `expirable` field; the result is
 * stored back into the credential), and every token written is recorded for the suite's leak check.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	ICredentialTypes,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	IWorkflowExecuteAdditionalData,
} from 'n8n-workflow';
import { ICredentialsHelper } from 'n8n-workflow';

import { NemoVideoApi } from '../../credentials/NemoVideoApi.credentials';
import { recordToken } from './leak-record';

const credentialTypeList: ICredentialType[] = [new NemoVideoApi()];

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
