/**
 * The package's five runtime libraries, in one module. n8n's community-package rules forbid runtime
 * "dependencies" (they would be installed into the n8n instance and can clash with other packages), so the
 * build bundles this file, with these libraries inside it, into dist/nodes/shared/vendor.js. Everything else
 * imports them from here, so every node shares one connection pool and one copy of each.
 */
export { Agent, ProxyAgent, request } from 'undici';
export type { Dispatcher } from 'undici';
export { createParser } from 'eventsource-parser';
export type { EventSourceMessage, ParseError } from 'eventsource-parser';
export { default as FormData } from 'form-data';
export { v4 as uuid } from 'uuid';
export { default as readExif } from 'exif-reader';
