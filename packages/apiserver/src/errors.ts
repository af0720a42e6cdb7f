// The API server's one error vocabulary. Everything that reaches a client is a metav1.Status.
import type { FieldCause } from './registry/types.ts';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Expired'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'MethodNotAllowed'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: FieldCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  override name = 'StatusError';
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

interface Target {
  group: string;
  /** plural resource name, as upstream puts in details.kind */
  resource: string;
  name?: string;
}

function qualified(t: Target): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

export const errors = {
  badRequest: (message: string) => new StatusError(400, 'BadRequest', message),
  unauthorized: (message = 'Unauthorized') => new StatusError(401, 'Unauthorized', message),
  forbidden: (message: string, t?: Target) =>
    new StatusError(
      403,
      'Forbidden',
      message,
      t ? { name: t.name, group: t.group, kind: t.resource } : undefined,
    ),
  notFound: (t: Target) =>
    new StatusError(404, 'NotFound', `${qualified(t)} "${t.name ?? ''}" not found`, {
      name: t.name,
      group: t.group,
      kind: t.resource,
    }),
  alreadyExists: (t: Target) =>
    new StatusError(409, 'AlreadyExists', `${qualified(t)} "${t.name ?? ''}" already exists`, {
      name: t.name,
      group: t.group,
      kind: t.resource,
    }),
  conflict: (t: Target, why: string) =>
    new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ''}": ${why}`,
      {
        name: t.name,
        group: t.group,
        kind: t.resource,
      },
    ),
  gone: (message: string) => new StatusError(410, 'Expired', message),
  invalid: (kind: string, group: string, name: string, causes: FieldCause[]) =>
    new StatusError(
      422,
      'Invalid',
      `${kind}${group ? '.' + group : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
      { name, group, kind, causes },
    ),
  tooLarge: (limitBytes: number) =>
    new StatusError(
      413,
      'RequestEntityTooLarge',
      `the request body is larger than the limit of ${limitBytes} bytes`,
    ),
  unsupportedMediaType: (contentType: string, supported: readonly string[]) =>
    new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')} (got ${JSON.stringify(contentType)})`,
    ),
  notAcceptable: (accept: string) =>
    new StatusError(
      406,
      'NotAcceptable',
      `none of the requested media types can be served: ${JSON.stringify(accept)}`,
    ),
  methodNotAllowed: (verb: string, resource: string) =>
    new StatusError(
      405,
      'MethodNotAllowed',
      `${verb} is not supported on resource ${JSON.stringify(resource)}`,
    ),
  tooManyRequests: (message: string, retryAfterSeconds: number) =>
    new StatusError(429, 'TooManyRequests', message, { retryAfterSeconds }),
  internal: (message: string) => new StatusError(500, 'InternalError', `Internal error occurred: ${message}`),
  unavailable: (message: string) => new StatusError(503, 'ServiceUnavailable', message),
};
