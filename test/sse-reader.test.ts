/**
 * The pure pieces of reading the service's answers: the SSE stream reader (framing, flushed at the end), the event
 * reader of both documented shapes, the text collector that keeps messages apart, and the JSON reader that keeps
 * long integer ids exact.
 */
import { SseReader, TextCollector, readEvent, readMessage } from '../nodes/shared/sse';
import type { EventParts } from '../nodes/shared/sse';
import { createSession, state } from '../nodes/shared/transport/api';
import { NemoVideoClient } from '../nodes/shared/transport/client';
import { parseJsonKeepingBigIntegers } from '../nodes/shared/transport/envelope';
import { ScriptedServer, ownTokenContext } from './helpers';

function messagesOf(chunks: string[]): Array<{ event?: string; data: string }> {
	const seen: Array<{ event?: string; data: string }> = [];
	const reader = new SseReader({ onMessage: (message) => seen.push({ event: message.event, data: message.data }) });
	for (const chunk of chunks) reader.feed(chunk);
	reader.finish();
	return seen;
}

describe('SseReader: the stream is flushed at its end (issue 9, point 12)', () => {
	test('a last event without a trailing blank line is delivered', () => {
		expect(messagesOf(['data: {"type":"text","content":"A"}\n\n', 'data: {"type":"text","content":"Click Export"}\n'])).toEqual([
			{ event: undefined, data: '{"type":"text","content":"A"}' },
			{ event: undefined, data: '{"type":"text","content":"Click Export"}' },
		]);
	});

	test('a last event with no line end at all is delivered', () => {
		expect(messagesOf(['data: {"type":"text","content":"Click Export"}'])).toEqual([
			{ event: undefined, data: '{"type":"text","content":"Click Export"}' },
		]);
	});

	test('a stream that ended properly does not deliver its last event twice', () => {
		for (const ending of ['\n\n', '\r\n\r\n', '\n\n\n']) {
			expect(messagesOf([`data: {"n":1}${ending}`, `data: {"n":2}${ending}`])).toEqual([
				{ event: undefined, data: '{"n":1}' },
				{ event: undefined, data: '{"n":2}' },
			]);
		}
	});

	test('an event cut anywhere between chunks (inside a line, between CR and LF) is read whole', () => {
		const stream = 'event: message\r\ndata: {"type":"text","content":"Hello"}\r\n\r\ndata: {"n":2}\n\n';
		for (let cut = 1; cut < stream.length; cut++) {
			expect(messagesOf([stream.slice(0, cut), stream.slice(cut)])).toEqual([
				{ event: 'message', data: '{"type":"text","content":"Hello"}' },
				{ event: undefined, data: '{"n":2}' },
			]);
		}
	});

	test('comment lines (keep-alives) go to onComment, never to onMessage', () => {
		const messages: string[] = [];
		const comments: string[] = [];
		const reader = new SseReader({ onMessage: (message) => messages.push(message.data), onComment: (comment) => comments.push(comment) });
		reader.feed(': ping\n\ndata: {"n":1}\n:keep-alive\n\n');
		reader.finish();
		expect(messages).toEqual(['{"n":1}']);
		expect(comments.map((comment) => comment.trim())).toEqual(['ping', 'keep-alive']);
	});

	test('a finished reader takes no more text', () => {
		const reader = new SseReader({ onMessage: () => {} });
		reader.finish();
		expect(() => reader.feed('data: x\n\n')).toThrow(/finished/);
	});
});

describe('readMessage: one SSE message, as the service frames it', () => {
	const kinds = (parts: EventParts[]) =>
		parts.map((part) => ({ texts: part.texts, toolCalls: part.toolCalls, toolResults: part.toolResults, error: part.error }));

	test('`event: error` with plain-text data is an in-stream error with that text', () => {
		const [parts] = readMessage({ event: 'error', data: 'The model is overloaded. Please try again later.' });
		expect(parts.error).toBe('The model is overloaded. Please try again later.');
	});

	test('`event: error` with JSON data takes its message, and with no data still is an error', () => {
		expect(readMessage({ event: 'error', data: '{"message":"quota exhausted"}' })[0].error).toBe('quota exhausted');
		expect(readMessage({ event: 'error', data: '' })[0].error).toMatch(/error event/);
	});

	test('data: lines with no blank line between them are read one JSON event a line', () => {
		const data = ['{"type":"tool_call","name":"a"}', '{"type":"text","content":"Hello "}', '{"type":"text","content":"there."}'].join('\n');
		expect(kinds(readMessage({ data }))).toEqual([
			{ texts: [], toolCalls: 1, toolResults: 0, error: undefined },
			{ texts: ['Hello '], toolCalls: 0, toolResults: 0, error: undefined },
			{ texts: ['there.'], toolCalls: 0, toolResults: 0, error: undefined },
		]);
	});

	test('one JSON value over several data: lines is one event', () => {
		expect(kinds(readMessage({ data: '{"type":"text",\n"content":"one"}' }))).toEqual([
			{ texts: ['one'], toolCalls: 0, toolResults: 0, error: undefined },
		]);
	});

	test('an empty data is a keep-alive; data that is not JSON is "other", not text', () => {
		expect(readMessage({ data: '' })).toEqual([expect.objectContaining({ keepAlive: true })]);
		const [plain] = readMessage({ data: 'not json' });
		expect(plain).toMatchObject({ keepAlive: false, texts: [], toolCalls: 0, toolResults: 0 });
		expect(plain.error).toBeUndefined();
	});
});

