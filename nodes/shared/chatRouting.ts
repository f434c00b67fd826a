/**
 * What a chat message asks for, read the way the service's own skill routes (docs/nemovideo-api.md and the
 * skill's table "Matching Input to Actions"): "export" / "导出" / "download" / "send me the video" → export;
 * "credits" / "积分" / "balance" / "余额" → the balance; "status" / "状态" / "show tracks" → the timeline;
 * attached files → upload; everything else → the AI. Pure: phrases in, a route out.
 */
export type ChatAction = 'generate' | 'upload' | 'export' | 'credits' | 'state';

export type ChatCommand = 'export' | 'credits' | 'state';

export interface ChatRoute {
	action: ChatAction;
	/** What goes to the AI: the message (after an upload, the rest of it), or '' for nothing. */
	prompt: string;
	/** After an upload: the command the text named, run instead of a (paid) message to the AI. */
	then?: ChatCommand;
}

/** Words of a command, English (matched as whole words) and Chinese (as written: no spaces between words). */
const COMMANDS: Array<{ action: ChatCommand; english: string[]; chinese: string[] }> = [
	{ action: 'export', english: ['export', 'download', 'send me the video'], chinese: ['导出', '下载'] },
	{ action: 'credits', english: ['credits', 'credit balance', 'balance'], chinese: ['积分', '余额'] },
	{ action: 'state', english: ['status', 'show tracks', 'show the tracks'], chinese: ['状态'] },
];

/** A message that only says "upload" (with the photos attached): the photos alone, nothing for the AI. */
const UPLOAD_ONLY = /^(?:please\s+)?upload(?:\s+(?:these|this|the|my))?(?:\s+(?:photos?|pictures?|images?|files?))?[\s.!]*$|^上传(?:照片|图片|文件)?[\s。!！]*$/i;

/**
 * A command is a short message: a long one is an instruction for the AI even when it names a command word
 * ("add a title and then export it in 9:16"). The service's skill routes by keyword; bounding the length keeps
 * an edit from being taken for a command and its words from being lost.
 */
const MAX_COMMAND_WORDS = 8;
const MAX_COMMAND_CJK_CHARACTERS = 16;

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Text in quotes is content ('a title saying "Status update"'), never a command. */
function withoutQuoted(text: string): string {
	return text.replace(/"[^"]*"|“[^”]*”|「[^」]*」|『[^』]*』|'[^']*'/g, ' ');
}

function isShort(text: string): boolean {
	const cjk = (text.match(/[\u3400-\u9fff]/g) ?? []).length;
	const words = text.replace(/[\u3400-\u9fff]/g, ' ').split(/\s+/).filter(Boolean).length;
	return words <= MAX_COMMAND_WORDS && cjk <= MAX_COMMAND_CJK_CHARACTERS;
}

/** The command a short message names, or undefined. English phrases match as whole words, in any case. */
export function commandOf(message: string): ChatCommand | undefined {
	const text = withoutQuoted(message).trim();
	if (!text || !isShort(text)) return undefined;
	for (const command of COMMANDS) {
		if (command.chinese.some((phrase) => text.includes(phrase))) return command.action;
		const english = command.english.map((phrase) => escape(phrase).replace(/ /g, '\\s+')).join('|');
		if (new RegExp(`(?<![\\w-])(?:${english})(?![\\w-])`, 'i').test(text)) return command.action;
	}
	return undefined;
}

/**
 * The route of one chat message. Files are uploaded whatever the text says; then a command the text names is
 * run, or else the text goes to the AI unless it only asked for the upload. Without files, a command word in a
 * short message is that command, and anything else is for the AI.
 */
export function routeMessage(message: string, fileCount: number): ChatRoute {
	const text = message.trim();
	const command = commandOf(text);
	if (fileCount > 0) {
		if (command) return { action: 'upload', prompt: '', then: command };
		return { action: 'upload', prompt: UPLOAD_ONLY.test(text) ? '' : text };
	}
	if (command) return { action: command, prompt: '' };
	return { action: 'generate', prompt: text };
}
