// Request bodies: read with a hard byte limit enforced while streaming (never buffer past it),
// then decode by Content-Type with clear 400s for malformed input.
import type { IncomingMessage } from 'node:http';
import { parseAllDocuments } from 'yaml';
import { errors, StatusError } from '../errors.ts';
import { decodeProtobuf, ProtobufDecodeError } from '../codec/protobuf/index.ts';
import { jsonDepthExceeds } from './objects.ts';
import type { BodyType } from './negotiate.ts';

export const defaultMaxBodyBytes = 3 * 1024 * 1024;
export const maxJSONDepth = 1000;

/** Thrown for 413 so the caller can close the connection instead of draining the rest. */
export class BodyTooLargeError extends StatusError {}

export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limitBytes) {
    const e = errors.tooLarge(limitBytes);
    throw new BodyTooLargeError(e.code, e.reason, e.message);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) {
        done = true;
        req.off('data', onData);
        req.pause();
        const e = errors.tooLarge(limitBytes);
        reject(new BodyTooLargeError(e.code, e.reason, e.message));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!done) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.once('error', (e: Error) => {
      if (!done) reject(errors.badRequest(`reading the request body failed: ${e.message}`));
    });
  });
}

export function decodeBody(buf: Buffer, type: BodyType): unknown {
  if (buf.length === 0)
    throw errors.badRequest('the request body is empty; send a JSON, YAML or protobuf object');
  if (type === 'protobuf') {
    try {
      return decodeProtobuf(buf);
    } catch (e) {
      if (e instanceof ProtobufDecodeError) throw errors.badRequest(`malformed protobuf body: ${e.message}`);
      throw e;
    }
  }
  const text = buf.toString('utf8');
  let value: unknown;
  if (type === 'json') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw errors.badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
    }
  } else {
    let docs;
    try {
      docs = parseAllDocuments(text, { prettyErrors: true });
    } catch (e) {
      throw errors.badRequest(`the request body is not valid YAML: ${(e as Error).message}`);
    }
    if (!Array.isArray(docs)) throw errors.badRequest('the request body is not valid YAML');
    if (docs.length !== 1)
      throw errors.badRequest(`the request body must hold exactly one YAML document, found ${docs.length}`);
    const doc = docs[0]!;
    if (doc.errors.length) {
      const err = doc.errors[0]!;
      throw errors.badRequest(`the request body is not valid YAML: ${err.message}`);
    }
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw errors.badRequest(`the request body is not valid YAML: ${(e as Error).message}`);
    }
  }
  if (jsonDepthExceeds(value, maxJSONDepth)) {
    throw errors.badRequest(`the request body is nested deeper than ${maxJSONDepth} levels`);
  }
  return value;
}

/** Patch bodies stay text (the patch engine parses them); YAML is converted to JSON text. */
export function patchText(buf: Buffer): string {
  if (buf.length === 0) throw errors.badRequest('the patch body is empty');
  return buf.toString('utf8');
}
