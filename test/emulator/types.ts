// Public and internal types of the NemoVideo API emulator. See docs/nemovideo-api.md for the protocol.

export type Route =
	| 'token'
	| 'session'
	| 'sse'
	| 'upload'
	| 'credits'
	| 'state'
	| 'renderStart'
	| 'renderPoll'
	| 'renderCancel'
	| 'download'
	| 'cdn';

export const ROUTES: readonly Route[] = [
	'token',
	'session',
	'sse',
	'upload',
	'credits',
	'state',
	'renderStart',
	'renderPoll',
	'renderCancel',
	'download',
	'cdn',
];

export type Fault =
	| { kind: 'rateLimit'; retryAfterSeconds?: number }
	| { kind: 'appCode'; code: 1001 | 1002 | 2001 | 4001 | 4002; httpStatus?: number }
	| { kind: 'plan402' }
	| { kind: 'missingClientId400' }
	| { kind: 'serverError'; status?: number }
	| { kind: 'drop' }
	| { kind: 'malformedJson' }
	| { kind: 'slow'; delayMs: number; then?: Fault } // waits, then answers as usual, or plays `then`
	| { kind: 'html' }
	| { kind: 'hugeBody'; bytes: number }
	| { kind: 'lyingContentLength' }
	// Extensions beyond the original list (used by the hostile-server tests):
	| { kind: 'cdnRedirect'; location: string; status?: number } // redirect (302 by default) to `location`, empty body
	| { kind: 'sseHugeLine'; bytes: number } // 200 text/event-stream whose first `data:` line is `bytes` long, then closes
	| { kind: 'jsonOk'; data?: unknown } // 200 {"code":0,"data":…} where a file or a stream is expected
	| { kind: 'sseEndless' }
	| { kind: 'unauthorized401' } // HTTP 401 {"message":"Unauthorized"} without an app code, as a gateway in front of the API answers
	| { kind: 'sseDrop' }
	| { kind: 'hold' } // takes the request and never answers it (until the client gives up or the emulator stops)
	| { kind: 'resetMidBody'; afterBytes: number } // reads that much of the request body, then resets the connection
	| { kind: 'cutBody'; afterBytes: number } // 200 video/mp4 announcing twice that many bytes, sends that many, then resets the connection
	| { kind: 'answerLost'; status?: number }; // handles the request, then loses its JSON answer: a `status` 5xx in its place, or a dropped connection // /run_sse only: takes the message, then breaks the stream mid-way (the 'drop' scenario for one request) // 200 text/event-stream of heartbeats every sseHeartbeatMs until the client goes away

export interface RecordedFile {
	field: string;
	filename: string;
	bytes: number;
	detectedType: string | null;
	sha256: string;
}

export interface RecordedRequest {
	seq: number;
	at: number;
	/** When the answer ended (its last byte written, or the connection closed): a stream's end. */
	endedAt?: number;
	method: string;
	path: string;
	query: Record<string, string>;
	route: Route | 'admin' | 'unknown';
	headers: Record<string, string>;
	json?: unknown;
	files?: RecordedFile[];
	bodyBytes: number;
	status?: number;
	fault?: Fault['kind'];
	/** The request was handled, then its answer lost (the `answerLost` fault): what it did stands. */
	answerLost?: boolean;
	sessionId?: string;
	renderId?: string;
	token?: string;
}

export interface EmulatorConfig {
	renderPollShape: 'top' | 'wrapped';
	renderStartShape: 'code' | 'success';
	renderMs: number;
	renderFailTimes: number;
	renderNeverFinishes: boolean;
	sseShape: 'nemo' | 'adk';
	/**
	 * What /run_sse does with a message. `silent`: the stream closes with no event at all; `envelopeError`: one
	 * `data: {"code":2001,"message":…}` event (an error envelope inside the stream), then the end, nothing charged.
	 */
	sseScenario: 'text' | 'noText' | 'inStreamError' | 'plainTextError' | 'drop' | 'heartbeatsOnly' | 'silent' | 'envelopeError';
	/** How events are delimited: a blank line after each (the standard), none after the last, or none at all. */
	sseFraming: 'standard' | 'noFinalBlankLine' | 'noBlankLines';
	/** The agent says what it will do before its tool calls: two text messages in one turn. */
	sseIntroMessage: boolean;
	/** Session ids in answers as JSON numbers (beyond 2^53) instead of digit strings. */
	sessionIdsAsNumbers: boolean;
	sseEventDelayMs: number;
	sseHeartbeatMs: number;
	sseDropApplyDelayMs: number;
	sseCost: number;
	anonymousCredits: number;
	oneTokenPerClient: boolean;
	tokenExpiredHttpStatus: 200 | 401;
	requireAttribution: boolean;
	useFfmpeg: boolean;
	outputSizeBytes: number;
	maxUploadBytes: number;
	cdnSeparateHost: boolean;
	/** Serve the API under this path prefix (e.g. '/nemo', as behind a gateway); the CDN and /__emulator stay at the root. */
	basePath: string;
	/** Whether render polls carry `progress` (linear in time while processing); false leaves the field out. */
	renderReportsProgress: boolean;
}

