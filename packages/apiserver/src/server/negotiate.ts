// Content negotiation as real clients do it: JSON, YAML, protobuf, and Table/PartialObjectMetadata
// responses selected through Accept parameters.
import { errors } from '../errors.ts';

export const mediaJSON = 'application/json';
export const mediaYAML = 'application/yaml';
export const mediaProtobuf = 'application/vnd.kubernetes.protobuf';
export const mediaProtobufWatch = 'application/vnd.kubernetes.protobuf;stream=watch';

export interface MediaType {
  type: string;
  params: Record<string, string>;
}

export function parseMediaType(s: string): MediaType {
  const [type = '', ...params] = s.split(';');
  const p: Record<string, string> = {};
  for (const kv of params) {
    const eq = kv.indexOf('=');
    if (eq > 0)
      p[kv.slice(0, eq).trim().toLowerCase()] = kv
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, '');
  }
  return { type: type.trim().toLowerCase(), params: p };
}

export type ResponseShape = 'object' | 'table' | 'metadata';
export type Encoding = 'json' | 'yaml' | 'protobuf';

export interface ResponseFormat {
  encoding: Encoding;
  shape: ResponseShape;
  /** Content-Type to send back. */
  contentType: string;
  /** For aggregated discovery. */
  aggregated?: 'v2' | 'v2beta1';
  /** Table includeObject, from the query. */
}

/**
 * Chooses the response format from the Accept header. `protobufAllowed` is false for kinds with
 * no protobuf schema (custom resources), so a client asking protobuf-first falls back to JSON as
 * upstream does.
 */
export function negotiate(accept: string | undefined, protobufAllowed: boolean): ResponseFormat {
  if (!accept) return { encoding: 'json', shape: 'object', contentType: mediaJSON };
  for (const part of accept.split(',')) {
    const m = parseMediaType(part);
    if (!m.type) continue;
    const as = m.params.as;
    if (as === 'Table' || as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
      if (m.params.g !== 'meta.k8s.io' || (m.params.v !== 'v1' && m.params.v !== 'v1beta1')) continue;
      if (m.type !== mediaJSON) continue;
      return {
        encoding: 'json',
        shape: as === 'Table' ? 'table' : 'metadata',
        contentType: `${mediaJSON};as=${as};v=${m.params.v};g=meta.k8s.io`,
      };
    }
    if (as) continue;
    if (m.type === mediaJSON || m.type === '*/*' || m.type === 'application/*') {
      return { encoding: 'json', shape: 'object', contentType: mediaJSON };
    }
    if (m.type === mediaYAML) return { encoding: 'yaml', shape: 'object', contentType: mediaYAML };
    if (m.type === mediaProtobuf && protobufAllowed) {
      return { encoding: 'protobuf', shape: 'object', contentType: mediaProtobuf };
    }
  }
  throw errors.notAcceptable(accept);
}

/** For discovery documents: aggregated discovery when asked for, else plain JSON. */
export function negotiateDiscovery(accept: string | undefined): ResponseFormat {
  if (accept) {
    for (const part of accept.split(',')) {
      const m = parseMediaType(part);
      if (
        m.type === mediaJSON &&
        m.params.as === 'APIGroupDiscoveryList' &&
        m.params.g === 'apidiscovery.k8s.io'
      ) {
        const v = m.params.v === 'v2' ? 'v2' : m.params.v === 'v2beta1' ? 'v2beta1' : undefined;
        if (v) {
          return {
            encoding: 'json',
            shape: 'object',
            aggregated: v,
            contentType: `${mediaJSON};g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
          };
        }
      }
    }
  }
  return { encoding: 'json', shape: 'object', contentType: mediaJSON };
}

export type BodyType = 'json' | 'yaml' | 'protobuf';

export const patchTypes = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;

/** The encoding of a request body. A missing Content-Type is JSON (kubectl 1.20 sends none). */
export function bodyType(contentType: string | undefined): BodyType {
  if (!contentType) return 'json';
  const t = parseMediaType(contentType).type;
  if (t === mediaJSON || t === '' || t === 'text/plain') return 'json';
  if (t === mediaYAML || t === 'application/x-yaml' || t === 'text/yaml') return 'yaml';
  if (t === mediaProtobuf) return 'protobuf';
  throw errors.unsupportedMediaType(contentType, [mediaJSON, mediaYAML, mediaProtobuf]);
}
