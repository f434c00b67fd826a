import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import {
	concurrencyOption,
	credentials,
	nodeIcon,
	sessionIdRequired,
	toolDescriptionProperty,
	toolTimeoutOption,
} from '../shared/descriptions';
import { runPerItem } from '../shared/itemLoop';
import { exportSession } from '../shared/exportAndWait';
import {
	EXPORT_PARAMETER,
	exportProperties,
	exportSettings,
	fileNameOption,
	optionName,
	onTimeoutOption,
} from '../shared/exportParameters';
import { numberParameter } from '../shared/parameters';
import { requireSessionId, sessionIdParameter } from '../shared/session';
import { toolExportOverrides } from '../shared/toolMode';

/** What an agent reads about this tool (n8n's tool variant takes it as its description). */
const TOOL_DESCRIPTION =
	'Step 3 of 3: renders a NemoVideo session to an MP4 and returns its url. Free (no credits). Give the sessionId from NemoVideo Upload or Generate to start a render; or give the renderId of a render started earlier (by this tool or Photo to Video) to check it or wait again: then sessionId is not needed and nothing is rendered twice. Returns status (completed, pending or processing), progress, renderId, url, durationSeconds, summary and nextStep. A call returns within about 45 s: if status is not "completed", call again with the same renderId.';

export class NemoVideoExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'NemoVideo Export & Wait',
		name: 'nemoVideoExport',
		icon: nodeIcon,
		group: ['output'],
		version: 1,
		subtitle: 'Render and download the video',
		description: 'Render a NemoVideo session to MP4, wait for it, and download it as binary data',
		defaults: { name: 'NemoVideo Export & Wait' },
		usableAsTool: { replacements: { description: TOOL_DESCRIPTION } },
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials,
		properties: [
			toolDescriptionProperty(TOOL_DESCRIPTION),
			{
				...sessionIdRequired,
				// Not needed to resume or check a render by its ID (Options > Resume Render ID).
				required: false,
				description:
					'The NemoVideo session to render. The previous NemoVideo node outputs it as sessionId. Not needed when Options > Resume Render ID is set.',
			},
			{
				displayName: 'Wait for Completion',
				name: 'waitForCompletion',
				type: 'boolean',
				default: true,
				description:
					"Whether to wait until the render finishes. Off: output the render ID at once; with Options > Resume Render ID set, check that render's status once.",
			},
			...exportProperties.map((property) => ({
				...property,
				displayOptions: {
					show: { ...(property.displayOptions?.show ?? {}), waitForCompletion: [true] },
				},
			})),
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					concurrencyOption(5),
					fileNameOption,
					toolTimeoutOption,
					{
						displayName: 'Resume Render ID',
						name: optionName(EXPORT_PARAMETER.renderId),
						type: 'string',
						default: '',
						description:
							'Wait for (and download) a render that was started earlier, instead of starting a new one; Session ID is then optional. An error about a timed-out render names its ID.',
					},
					onTimeoutOption,
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const concurrency = numberParameter(this, concurrencyOption(5), 0, { inOptions: true });
		return await runPerItem(
			this,
			async (itemIndex, client) => {
				const settings = exportSettings(this, itemIndex, toolExportOverrides(this, itemIndex));
				// A render id is enough to resume or check a render: no session needed then.
				const sessionId = settings.resumeRenderId ? sessionIdParameter(this, itemIndex) : requireSessionId(this, itemIndex);
				return [await exportSession(this, client, sessionId, settings, itemIndex)];
			},
			{ concurrency },
		);
	}
}