export const DEFAULT_CONFIG: Readonly<EmulatorConfig> = Object.freeze({
	renderPollShape: 'top',
	renderStartShape: 'code',
	renderMs: 3000,
	renderFailTimes: 0,
	renderNeverFinishes: false,
	sseShape: 'nemo',
	sseScenario: 'text',
	sseFraming: 'standard',
	sseIntroMessage: false,
	sessionIdsAsNumbers: false,
	sseEventDelayMs: 20,
	sseHeartbeatMs: 200,
	sseDropApplyDelayMs: 100,
	sseCost: 50,
	anonymousCredits: 100,
	oneTokenPerClient: true,
	tokenExpiredHttpStatus: 200,
	requireAttribution: true,
	useFfmpeg: false,
	outputSizeBytes: 0,
	maxUploadBytes: 200 * 1024 * 1024,
	cdnSeparateHost: true,
	basePath: '',
	renderReportsProgress: true,
});

export type FileType = 'image' | 'video' | 'audio';

/** One uploaded (or URL-registered) file of a session. The first eight fields are what the upload answers. */
export interface EmulatedFile {
	filename: string;
	file_type: FileType;
	cdn_url: string;
	duration: number;
	width: number;
	height: number;
	fps: number;
	hash: string;
	/** 'jpg', 'png', 'mp4', … */
	format: string;
	bytes: number;
	source: 'upload' | 'url';
	url?: string;
	/** Copy on disk (only for uploads of at most 20 MB). */
	localPath?: string;
}

export interface CanvasConfig {
	width: number;
	height: number;
	ratio: '16:9' | '9:16' | '1:1';
}

export interface DraftSegment {
	d: number;
	m: Record<string, unknown>;
}
export interface DraftTrack {
	tt: number;
	sg: DraftSegment[];
}
export interface Draft {
	t: DraftTrack[];
	d?: number;
	m?: Record<string, unknown>;
}

export interface EmulatedSession {
	id: string;
	taskId: string;
	userId: string;
	taskName: string;
	language: string;
	files: EmulatedFile[];
	draft: Draft;
	canvas: CanvasConfig;
	/** Every /run_sse text received, in order. */
	messages: string[];
	/** Render ids started for this session. */
	renders: string[];
	/** Settings asked for by earlier prompts; kept for later edits. */
	wanted: { ratio?: CanvasConfig['ratio']; totalMs?: number; title?: string };
	createdAt: number;
}

export type RenderStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

export interface EmulatedRender {
	id: string;
	sessionId: string;
	userId: string;
	status: RenderStatus;
	progress: number;
	startedAt: number;
	completedAt?: number;
	cancelled: boolean;
	/** Size of the output in bytes (0 until known). */
	bytes: number;
	/** Output duration in seconds. */
	duration: number;
	format: string;
	quality: string;
	error?: string;
	/** 'sample' = fixtures/sample.mp4, 'ffmpeg' = a real slideshow, 'synthetic' = outputSizeBytes of generated bytes. */
	output: 'sample' | 'ffmpeg' | 'synthetic';
	outputPath?: string;
	ffmpeg?: { state: 'running' | 'done' | 'error'; ms?: number; error?: string };
	/** Decided at start from renderFailTimes. */
	willFail: boolean;
	draft: Draft;
}

export interface TokenRecord {
	token: string;
	userId: string;
	clientId: string;
	anonymous: boolean;
	issuedAt: number;
	expiresAt: number;
	/** Set by expireToken(): the token stops working even before expiresAt. */
	revoked: boolean;
}

export interface Account {
	available: number;
	frozen: number;
}
