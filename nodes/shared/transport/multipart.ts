/**
 * The upload's multipart body (docs/nemovideo-api.md, endpoint 4): the files as repeated `files` fields, framed
 * by form-data, each streamed from where it is kept. A file is opened only when the body reaches it, and closing
 * the body closes every file it opened, on every path: sent, failed while sending, never sent (a connection
 * refused, a proxy variable that is not a URL: nothing reads the body), cancelled. Before, every file was opened
 * up front, and a body nobody read kept them all open (issue 16, point 7; test/upload-open-files.test.ts).
 */
import { Readable } from 'node:stream';

import { FormData } from '../vendor';

/**
 * The chunk a file is read and sent in. n8n's binary store reads 64 KiB at a time unless asked, and each chunk
 * costs a read, a pass through form-data and a socket write: 200 MB took 0.79 s of CPU in a fresh n8n process with
 * 64 KiB chunks, 0.52 s with 1 MiB ones (medians of 8 runs; 4 MiB was no better), and the upload went from 0.52x to
 * 0.72x the speed of curl (bench/upload-download.ts).
 */
const FILE_CHUNK_BYTES = 1024 * 1024;

/** One file to send, opened anew for each attempt (a stream cannot be replayed). */
export interface UploadPart {
	fileName: string;
	mimeType: string;
	size: number;
	/** Opens the file, to be read `chunkBytes` at a time where the store lets the reader choose. */
	open(chunkBytes?: number): Promise<Readable>;
}

/** The body and its headers; nothing is opened until the request reads the body. */
export function multipartBody(files: UploadPart[]): { body: Readable; headers: Record<string, string> } {
	const form = new FormData();
	const parts = files.map((file) => new FilePart(file));
	files.forEach((file, index) => {
		form.append('files', parts[index], { filename: file.fileName, contentType: file.mimeType, knownLength: file.size });
	});
	const headers = { ...form.getHeaders(), 'content-length': String(form.getLengthSync()) };
	return { body: new FormBody(form, parts), headers };
}

/** The form's bytes: the form starts when the body is first read; destroying the body destroys every file. */
class FormBody extends Readable {
	private started = false;

	constructor(
		private readonly form: InstanceType<typeof FormData>,
		private readonly parts: FilePart[],
	) {
		super({ highWaterMark: FILE_CHUNK_BYTES });
	}

	override _read(): void {
		if (!this.started) {
			this.started = true;
			this.form.on('data', (chunk: Buffer | string) => {
				if (!this.push(chunk)) this.form.pause();
			});
			this.form.once('end', () => this.push(null));
			this.form.once('error', (error: Error) => this.destroy(error));
		}
		this.form.resume();
	}

	override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
		for (const part of this.parts) part.destroy();
		done(error);
	}
}

/** One file of the body: opened when form-data first reads it, its file closed when it ends or is destroyed. */
class FilePart extends Readable {
	private source?: Readable;

	private opening = false;

	constructor(private readonly file: UploadPart) {
		super({ highWaterMark: FILE_CHUNK_BYTES });
	}

	override _read(): void {
		if (this.source) {
			this.source.resume();
			return;
		}
		if (this.opening) return;
		this.opening = true;
		this.file.open(FILE_CHUNK_BYTES).then(
			(source) => this.attach(source),
			(error: Error) => this.destroy(error),
		);
	}

	private attach(source: Readable): void {
		if (this.destroyed) {
			source.destroy();
			return;
		}
		this.source = source;
		source.on('data', (chunk: Buffer) => {
			if (!this.push(chunk)) source.pause();
		});
		source.once('end', () => this.push(null));
		source.once('error', (error: Error) => this.destroy(error));
	}

	override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
		this.source?.destroy();
		done(error);
	}
}
