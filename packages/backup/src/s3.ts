// A small S3 client over fetch and our SigV4 signer: path-style URLs (what S3-compatible stores
// all accept), the calls a backup needs, multipart upload for large files, and errors that name
// the endpoint, the bucket and the fix.
import http from 'node:http';
import https from 'node:https';
import { encodeKey, sha256Hex, signRequest, type Credentials } from './sigv4.ts';

export interface S3Location {
  /** https://s3.example.com or http://127.0.0.1:6280 */
  endpoint: string;
  bucket: string;
  region: string;
}

/** Coded like a Cluster's condition reasons (@kaas/api errorReasons). */
export type S3ErrorReason = 'AuthFailed' | 'NotFound' | 'CloudUnavailable' | 'Timeout' | 'Internal';

export class S3Error extends Error {
  override readonly name = 'S3Error';
  readonly status: number;
  /** the S3 error code (NoSuchBucket, SignatureDoesNotMatch...) or the network error code */
  readonly code: string;
  readonly reason: S3ErrorReason;

  constructor(status: number, code: string, reason: S3ErrorReason, message: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.reason = reason;
  }
}

export interface ListedObject {
  key: string;
  size: number;
}

const authCodes = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
]);

function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? decodeXml(m[1]!) : undefined;
}

function decodeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

export interface S3ClientOptions extends S3Location {
  credentials: Credentials;
  /** per request; a part upload of 16 MiB on a slow link needs minutes */
  timeoutMs?: number;
}

export class S3Client {
  readonly location: S3Location;
  readonly #creds: Credentials;
  readonly #timeoutMs: number;

  constructor(opts: S3ClientOptions) {
    this.location = { endpoint: opts.endpoint.replace(/\/+$/, ''), bucket: opts.bucket, region: opts.region };
    this.#creds = opts.credentials;
    this.#timeoutMs = opts.timeoutMs ?? 300_000;
  }

  get where(): string {
    return `bucket ${this.location.bucket} at ${this.location.endpoint}`;
  }

  async #request(
    method: string,
    key: string | undefined,
    opts: { query?: Record<string, string>; body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const path = `/${encodeURIComponentPath(this.location.bucket)}${key === undefined ? '' : `/${encodeKey(key)}`}`;
    const url = new URL(this.location.endpoint + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const body = opts.body;
    const headers = signRequest({
      method,
      url,
      headers: {
        ...opts.headers,
        ...(body ? { 'content-length': String(body.byteLength) } : {}),
      },
      payloadSha256: sha256Hex(body ?? new Uint8Array()),
      region: this.location.region,
      credentials: this.#creds,
    });
    delete headers.host; // fetch sets it (and refuses to be told)
    let res: Response;
    try {
      res =
        body && body.byteLength > 1024 * 1024
          ? await sendLarge(url, method, headers, body, this.#timeoutMs)
          : await fetch(url, {
              method,
              headers,
              body: body as Uint8Array<ArrayBuffer> | undefined,
              signal: AbortSignal.timeout(this.#timeoutMs),
            });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      if (err.name === 'TimeoutError')
        throw new S3Error(
          0,
          'Timeout',
          'Timeout',
          `${method} ${key ?? ''} on ${this.where}: no answer within ${this.#timeoutMs / 1000} s`,
        );
      const code = err.cause?.code ?? err.name;
      throw new S3Error(
        0,
        code,
        'CloudUnavailable',
        `cannot reach the object storage at ${this.location.endpoint} (${code}): check spec.storage.s3.endpoint and that the store is running`,
      );
    }
    if (res.ok) return res;
    const text = method === 'HEAD' ? '' : await res.text();
    throw this.#error(res.status, text, method, key);
  }

  #error(status: number, xml: string, method: string, key: string | undefined): S3Error {
    const code =
      xmlValue(xml, 'Code') ??
      (status === 404
        ? key
          ? 'NoSuchKey'
          : 'NoSuchBucket'
        : status === 403
          ? 'AccessDenied'
          : `HTTP${status}`);
    const what = `${method} ${key ?? '(bucket)'} on ${this.where}`;
    if (code === 'NoSuchBucket')
      return new S3Error(
        status,
        code,
        'NotFound',
        `bucket ${this.location.bucket} does not exist at ${this.location.endpoint}: create it (e.g. \`aws s3 mb s3://${this.location.bucket} --endpoint-url ${this.location.endpoint}\`) or fix spec.storage.s3.bucket`,
      );
    if (authCodes.has(code) || status === 401 || status === 403)
      return new S3Error(
        status,
        code,
        'AuthFailed',
        `${what}: the object storage rejected the credentials (${code}): fix accessKeyId/secretAccessKey in the Secret that spec.storage.s3.credentialsRef names`,
      );
    if (code === 'NoSuchKey' || status === 404)
      return new S3Error(status, code, 'NotFound', `${what}: no such object`);
    if (status >= 500)
      return new S3Error(
        status,
        code,
        'CloudUnavailable',
        `${what}: the object storage failed (${status} ${code}); retry later`,
      );
    return new S3Error(
      status,
      code,
      'Internal',
      `${what}: ${status} ${code} ${xmlValue(xml, 'Message') ?? ''}`.trim(),
    );
  }

  /** Throws NotFound (missing bucket) or AuthFailed before a backup uploads anything. */
  async headBucket(): Promise<void> {
    try {
      await this.#request('HEAD', undefined);
    } catch (e) {
      // HEAD has no body: a 404 on the bucket is NoSuchBucket
      if (e instanceof S3Error && e.status === 404)
        throw this.#error(404, '<Code>NoSuchBucket</Code>', 'HEAD', undefined);
      throw e;
    }
  }

  async createBucket(): Promise<void> {
    await this.#request('PUT', undefined).catch((e: unknown) => {
      if (!(
        e instanceof S3Error &&
        (e.code === 'BucketAlreadyOwnedByYou' || e.code === 'BucketAlreadyExists')
      ))
        throw e;
    });
  }

