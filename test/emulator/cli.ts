// Runs the emulator as a process: `npx tsx test/emulator/cli.ts [--port N] [--ffmpeg] [--render-ms N] [--config '<json>']`.
// Prints exactly one stdout line, `NEMOVIDEO_EMULATOR_URL=<baseUrl>`, once listening; stops on SIGTERM/SIGINT.
import { NemoVideoEmulator, type EmulatorConfig } from './index';

function parseArgs(argv: string[]): { port: number; config: Partial<EmulatorConfig> } {
	let port = 0;
	let config: Partial<EmulatorConfig> = {};
	const extra: Partial<EmulatorConfig> = {};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
		const value = () => {
			const v = inline ?? argv[++i];
			if (v === undefined) throw new Error(`${flag} needs a value`);
			return v;
		};
		switch (flag) {
			case '--port':
				port = Number(value());
				break;
			case '--ffmpeg':
				extra.useFfmpeg = true;
				break;
			case '--render-ms':
				extra.renderMs = Number(value());
				break;
			case '--config':
				config = JSON.parse(value()) as Partial<EmulatorConfig>;
				break;
			default:
				throw new Error(`Unknown argument ${a}`);
		}
	}
	if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be 0..65535');
	if (extra.renderMs !== undefined && !(extra.renderMs >= 0)) throw new Error('--render-ms must be >= 0');
	return { port, config: { ...config, ...extra } };
}

async function main(): Promise<void> {
	const { port, config } = parseArgs(process.argv.slice(2));
	const emu = new NemoVideoEmulator(config);
	const url = await emu.start(port);
	process.stdout.write(`NEMOVIDEO_EMULATOR_URL=${url}\n`);
	let stopping = false;
	const shutdown = () => {
		if (stopping) return;
		stopping = true;
		emu.stop().then(
			() => process.exit(0),
			(e: unknown) => {
				console.error(e);
				process.exit(1);
			},
		);
	};
	process.on('SIGTERM', shutdown);
	process.on('SIGINT', shutdown);
}

main().catch((e: unknown) => {
	console.error(`[nemovideo-emulator] ${e instanceof Error ? e.message : String(e)}`);
	process.exit(1);
});