describe('readEvent: the two documented event shapes', () => {
	test('ADK functionResponse parts with role user count as tool results, and user-role text is never taken', () => {
		const parts = readEvent({
			content: { role: 'user', parts: [{ functionResponse: { name: 'analyze_media', response: {} } }, { text: 'echo of the prompt' }] },
			partial: false,
		});
		expect(parts.toolResults).toBe(1);
		expect(parts.texts).toEqual([]);
	});

	test('ADK: a partial text is a chunk; a non-partial event or turnComplete ends the message', () => {
		const text = (partial: boolean, extra: Record<string, unknown> = {}) =>
			readEvent({ content: { role: 'model', parts: [{ text: 'x' }] }, partial, ...extra });
		expect(text(true)).toMatchObject({ partial: true, endsMessage: false });
		expect(text(false)).toMatchObject({ partial: false, endsMessage: true });
		expect(text(true, { turnComplete: true })).toMatchObject({ endsMessage: true });
		expect(readEvent({ turnComplete: true })).toMatchObject({ texts: [], endsMessage: true });
		expect(readEvent({ content: { role: 'model', parts: [{ functionCall: { name: 'a' } }] }, partial: false })).toMatchObject({
			toolCalls: 1,
			endsMessage: true,
		});
	});

	test('NemoVideo: a text event is a chunk of the current message; a tool call or result ends it; a heartbeat does not', () => {
		expect(readEvent({ type: 'text', content: 'x' })).toMatchObject({ texts: ['x'], partial: true, endsMessage: false });
		expect(readEvent({ type: 'tool_call', name: 'a' })).toMatchObject({ toolCalls: 1, endsMessage: true });
		expect(readEvent({ type: 'tool_result', name: 'a' })).toMatchObject({ toolResults: 1, endsMessage: true });
		expect(readEvent({ type: 'heartbeat' })).toMatchObject({ heartbeat: true, endsMessage: false });
	});
});

describe('TextCollector: chunks join, messages are separated (issue 9, point 21)', () => {
	const collect = (events: unknown[]) => {
		const collector = new TextCollector();
		for (const event of events) collector.add(readEvent(event));
		return collector.text;
	};
	const nemoText = (content: string) => ({ type: 'text', content });
	const adk = (text: string, partial: boolean, extra: Record<string, unknown> = {}) => ({
		content: { role: 'model', parts: [{ text }] },
		partial,
		...extra,
	});

	test('NemoVideo: consecutive text events are one message; a tool call between two texts separates them', () => {
		expect(
			collect([
				nemoText('I will make a slideshow '),
				nemoText('with smooth transitions.'),
				{ type: 'heartbeat' },
				{ type: 'tool_call', name: 'create_slideshow' },
				{ type: 'tool_result', name: 'create_slideshow' },
				nemoText('Your slideshow '),
				nemoText('is ready.'),
			]),
		).toBe('I will make a slideshow with smooth transitions.\n\nYour slideshow is ready.');
	});

	test('ADK: partial chunks are replaced by their final event, and two messages are separated', () => {
		expect(
			collect([
				adk('I will make ', true),
				adk('a slideshow.', true),
				adk('I will make a slideshow.', false),
				{ content: { role: 'model', parts: [{ functionCall: { name: 'create_slideshow' } }] }, partial: false },
				{ content: { role: 'user', parts: [{ functionResponse: { name: 'create_slideshow' } }] }, partial: false },
				adk('Your slideshow ', true),
				adk('is ready.', true),
				adk('Your slideshow is ready.', false, { turnComplete: true }),
			]),
		).toBe('I will make a slideshow.\n\nYour slideshow is ready.');
	});

	test('ADK: chunks ended by a turnComplete event with no content are kept as one message', () => {
		expect(collect([adk('Done ', true), adk('now.', true), { turnComplete: true }, adk('Next.', false)])).toBe('Done now.\n\nNext.');
	});

	test('ADK: chunks that never got their final event still count', () => {
		expect(collect([adk('Half ', true), adk('a reply', true)])).toBe('Half a reply');
	});

	test('thoughts and empty messages add no separators', () => {
		expect(
			collect([
				{ content: { role: 'model', parts: [{ text: 'thinking…', thought: true }] }, partial: false },
				adk('Only this.', false),
				adk('   ', false),
			]),
		).toBe('Only this.');
	});
});

