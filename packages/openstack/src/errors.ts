// OpenStack's answers as CloudErrors (packages/providers, docs/providers.md), keeping the cloud's
// own message. Every service words its errors differently:
//   neutron   {"NeutronError": {"type": "OverQuota", "message": "..."}}
//   nova      {"forbidden": {"code": 403, "message": "Quota exceeded for cores: ..."}}
//   cinder    {"overLimit": {"code": 413, "message": "VolumeLimitExceeded: ..."}}
//   octavia   {"faultcode": "Client", "faultstring": "Quota has been met for resources: ..."}
//   designate {"code": 413, "type": "over_quota", "message": "..."}
//   keystone  {"error": {"code": 401, "message": "..."}}
//   glance    an HTML or plain text page
import { CloudError } from '@kaas/providers';
import type { CloudErrorCode } from '@kaas/providers';

/** The cloud's own message from an error body (JSON of any service's shape, or text). */
export function openStackMessage(body: unknown, text: string): string {
  const pick = (o: unknown): string | undefined => {
    if (typeof o !== 'object' || o === null) return undefined;
    const r = o as Record<string, unknown>;
    for (const k of ['message', 'faultstring', 'detail', 'title', 'explanation']) {
      if (typeof r[k] === 'string' && r[k] !== '') return r[k];
    }
    return undefined;
  };
  const direct = pick(body);
  if (direct !== undefined) return direct;
  if (typeof body === 'object' && body !== null) {
    for (const v of Object.values(body as Record<string, unknown>)) {
      const inner = pick(v);
      if (inner !== undefined) return inner;
    }
  }
  if (body !== undefined) return '';
  // HTML error pages (glance, proxies): the text without tags, on one line
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.slice(0, 500);
}

/** The error type a service names (neutron's NeutronError.type, designate's type, nova's key). */
function openStackType(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const r = body as Record<string, unknown>;
  if (typeof r.type === 'string') return r.type;
  const ne = r.NeutronError as Record<string, unknown> | undefined;
  if (ne && typeof ne.type === 'string') return ne.type;
  const keys = Object.keys(r);
  return keys.length === 1 ? keys[0]! : '';
}

const QUOTA = /quota|over ?limit|limit ?exceeded|OverQuota|over_quota|VolumeLimitExceeded/i;

/** Whether an answer is a quota refusal: 413 always; 403 and 409 when the words say so. */
export function isQuotaAnswer(status: number, body: unknown, text: string): boolean {
  if (status === 413) return true;
  if (status !== 403 && status !== 409 && status !== 400) return false;
  return QUOTA.test(openStackType(body)) || QUOTA.test(openStackMessage(body, text));
}

export function codeForStatus(status: number, body: unknown, text: string): CloudErrorCode {
  if (isQuotaAnswer(status, body, text)) return 'QuotaExceeded';
  if (status === 401 || status === 403) return 'AuthFailed';
  if (status === 404) return 'NotFound';
  if (status === 409) return 'Conflict';
  if (status === 408 || status === 504) return 'Timeout';
  if (status >= 500 || status === 429) return 'CloudUnavailable';
  return 'InvalidSpec';
}

export function httpCloudError(opts: {
  service: string;
  method: string;
  url: string;
  status: number;
  body: unknown;
  text: string;
  requestId?: string | undefined;
}): CloudError {
  const cloudMessage = openStackMessage(opts.body, opts.text);
  const code = codeForStatus(opts.status, opts.body, opts.text);
  const path = new URL(opts.url).pathname;
  const rid = opts.requestId ? ` [${opts.requestId}]` : '';
  return new CloudError(
    code,
    `${opts.service} ${opts.method} ${path}: HTTP ${opts.status}${cloudMessage ? `: ${cloudMessage}` : ''}${rid}`,
    { cloudMessage, status: opts.status },
  );
}
