import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { REGISTER_URL } from '../shared/constants';
import { credentials, nodeIcon, toolDescriptionProperty } from '../shared/descriptions';
import { runPerItem } from '../shared/itemLoop';
import { numberParameter } from '../shared/parameters';
import { credits } from '../shared/transport/api';
import type { NemoVideoClient } from '../shared/transport/client';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Reads the NemoVideo credit balance: available, frozen (held by work in progress) and total. Free. Costs of the other NemoVideo tools: about 100 credits for a generated clip (Photo to Video, or Generate making a video), about 50 for an edit with Generate; Upload, Get State and Export & Wait are free. Check it before Photo to Video or Generate.';

const minimumCreditsProperty: INodeProperties = {
	displayName: 'Minimum Credits',
	name: 'minimumCredits',
	type: 'number',
	typeOptions: { minValue: 0 },
	default: 0,
	description:
		'Stop when fewer credits than this are available (0 = never): the item fails, or goes out empty, as "When Below Minimum" says. A generated clip costs about 100 credits, an editing session about 50; export is free.',
};

const whenBelowMinimumProperty: INodeProperties = {
	displayName: 'When Below Minimum',
	name: 'whenBelowMinimum',
	type: 'options',
	default: 'fail',
	options: [
		{
			name: 'Fail',
			value: 'fail',
			description: 'The item fails with a message saying how many credits are left',
		},
		{
			name: 'Stop Without Output',
			value: 'stop',
			description:
				'No item goes out, so the nodes after this one do not run; the execution succeeds and a notice on the output says why',
		},
	],
	description: 'What happens when fewer credits than "Minimum Credits" are available',
};

export class NemoVideoCredits implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Credits',
		name: 'nemoVideoCredits',
		icon: nodeIcon,
		group: ['input'],
		version: 1,
		subtitle: 'Check credit balance',
		description: 'Read the NemoVideo credit balance: available, frozen and total',
		defaults: { name: 'NemoVideo Credits' },
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			minimumCreditsProperty,
			whenBelowMinimumProperty,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runPerItem(this, async (itemIndex, client) => {
			const minimum = numberParameter(this, minimumCreditsProperty, itemIndex);
			const balance = await credits(client, { itemIndex });
			if (minimum > 0 && balance.available < minimum) return await belowMinimum(this, client, itemIndex, balance.available, minimum);
			const sessionId = this.getInputData()[itemIndex]?.json.sessionId;
			return { ...balance, ...(sessionId ? { sessionId } : {}) };
		});
	}
}

/** Fewer credits than the minimum: the item fails (the default), or goes out empty with a notice on the output. */
async function belowMinimum(
	ctx: IExecuteFunctions,
	client: NemoVideoClient,
	itemIndex: number,
	available: number,
	minimum: number,
): Promise<INodeExecutionData[]> {
	const below = `Only ${available} NemoVideo credits available, fewer than the minimum of ${minimum}`;
	if (ctx.getNodeParameter('whenBelowMinimum', itemIndex, 'fail') === 'stop') {
		// A clean stop for a scheduled run: nothing after this node runs to spend credits, and the run is no failure.
		ctx.addExecutionHints({
			message: `${below}: stopped here without output (When Below Minimum = Stop Without Output)`,
			type: 'warning',
			location: 'outputPane',
		});
		return [];
	}
	const auth = await client.tokens.get();
	throw new NodeOperationError(ctx.getNode(), below, {
		itemIndex,
		description: auth.anonymous
			? `The free anonymous token is running out. Register to get more credits: ${REGISTER_URL}?bind=${encodeURIComponent(auth.userId ?? '')}`
			: 'Top up credits in your NemoVideo account, or lower "Minimum Credits".',
	});
}
