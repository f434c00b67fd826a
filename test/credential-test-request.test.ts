/**
 * The credential's test request (what n8n sends when the credential is saved or tested) goes to the Base URL the
 * node itself calls: the credential field as normaliseBaseUrl reads it (trimmed, no trailing slash), written once
 * in nodes/shared/transport/auth.ts for both the code and n8n's expression.
 */
import { withEmulator } from './fixtures';

const TOKEN = 'nmv_usr_credential_test_request_1';

const fixture = withEmulator({ ownToken: TOKEN });

test('a Base URL typed with spaces around it and a trailing slash is tested where the node calls', async () => {
	const { emu, harness } = fixture;
	const result = await harness.testCredential('cred-1', { baseUrl: `  ${emu.baseUrl}//  ` });
	expect(result).toEqual({ status: 'OK', message: 'Connection successful!' });
	expect(emu.requestsTo('credits').map((request) => request.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
});
