/**
 * The raw reference the upload-download benchmark measures the nodes against: the plainest client there is,
 * moving the same bytes over the same loopback to the same emulator process. `curl` when it is installed;
 * otherwise Node's own `http` with a file stream (no form-data, no undici, no n8n). Each call returns the time
 * the transfer took as the client saw it: from the request being sent (curl's time_pretransfer) to the last
 * byte of the answer (time_total), so starting a process is not counted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, createReadStream, createWriteStream, statSync } from 'node:fs';
import { request } from 'node:http';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { request as undiciRequest } from '../nodes/shared/vendor';

export type ReferenceClient = 'curl' | 'node-http';

/** One file of a multipart upload: sent as a `files` field, the field the Upload node sends. */
export interface ReferenceFile {
	path: string;
	fileName?: string;
	mimeType: string;
}

export interface ReferenceTransfer {
	ms: number;
	status: number;
	bytes: number;
	/** The answer's body (uploads only). */
	body?: string;
}

/** curl when it is on this machine (or `--reference node-http` was asked for), else Node's http. */
export function chooseReference(asked?: string): ReferenceClient {
	if (asked === 'node-http') return 'node-http';
	const curl = curlPath();
	if (asked === 'curl' && !curl) throw new Error('--reference curl: curl is not installed');
	return curl ? 'curl' : 'node-http';
}

export function curlPath(): string | undefined {
	for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
		try {
			accessSync(`${dir}/curl`, constants.X_OK);
			return `${dir}/curl`;
		} catch {
			// not in this folder
		}
	}
	return undefined;
}

/** POSTs the files as repeated `files` fields of one multipart body, with these headers. */
export async function referenceUpload(
	client: ReferenceClient,
	url: string,
	headers: Record<string, string>,
	files: ReferenceFile[],
): Promise<ReferenceTransfer> {
	return client === 'curl' ? await curlUpload(url, headers, files) : await httpUpload(url, headers, files);
}

/** GETs `url` into the file `into`. */
export async function referenceDownload(client: ReferenceClient, url: string, into: string): Promise<ReferenceTransfer> {
	return client === 'curl' ? await curlDownload(url, into) : await httpDownload(url, into);
}

// ---- curl ------------------------------------------------------------------------------------------------------

const CURL_TIMES = '\\n%{http_code} %{time_pretransfer} %{time_total} %{size_upload} %{size_download}';

function runCurl(args: string[]): Promise<{ body: string; transfer: ReferenceTransfer }> {
	return new Promise((resolve, reject) => {
		execFile(curlPath() ?? 'curl', ['--silent', '--show-error', '--write-out', CURL_TIMES, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
			if (error) return reject(new Error(`curl failed: ${stderr || error.message}`));
			const cut = stdout.lastIndexOf('\n');
			const [status, pretransfer, total, uploaded, downloaded] = stdout.slice(cut + 1).trim().split(' ').map(Number);
			const body = stdout.slice(0, cut);
			resolve({ body, transfer: { ms: (total - pretransfer) * 1000, status, bytes: uploaded || downloaded, body } });
		});
	});
}

async function curlUpload(url: string, headers: Record<string, string>, files: ReferenceFile[]): Promise<ReferenceTransfer> {
	const args = Object.entries(headers).flatMap(([name, value]) => ['--header', `${name}: ${value}`]);
	// No "Expect: 100-continue" round trip (curl adds it to large POSTs; undici never sends it).
	args.push('--header', 'Expect:');
	for (const file of files) {
		args.push('--form', `files=@${file.path};type=${file.mimeType};filename=${file.fileName ?? basename(file.path)}`);
	}
	return (await runCurl([...args, url])).transfer;
}

async function curlDownload(url: string, into: string): Promise<ReferenceTransfer> {
	return (await runCurl(['--output', into, url])).transfer;
}

// ---- Node's http, with file streams ----------------------------------------------------------------------------

/** The parts of a multipart body, in order: each field's head, its file (streamed), and the closing line. */
async function* multipartParts(boundary: string, files: ReferenceFile[], chunkBytes?: number): AsyncGenerator<Buffer> {
	for (const file of files) {
		const name = file.fileName ?? basename(file.path);
		yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: ${file.mimeType}\r\n\r\n`);
		for await (const chunk of createReadStream(file.path, chunkBytes ? { highWaterMark: chunkBytes } : {})) yield chunk as Buffer;
		yield Buffer.from('\r\n');
	}
	yield Buffer.from(`--${boundary}--\r\n`);
}

function multipartLength(boundary: string, files: ReferenceFile[]): number {
	let length = Buffer.byteLength(`--${boundary}--\r\n`);
	for (const file of files) {
		const name = file.fileName ?? basename(file.path);
		length += Buffer.byteLength(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: ${file.mimeType}\r\n\r\n\r\n`);
		length += statSync(file.path).size;
	}
	return length;
}

async function httpUpload(url: string, headers: Record<string, string>, files: ReferenceFile[]): Promise<ReferenceTransfer> {
	const boundary = `reference${randomBytes(12).toString('hex')}`;
	const length = multipartLength(boundary, files);
	const started = performance.now();
	const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
		const outgoing = request(url, {
			method: 'POST',
			headers: { ...headers, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(length) },
		});
		outgoing.once('response', (response) => {
			const chunks: Buffer[] = [];
			response.on('data', (chunk: Buffer) => chunks.push(chunk));
			response.once('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
			response.once('error', reject);
		});
		pipeline(Readable.from(multipartParts(boundary, files)), outgoing).catch(reject);
	});
	return { ms: performance.now() - started, status: answer.status, bytes: length, body: answer.body };
}

async function httpDownload(url: string, into: string): Promise<ReferenceTransfer> {
	const started = performance.now();
	const status = await new Promise<number>((resolve, reject) => {
		request(url, (response) => {
			pipeline(response, createWriteStream(into)).then(() => resolve(response.statusCode ?? 0), reject);
		})
			.once('error', reject)
			.end();
	});
	return { ms: performance.now() - started, status, bytes: statSync(into).size };
}

// ---- undici, in the n8n process (a diagnostic, not the reference) -------------------------------------------------

/**
 * POSTs the files as the Upload node does, but with the plainest body the package's HTTP client (undici) takes:
 * the files read straight from disk, 1 MiB at a time, as an async iterable; no form-data, no binary store. Run in
 * the node's own process right after it, it shows what sending costs there without the package's streams.
 */
export async function undiciUpload(url: string, headers: Record<string, string>, files: ReferenceFile[]): Promise<ReferenceTransfer> {
	const boundary = `reference${randomBytes(12).toString('hex')}`;
	const length = multipartLength(boundary, files);
	const started = performance.now();
	const answer = await undiciRequest(url, {
		method: 'POST',
		headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) },
		body: Readable.from(multipartParts(boundary, files, 1024 * 1024), { objectMode: false }),
	});
	const body = await answer.body.text();
	return { ms: performance.now() - started, status: answer.statusCode, bytes: length, body };
}
