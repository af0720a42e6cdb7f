// The contract's ownership tags (`kaas.dev/cluster-uid`, `kaas.dev/resource-id`) in each service's
// own form, and back. Every service stores them differently:
//   neutron, nova, octavia  string tags; nova refuses '/' and ',' and more than 60 characters, so
//                           one form for all three: `kaas.dev:cluster-uid=<uid>` ('/' -> ':')
//   cinder                  volume metadata, the keys as they are
//   designate               the recordset description: `kaas.dev/cluster-uid=<uid> kaas.dev/...`
//   nova server groups      nothing at all: the name carries them, as designate's description does
// Tags are written in the same call that creates the resource wherever the API allows it, so that
// nothing can exist untagged (neutron and floating IPs are the exception: see docs/openstack.md).
import type { Tags } from '@kaas/providers';

/** `kaas.dev/cluster-uid` + uid -> `kaas.dev:cluster-uid=<uid>`: a nova-safe tag string. */
export function encodeTag(key: string, value: string): string {
  const tag = `${key.replaceAll('/', ':')}=${value.replaceAll('/', ':')}`;
  if (tag.includes(',') || tag.length > 60) {
    throw new Error(`tag ${JSON.stringify(tag)}: nova allows at most 60 characters and no ','`);
  }
  return tag;
}

export function encodeTags(tags: Tags): string[] {
  return Object.entries(tags).map(([k, v]) => encodeTag(k, v));
}

/** The inverse of encodeTags; tags that are not of the `key=value` form are left out. */
export function decodeTags(tags: readonly string[] | undefined): Tags {
  const out: Tags = {};
  for (const t of tags ?? []) {
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    out[t.slice(0, eq).replaceAll(':', '/')] = t.slice(eq + 1).replaceAll(':', '/');
  }
  return out;
}

/** Tags as words of a free-text field (designate descriptions, server group names). */
export function tagsToText(tags: Tags): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The `key=value` words of a free-text field whose key looks like a tag key (contains '/'). */
export function tagsFromText(text: string | null | undefined): Tags {
  const out: Tags = {};
  for (const word of (text ?? '').split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq <= 0) continue;
    const key = word.slice(0, eq);
    if (key.includes('/')) out[key] = word.slice(eq + 1);
  }
  return out;
}

/** Whether `have` carries every tag of `want`. */
export function carries(have: Tags, want: Tags): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}
