import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { numberParameter } from './parameters';
import type { RenderStatus } from './transport/api';

/**
 * The export parameters of Export & Wait and Photo to Video, and the code that reads them, in one place (the
 * node files add them to their descriptions; exportAndWait.ts works from the settings read here). The names are
 * the public ones of the package's interface: saved workflows use them.
 */
export const EXPORT_PARAMETER = {
	format: 'format',
	quality: 'quality',
	waitForCompletion: 'waitForCompletion',
	download: 'download',
	binaryPropertyName: 'binaryPropertyName',
	pollIntervalSeconds: 'pollIntervalSeconds',
	timeoutMinutes: 'timeoutMinutes',
	onTimeout: 'options.onTimeout',
	renderId: 'options.renderId',
	fileName: 'options.fileName',
} as const;

/** The name an option has inside the Options collection (`options.onTimeout` → `onTimeout`). */
export const optionName = (path: string): string => path.slice('options.'.length);

const pollIntervalProperty: INodeProperties = {
	displayName: 'Poll Interval (Seconds)',
	name: EXPORT_PARAMETER.pollIntervalSeconds,
	type: 'number',
	typeOptions: { minValue: 0.1 },
	default: 30,
	description:
		'Longest wait between two status checks. Checks start about 3 s apart and grow with the time already waited, up to this.',
};

/** How long Export & Wait waits for the render (and, from its start, for the download). */
export const exportTimeoutProperty: INodeProperties = {
	displayName: 'Timeout (Minutes)',
	name: EXPORT_PARAMETER.timeoutMinutes,
	type: 'number',
	// Down to 0.6 s: with On Timeout "Return Status" a short wait is a quick look at a render.
	typeOptions: { minValue: 0.01 },
	default: 20,
	description: 'Give up waiting for the render after this long (the render keeps running and can be resumed by its ID)',
};

/** Export settings shared by Export & Wait and Photo to Video. */
export const exportProperties: INodeProperties[] = [
	{
		displayName: 'Download',
		name: EXPORT_PARAMETER.download,
		type: 'boolean',
		default: true,
		description: 'Whether to download the finished video into binary data for the next node (the URL is output either way)',
	},
	{
		displayName: 'Put Output File in Field',
		name: EXPORT_PARAMETER.binaryPropertyName,
		type: 'string',
		default: 'data',
		displayOptions: { show: { download: [true] } },
		hint: 'The name of the output binary field to put the video in',
	},
	{
		displayName: 'Format',
		name: EXPORT_PARAMETER.format,
		type: 'options',
		default: 'mp4',
		options: [{ name: 'MP4 (H.264)', value: 'mp4' }],
	},
	{
		displayName: 'Quality',
		name: EXPORT_PARAMETER.quality,
		type: 'options',
		default: 'high',
		options: [
			{ name: 'High', value: 'high' },
			{ name: 'Medium', value: 'medium' },
			{ name: 'Low', value: 'low' },
		],
	},
	pollIntervalProperty,
	exportTimeoutProperty,
];

/** Export option: what a render still running at the deadline becomes (issue 12: a bounded call never renders twice). */
export const onTimeoutOption: INodeProperties = {
	displayName: 'On Timeout',
	name: optionName(EXPORT_PARAMETER.onTimeout),
	type: 'options',
	default: 'fail',
	options: [
		{
			name: 'Fail',
			value: 'fail',
			description: 'The item fails with an error that names the render ID',
		},
		{
			name: 'Return Status',
			value: 'returnStatus',
			description:
				'Output the unfinished render as a normal item (status, progress, renderId); run again with Resume Render ID to wait for it',
		},
	],
	description: 'What to do when the render has not finished within the timeout. The render keeps running either way.',
};

/** Export option: the downloaded file's name. */
export const fileNameOption: INodeProperties = {
	displayName: 'File Name',
	name: optionName(EXPORT_PARAMETER.fileName),
	type: 'string',
	default: '',
	description: 'Name of the downloaded file. Default: nemovideo-&lt;session&gt;-&lt;render&gt;.mp4.',
};

/** What a render still running at the deadline becomes: an error, or a normal item with its status. */
export type OnTimeout = 'fail' | 'returnStatus';

export interface ExportSettings {
	format: string;
	quality: string;
	waitForCompletion: boolean;
	download: boolean;
	binaryPropertyName: string;
	pollIntervalSeconds: number;
	/** How long to wait for the render: the node's Timeout (Minutes), or a caller's bound (tool mode). */
	timeoutMs: number;
	onTimeout: OnTimeout;
	/** Resume waiting on a render started earlier instead of starting one. */
	resumeRenderId?: string;
	fileName?: string;
	/** Called with each status a poll reads while waiting (a caller showing the render's progress). */
	onStatus?: (status: RenderStatus) => void;
}

/**
 * Reads the export parameters shared by Export & Wait and Photo to Video. `overrides` are what a caller imposes
 * whatever the parameters say (Photo to Video and tool mode: `{ download: false, onTimeout: 'returnStatus',
 * timeoutMs }`); an override left undefined changes nothing.
 */
export function exportSettings(
	ctx: IExecuteFunctions,
	itemIndex: number,
	overrides: Partial<ExportSettings> = {},
): ExportSettings {
	const get = <T>(name: string, fallback: T) => ctx.getNodeParameter(name, itemIndex, fallback) as T;
	const onTimeout = get<string>(EXPORT_PARAMETER.onTimeout, 'fail');
	const read: ExportSettings = {
		format: get(EXPORT_PARAMETER.format, 'mp4'),
		quality: get(EXPORT_PARAMETER.quality, 'high'),
		waitForCompletion: get(EXPORT_PARAMETER.waitForCompletion, true),
		download: get(EXPORT_PARAMETER.download, true),
		binaryPropertyName: get(EXPORT_PARAMETER.binaryPropertyName, 'data') || 'data',
		pollIntervalSeconds: numberParameter(ctx, pollIntervalProperty, itemIndex),
		timeoutMs: numberParameter(ctx, exportTimeoutProperty, itemIndex) * 60_000,
		onTimeout: onTimeout === 'returnStatus' ? 'returnStatus' : 'fail',
		resumeRenderId: String(get(EXPORT_PARAMETER.renderId, '') ?? '').trim() || undefined,
		fileName: String(get(EXPORT_PARAMETER.fileName, '') ?? '').trim() || undefined,
	};
	const imposed = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
	return { ...read, ...imposed };
}