describe('TextCollector: the words handed on as they come (streaming a reply)', () => {
	const told = (events: unknown[]) => {
		const pieces: string[] = [];
		const collector = new TextCollector((piece) => pieces.push(piece));
		for (const event of events) collector.add(readEvent(event));
		return { pieces, text: collector.text };
	};
	const adk = (text: string, partial: boolean) => ({ content: { role: 'model', parts: [{ text }] }, partial });

	test('NemoVideo: each text event is handed on as it is; a later message begins after a blank line', () => {
		const { pieces, text } = told([
			{ type: 'text', content: '  I will make ' },
			{ type: 'text', content: 'a slideshow.' },
			{ type: 'tool_call', name: 'create_slideshow' },
			{ type: 'text', content: 'Done.' },
		]);
		expect(pieces).toEqual(['I will make ', 'a slideshow.', '\n\nDone.']);
		expect(pieces.join('').trim()).toBe(text);
	});

	test("ADK: the final whole copy of a message adds nothing to the pieces already handed on", () => {
		const { pieces, text } = told([adk('Your ', true), adk('video.', true), adk('Your video.', false), adk('Next.', false)]);
		expect(pieces).toEqual(['Your ', 'video.', '\n\nNext.']);
		expect(pieces.join('')).toBe(text);
	});

	test('ADK: a message sent only whole is handed on whole', () => {
		expect(told([adk('All at once.', false)]).pieces).toEqual(['All at once.']);
	});
});

describe('parseJsonKeepingBigIntegers: ids are read as strings from the raw text (issue 9, point 20)', () => {
	test('an integer beyond Number.MAX_SAFE_INTEGER keeps its exact digits as a string', () => {
		expect(parseJsonKeepingBigIntegers('{"code":0,"data":{"session_id":5529798706024415232}}')).toEqual({
			code: 0,
			data: { session_id: '5529798706024415232' },
		});
		expect(parseJsonKeepingBigIntegers('[9007199254740993, -9007199254740993, 9007199254740991]')).toEqual([
			'9007199254740993',
			'-9007199254740993',
			9007199254740991,
		]);
	});

	test('strings, escapes, fractions and exponents are left as JSON.parse reads them', () => {
		const text =
			'{"a":"id 5529798706024415232 in text","b":"quote \\" 12345678901234567890 \\\\","c":1.5e300,' +
			'"d":12345678901234567890.5,"e":[0,-1,2e3],"f":{"5529798706024415232":true},"g":null}';
		expect(parseJsonKeepingBigIntegers(text)).toEqual({ ...(JSON.parse(text) as object), g: null });
		expect(parseJsonKeepingBigIntegers('"5529798706024415232"')).toBe('5529798706024415232');
		expect(parseJsonKeepingBigIntegers('  5529798706024415232  ')).toBe('5529798706024415232');
	});

	test('text that is not JSON still fails as JSON.parse fails', () => {
		expect(() => parseJsonKeepingBigIntegers('{"code":0,"data":{')).toThrow(SyntaxError);
		expect(() => parseJsonKeepingBigIntegers('{"a": 12345678901234567890')).toThrow(SyntaxError);
		expect(() => parseJsonKeepingBigIntegers('<html>')).toThrow(SyntaxError);
	});
});

describe('the transport reads ids from the raw answer (issue 9, point 20)', () => {
	const server = new ScriptedServer();
	beforeAll(async () => await server.start());
	afterAll(async () => await server.stop());

	test('createSession keeps a session_id sent as a JSON number to its last digit', async () => {
		server.answer = () => ({ body: '{"code":0,"data":{"task_id":"task_1","session_id":5529798706024415232,"user_id":"u"}}' });
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: server.baseUrl, accessToken: 'nmv_usr_scripted_ids_token_1' }));
		expect((await createSession(client, { itemIndex: 0 })).sessionId).toBe('5529798706024415232');
	});

	test('the state answer keeps the numeric fields that fit a JS number as numbers', async () => {
		server.answer = () => ({ body: '{"code":0,"data":{"session_id":5529798706024415232,"state":{"draft":{"t":[],"d":3000}}}}' });
		const client = new NemoVideoClient(ownTokenContext({ baseUrl: server.baseUrl, accessToken: 'nmv_usr_scripted_ids_token_1' }));
		expect(await state(client, '5529798706024415232', { itemIndex: 0 })).toEqual({
			session_id: '5529798706024415232',
			state: { draft: { t: [], d: 3000 } },
		});
	});
});