  async deleteBucket(): Promise<void> {
    await this.#request('DELETE', undefined);
  }

  async putObject(key: string, body: Uint8Array, contentType = 'application/octet-stream'): Promise<void> {
    await this.#request('PUT', key, { body, headers: { 'content-type': contentType } });
  }

  async getObject(key: string): Promise<Buffer> {
    const res = await this.#request('GET', key);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The body as a web stream: a large file is never held whole in memory. */
  async getObjectStream(key: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#request('GET', key);
    if (!res.body) throw new S3Error(0, 'EmptyBody', 'Internal', `GET ${key} on ${this.where}: no body`);
    return res.body;
  }

  async headObject(key: string): Promise<{ size: number } | undefined> {
    try {
      const res = await this.#request('HEAD', key);
      return { size: Number(res.headers.get('content-length') ?? 0) };
    } catch (e) {
      if (e instanceof S3Error && e.status === 404) return undefined;
      throw e;
    }
  }

  async deleteObject(key: string): Promise<void> {
    await this.#request('DELETE', key).catch((e: unknown) => {
      if (!(e instanceof S3Error && e.status === 404)) throw e;
    });
  }

  /** Every key under a prefix (ListObjectsV2, paged). */
  async list(prefix: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    for (;;) {
      const query: Record<string, string> = { 'list-type': '2', prefix };
      if (token) query['continuation-token'] = token;
      const xml = await (await this.#request('GET', undefined, { query })).text();
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        out.push({ key: xmlValue(m[1]!, 'Key')!, size: Number(xmlValue(m[1]!, 'Size') ?? 0) });
      }
      token = xmlValue(xml, 'NextContinuationToken');
      if (xmlValue(xml, 'IsTruncated') !== 'true' || !token) return out;
    }
  }

  /** Keys of the "directories" right under a prefix (delimiter "/"). */
  async listPrefixes(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    for (;;) {
      const query: Record<string, string> = { 'list-type': '2', prefix, delimiter: '/' };
      if (token) query['continuation-token'] = token;
      const xml = await (await this.#request('GET', undefined, { query })).text();
      for (const m of xml.matchAll(/<CommonPrefixes>\s*<Prefix>([\s\S]*?)<\/Prefix>/g))
        out.push(decodeXml(m[1]!));
      token = xmlValue(xml, 'NextContinuationToken');
      if (xmlValue(xml, 'IsTruncated') !== 'true' || !token) return out;
    }
  }

  async createMultipartUpload(key: string): Promise<string> {
    const xml = await (await this.#request('POST', key, { query: { uploads: '' } })).text();
    const id = xmlValue(xml, 'UploadId');
    if (!id)
      throw new S3Error(
        0,
        'NoUploadId',
        'Internal',
        `POST ${key}?uploads on ${this.where}: no UploadId in the answer`,
      );
    return id;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Uint8Array): Promise<string> {
    const res = await this.#request('PUT', key, {
      query: { partNumber: String(partNumber), uploadId },
      body,
    });
    return res.headers.get('etag') ?? '';
  }

  async completeMultipartUpload(key: string, uploadId: string, etags: string[]): Promise<void> {
    const parts = etags
      .map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`)
      .join('');
    const body = new TextEncoder().encode(`<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`);
    const res = await this.#request('POST', key, {
      query: { uploadId },
      body,
      headers: { 'content-type': 'application/xml' },
    });
    // S3 may answer 200 with an <Error> body when the completion fails late
    const text = await res.text();
    if (text.includes('<Error>')) throw this.#error(500, text, 'POST', key);
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.#request('DELETE', key, { query: { uploadId } }).catch(() => undefined);
  }

  /** Multipart uploads under a prefix that were started and never completed or aborted. */
  async listMultipartUploads(prefix: string): Promise<{ key: string; uploadId: string }[]> {
    const xml = await (await this.#request('GET', undefined, { query: { uploads: '', prefix } })).text();
    return [...xml.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)].map((m) => ({
      key: xmlValue(m[1]!, 'Key')!,
      uploadId: xmlValue(m[1]!, 'UploadId')!,
    }));
  }
}

function encodeURIComponentPath(bucket: string): string {
  return encodeKey(bucket);
}

/**
 * A large body (a multipart part) through node:http, which writes the caller's buffer as it is:
 * fetch copies every body it is given (WHATWG "extract a body"), and those 16 MiB copies are
 * collected lazily, which made the process's RSS grow by ~340 MiB per GiB uploaded.
 */
function sendLarge(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Uint8Array,
  timeoutMs: number,
): Promise<Response> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        const status = res.statusCode ?? 500;
        const text = Buffer.concat(chunks);
        resolve(new Response(status === 204 || status === 304 ? null : text, { status, headers: h }));
      });
    });
    req.setTimeout(timeoutMs, () => {
      const e = new Error('timeout');
      e.name = 'TimeoutError';
      req.destroy(e);
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.name === 'TimeoutError' ? e : Object.assign(new Error(e.message), { cause: { code: e.code } }),
      ),
    );
    req.end(body);
  });
}
