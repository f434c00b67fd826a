import { version as packageVersion } from '../../package.json';

export const CREDENTIAL_TYPE = 'nemoVideoApi';
export const DEFAULT_BASE_URL = 'https://mega-api-prod.nemovideo.ai';
export const REGISTER_URL = 'https://nemovideo.com/register';

/** Sent on every request: the service answers export calls without them with HTTP 402. */
export const ATTRIBUTION_HEADERS: Readonly<Record<string, string>> = {
	'X-Skill-Source': 'n8n-nodes-nemovideo',
	'X-Skill-Version': packageVersion,
	'X-Skill-Platform': 'n8n',
};

export const APP_NAME = 'nemo_agent';

/** The skill's list plus HEIC, which the service accepts for photos (docs/nemovideo-api.md, Upload). */
export const ACCEPTED_FILE_TYPES = [
	'jpg',
	'png',
	'webp',
	'heic',
	'gif',
	'mp4',
	'mov',
	'avi',
	'webm',
	'mkv',
	'mp3',
	'wav',
	'm4a',
	'aac',
] as const;

export const MAX_FILE_BYTES = 200 * 1024 * 1024;

/** The skill's own example of a good prompt (docs/nemovideo-api.md), and the default of Generate and Photo to Video. */
export const DEFAULT_PROMPT = 'Turn these photos into a slideshow video with smooth transitions, 1080p';
