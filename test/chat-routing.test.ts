/** The chat's routing (nodes/shared/chatRouting.ts): phrases in, a route out, in English and Chinese. */
import { commandOf, routeMessage } from '../nodes/shared/chatRouting';

describe('commands, as the service skill names them', () => {
	test.each([
		['export', 'export'],
		['Export', 'export'],
		['export it please', 'export'],
		['导出', 'export'],
		['请导出视频', 'export'],
		['download', 'export'],
		['Can I download it?', 'export'],
		['下载', 'export'],
		['send me the video', 'export'],
		['Send me  the video!', 'export'],
		['credits', 'credits'],
		['how many credits do I have?', 'credits'],
		['积分', 'credits'],
		['我还有多少积分', 'credits'],
		['balance', 'credits'],
		['余额', 'credits'],
		['status', 'state'],
		["what's the status?", 'state'],
		['状态', 'state'],
		['show tracks', 'state'],
		['Show tracks.', 'state'],
	])('%j → %s', (message, action) => {
		expect(commandOf(message)).toBe(action);
		expect(routeMessage(message, 0)).toEqual({ action, prompt: '' });
	});

	test.each([
		// Whole words only.
		'exported clips look better with music',
		'a downloadable slideshow',
		'statuses',
		// Quoted text is content, not a command.
		'add a title saying "Status update"',
		'add the title “Export day”',
		// A long instruction is for the AI even when it names a command word.
		'make it 9:16, add a title that says summer, and then export it in high quality please',
		'turn these photos into a slideshow video with smooth transitions',
		'把这些照片做成一个带有平滑转场效果和轻音乐背景的竖屏幻灯片视频然后导出',
	])('%j goes to the AI', (message) => {
		expect(commandOf(message)).toBeUndefined();
		expect(routeMessage(message, 0)).toEqual({ action: 'generate', prompt: message });
	});
});

describe('attached files', () => {
	test('photos with a prompt: upload, then the prompt to the AI', () => {
		expect(routeMessage('a vertical slideshow with music', 3)).toEqual({ action: 'upload', prompt: 'a vertical slideshow with music' });
		expect(routeMessage('做一个竖屏幻灯片', 2)).toEqual({ action: 'upload', prompt: '做一个竖屏幻灯片' });
	});

	test.each(['', '   ', 'upload', 'Upload these photos', 'upload my pictures.', '上传', '上传照片'])(
		'photos with %j alone: upload, nothing for the AI',
		(message) => {
			expect(routeMessage(message, 1)).toEqual({ action: 'upload', prompt: '' });
		},
	);

	test.each([
		['status', 'state'],
		['导出', 'export'],
		['credits', 'credits'],
	])('photos with the command %j: upload, then the command (no message to the AI)', (message, command) => {
		expect(routeMessage(message, 2)).toEqual({ action: 'upload', prompt: '', then: command });
	});
});

test('an empty message without files goes nowhere but the AI route, with nothing to send', () => {
	expect(routeMessage('  ', 0)).toEqual({ action: 'generate', prompt: '' });
});
