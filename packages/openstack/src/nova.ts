// nova (compute v2.1): servers (user data, metadata, tags), flavors, key pairs, server groups
// (anti-affinity), quotas. Microversion negotiation: the endpoint's version document says which
// microversions the cloud speaks; the client asks for the highest it knows up to that, and sends
// it on every request (`OpenStack-API-Version: compute X.Y`, and the legacy header).
import { CloudError } from '@kaas/providers';
import type { Session } from './session.ts';
import { single, waitFor } from './resource.ts';
import type { Query, WaitOptions } from './resource.ts';

/** The highest microversion this client is written against (Zed speaks 2.93). */
export const NOVA_MAX_MICROVERSION = '2.79';
/** Below this there are no server tags (2.26) or server group `policy` (2.64): not supported. */
export const NOVA_MIN_MICROVERSION = '2.26';

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
  'OS-FLV-EXT-DATA:ephemeral'?: number;
  'os-flavor-access:is_public'?: boolean;
}
export interface Server {
  id: string;
  name: string;
  status: string;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:vm_state'?: string;
  addresses: Record<string, { addr: string; version: number; 'OS-EXT-IPS:type'?: string }[]>;
  metadata: Record<string, string>;
  tags?: string[];
  flavor: { id?: string; original_name?: string };
  image: { id: string } | '';
  key_name: string | null;
  fault?: { code: number; message: string; details?: string };
  created: string;
}
export interface Keypair {
  name: string;
  public_key: string;
  fingerprint: string;
  type?: string;
}
export interface ServerGroup {
  id: string;
  name: string;
  policy?: string;
  policies?: string[];
  members: string[];
}
export type ComputeQuotaDetail = Record<string, { limit: number; in_use: number; reserved: number }>;

/** "2.79" -> [2, 79] */
export function parseMicroversion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  if (!m) throw new Error(`not a microversion: ${v}`);
  return [Number(m[1]), Number(m[2])];
}
export function compareMicroversions(a: string, b: string): number {
  const [a1, a2] = parseMicroversion(a);
  const [b1, b2] = parseMicroversion(b);
  return a1 - b1 || a2 - b2;
}
/** The microversion to use: ours capped by the cloud's, or undefined if the cloud is too old. */
export function negotiateMicroversion(
  server: { min: string; max: string },
  client: { min: string; max: string },
): string | undefined {
  if (server.max === '' || server.max === undefined) return undefined;
  const v = compareMicroversions(client.max, server.max) <= 0 ? client.max : server.max;
  if (compareMicroversions(v, client.min) < 0 || compareMicroversions(v, server.min || '2.1') < 0)
    return undefined;
  return v;
}

export interface CreateServer {
  name: string;
  flavorId: string;
  imageId?: string;
  /** boot from a new volume of this size made from imageId */
  bootVolumeGb?: number;
  /** boot from this existing (bootable) volume; it outlives the server */
  bootVolumeId?: string;
  networks?: ({ uuid: string } | { port: string })[] | 'none' | 'auto';
  securityGroups?: string[];
  keyName?: string;
  /** cloud-init user data, plain text (base64-encoded here) */
  userData?: string;
  metadata?: Record<string, string>;
  tags?: string[];
  serverGroupId?: string;
  availabilityZone?: string;
  configDrive?: boolean;
}

export class Nova {
  readonly session: Session;
  #microversion: Promise<string> | undefined;

  constructor(session: Session) {
    this.session = session;
  }

  /** The negotiated microversion (asked once per client). */
  microversion(): Promise<string> {
    this.#microversion ??= this.#negotiate().catch((e: unknown) => {
      this.#microversion = undefined;
      throw e;
    });
    return this.#microversion;
  }

  async #negotiate(): Promise<string> {
    // the endpoint itself (…/v2.1) answers {"version": {"min_version", "version"}}
    const res = await this.session.request('compute', 'GET', '/');
    const doc = (res.body?.version ?? {}) as { version?: string; min_version?: string };
    const v = negotiateMicroversion(
      { min: doc.min_version ?? '', max: doc.version ?? '' },
      { min: NOVA_MIN_MICROVERSION, max: NOVA_MAX_MICROVERSION },
    );
    if (v === undefined) {
      throw new CloudError(
        'InvalidSpec',
        `compute API microversions ${doc.min_version ?? '?'}..${doc.version ?? '?'}: this client needs ${NOVA_MIN_MICROVERSION}..${NOVA_MAX_MICROVERSION}`,
      );
    }
    return v;
  }

  async #headers(): Promise<Record<string, string>> {
    const mv = await this.microversion();
    return { 'openstack-api-version': `compute ${mv}`, 'x-openstack-nova-api-version': mv };
  }

  async #call<T = any>(
    method: string,
    path: string,
    opts: { body?: unknown; query?: Query; retryConflict?: boolean } = {},
  ): Promise<T> {
    const res = await this.session.request('compute', method, path, {
      ...opts,
      headers: await this.#headers(),
    });
    return res.body as T;
  }
  async #list<T>(path: string, key: string, query: Query = {}): Promise<T[]> {
    return this.session.list<T>('compute', path, key, { query, headers: await this.#headers() });
  }

  // ---- flavors
  listFlavors(query: Query = {}): Promise<Flavor[]> {
    return this.#list('/flavors/detail', 'flavors', query);
  }
  async findFlavor(name: string): Promise<Flavor | undefined> {
    const all = await this.listFlavors({ is_public: 'None' });
    return single(
      all.filter((f) => f.name === name || f.id === name),
      `flavors named "${name}"`,
    );
  }
  /** admin only */
  async createFlavor(f: {
    name: string;
    id?: string;
    vcpus: number;
    ramMb: number;
    diskGb: number;
  }): Promise<Flavor> {
    return (
      await this.#call<{ flavor: Flavor }>('POST', '/flavors', {
        body: { flavor: { name: f.name, id: f.id ?? null, vcpus: f.vcpus, ram: f.ramMb, disk: f.diskGb } },
        retryConflict: false,
      })
    ).flavor;
  }
  async ensureFlavor(f: Parameters<Nova['createFlavor']>[0]): Promise<Flavor> {
    return (await this.findFlavor(f.name)) ?? this.createFlavor(f);
  }
  async deleteFlavor(id: string): Promise<void> {
    await this.#call('DELETE', `/flavors/${id}`);
  }

  // ---- key pairs
  async listKeypairs(): Promise<Keypair[]> {
    return (await this.#call<{ keypairs: { keypair: Keypair }[] }>('GET', '/os-keypairs')).keypairs.map(
      (k) => k.keypair,
    );
  }
  async findKeypair(name: string): Promise<Keypair | undefined> {
    try {
      return (await this.#call<{ keypair: Keypair }>('GET', `/os-keypairs/${encodeURIComponent(name)}`))
        .keypair;
    } catch (e) {
      if (e instanceof CloudError && e.code === 'NotFound') return undefined;
      throw e;
    }
  }
  async createKeypair(k: { name: string; publicKey: string; type?: 'ssh' | 'x509' }): Promise<Keypair> {
    return (
      await this.#call<{ keypair: Keypair }>('POST', '/os-keypairs', {
        body: { keypair: { name: k.name, public_key: k.publicKey, type: k.type ?? 'ssh' } },
        retryConflict: false,
      })
    ).keypair;
  }
  async ensureKeypair(k: Parameters<Nova['createKeypair']>[0]): Promise<Keypair> {
    const have = await this.findKeypair(k.name);
    if (have && have.public_key.trim() !== k.publicKey.trim()) {
      throw new CloudError('Conflict', `key pair "${k.name}" exists with another public key`);
    }
    return have ?? this.createKeypair(k);
  }
  async deleteKeypair(name: string): Promise<void> {
    await this.#call('DELETE', `/os-keypairs/${encodeURIComponent(name)}`);
  }

  // ---- server groups
  async listServerGroups(): Promise<ServerGroup[]> {
    return (await this.#call<{ server_groups: ServerGroup[] }>('GET', '/os-server-groups')).server_groups;
  }
  async findServerGroup(name: string): Promise<ServerGroup | undefined> {
    return single(
      (await this.listServerGroups()).filter((g) => g.name === name),
      `server groups named "${name}"`,
    );
  }
  async createServerGroup(g: {
    name: string;
    policy: 'anti-affinity' | 'affinity' | 'soft-anti-affinity' | 'soft-affinity';
  }): Promise<ServerGroup> {
    const mv = await this.microversion();
    // 2.64 replaced `policies: [p]` with `policy: p`
    const body =
      compareMicroversions(mv, '2.64') >= 0
        ? { name: g.name, policy: g.policy }
        : { name: g.name, policies: [g.policy] };
    return (
      await this.#call<{ server_group: ServerGroup }>('POST', '/os-server-groups', {
        body: { server_group: body },
      })
    ).server_group;
  }
  async ensureServerGroup(g: Parameters<Nova['createServerGroup']>[0]): Promise<ServerGroup> {
    return (await this.findServerGroup(g.name)) ?? this.createServerGroup(g);
  }
  async deleteServerGroup(id: string): Promise<void> {
    await this.#call('DELETE', `/os-server-groups/${id}`);
  }

  // ---- servers
  listServers(query: Query = {}): Promise<Server[]> {
    return this.#list('/servers/detail', 'servers', query);
  }
  /** Servers with every tag (nova's `tags` filter: comma separated, all must match). */
  listServersByTags(tags: readonly string[]): Promise<Server[]> {
    return this.listServers({ tags: tags.join(',') });
  }
  async getServer(id: string): Promise<Server> {
    return (await this.#call<{ server: Server }>('GET', `/servers/${id}`)).server;
  }
  async findServer(name: string): Promise<Server | undefined> {
    // nova's name filter is a regular expression: anchor it, then compare exactly
    const candidates = await this.listServers({ name: `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` });
    return single(
      candidates.filter((s) => s.name === name && s.status !== 'DELETED'),
      `servers named "${name}"`,
    );
  }
  async createServer(s: CreateServer): Promise<Server> {
    const server: Record<string, unknown> = {
      name: s.name,
      flavorRef: s.flavorId,
      networks: s.networks ?? 'auto',
    };
    if (s.bootVolumeId !== undefined) {
      server.block_device_mapping_v2 = [
        {
          boot_index: 0,
          uuid: s.bootVolumeId,
          source_type: 'volume',
          destination_type: 'volume',
          delete_on_termination: false,
        },
      ];
      server.imageRef = '';
    } else if (s.bootVolumeGb !== undefined) {
      if (!s.imageId)
        throw new CloudError('InvalidSpec', `server ${s.name}: boot from volume needs an image`);
      server.block_device_mapping_v2 = [
        {
          boot_index: 0,
          uuid: s.imageId,
          source_type: 'image',
          destination_type: 'volume',
          volume_size: s.bootVolumeGb,
          delete_on_termination: true,
        },
      ];
      server.imageRef = '';
    } else if (s.imageId) server.imageRef = s.imageId;
    if (s.securityGroups) server.security_groups = s.securityGroups.map((name) => ({ name }));
    if (s.keyName) server.key_name = s.keyName;
    if (s.userData !== undefined) server.user_data = Buffer.from(s.userData, 'utf8').toString('base64');
    if (s.metadata) server.metadata = s.metadata;
    if (s.tags) server.tags = s.tags;
    if (s.availabilityZone) server.availability_zone = s.availabilityZone;
    if (s.configDrive !== undefined) server.config_drive = s.configDrive;
    const body: Record<string, unknown> = { server };
    if (s.serverGroupId) body['os:scheduler_hints'] = { group: s.serverGroupId };
    const created = (await this.#call<{ server: { id: string } }>('POST', '/servers', { body })).server;
    return this.getServer(created.id);
  }
  async ensureServer(s: CreateServer): Promise<Server> {
    return (await this.findServer(s.name)) ?? this.createServer(s);
  }
  /**
   * Until ACTIVE; ERROR ends the wait with nova's fault message. A fault that is nova's quota
   * recheck is QuotaExceeded, as the API's own refusal would be: creates that overlap all pass the
   * API's count, and the conductor's recheck (`[quota] recheck_quota`) then puts the ones over the
   * limit in ERROR with "Quota exceeded for instances: Requested 1, but already used 2 of 2".
   */
  async waitForServer(id: string, opts: WaitOptions = {}): Promise<Server> {
    try {
      return await waitFor(
        `server ${id}`,
        () => this.getServer(id),
        (s) => s.status === 'ACTIVE',
        {
          ...opts,
          failed: (s) =>
            s.status === 'ERROR' ? `ERROR: ${s.fault?.message ?? 'no fault given'}` : undefined,
          describe: (s) => `${s.status}/${s['OS-EXT-STS:task_state'] ?? '-'}`,
        },
      );
    } catch (e) {
      if (
        e instanceof CloudError &&
        e.code === 'InvalidSpec' &&
        /^ERROR: Quota exceeded/i.test(e.cloudMessage ?? '')
      )
        throw new CloudError('QuotaExceeded', e.message, {
          cloudMessage: e.cloudMessage!.slice('ERROR: '.length),
          cause: e,
        });
      throw e;
    }
  }
  async deleteServer(id: string): Promise<void> {
    await this.#call('DELETE', `/servers/${id}`);
  }
  /** Until nova no longer lists the server. */
  async waitForServerGone(id: string, opts: WaitOptions = {}): Promise<void> {
    await waitFor(
      `server ${id} deletion`,
      async () => {
        try {
          return (await this.getServer(id)).status;
        } catch (e) {
          if (e instanceof CloudError && e.code === 'NotFound') return 'GONE';
          throw e;
        }
      },
      (s) => s === 'GONE' || s === 'DELETED',
      { ...opts, failed: (s) => (s === 'ERROR' ? 'the server went to ERROR while deleting' : undefined) },
    );
  }
  async setMetadata(id: string, metadata: Record<string, string>): Promise<Record<string, string>> {
    return (
      await this.#call<{ metadata: Record<string, string> }>('POST', `/servers/${id}/metadata`, {
        body: { metadata },
      })
    ).metadata;
  }
  async getMetadata(id: string): Promise<Record<string, string>> {
    return (await this.#call<{ metadata: Record<string, string> }>('GET', `/servers/${id}/metadata`))
      .metadata;
  }
  async setTags(id: string, tags: readonly string[]): Promise<string[]> {
    return (await this.#call<{ tags: string[] }>('PUT', `/servers/${id}/tags`, { body: { tags } })).tags;
  }
  async getTags(id: string): Promise<string[]> {
    return (await this.#call<{ tags: string[] }>('GET', `/servers/${id}/tags`)).tags;
  }
  /** The server's ports (neutron) as nova sees them. */
  async interfaces(
    id: string,
  ): Promise<{ port_id: string; net_id: string; fixed_ips: { ip_address: string }[] }[]> {
    return (await this.#call<{ interfaceAttachments: any[] }>('GET', `/servers/${id}/os-interface`))
      .interfaceAttachments;
  }
  /** Attaches a cinder volume (nova drives the cinder attachment). */
  async attachVolume(serverId: string, volumeId: string): Promise<{ id: string; device: string | null }> {
    return (
      await this.#call<{ volumeAttachment: { id: string; device: string | null } }>(
        'POST',
        `/servers/${serverId}/os-volume_attachments`,
        { body: { volumeAttachment: { volumeId } } },
      )
    ).volumeAttachment;
  }
  async detachVolume(serverId: string, volumeId: string): Promise<void> {
    await this.#call('DELETE', `/servers/${serverId}/os-volume_attachments/${volumeId}`);
  }

  // ---- quotas
  async quotas(projectId?: string): Promise<ComputeQuotaDetail> {
    const pid = projectId ?? (await this.session.projectId());
    const set = (
      await this.#call<{ quota_set: Record<string, unknown> }>('GET', `/os-quota-sets/${pid}/detail`)
    ).quota_set;
    const out: ComputeQuotaDetail = {};
    for (const [k, v] of Object.entries(set)) if (typeof v === 'object' && v !== null) out[k] = v as never;
    return out;
  }
  async setQuotas(projectId: string, quota: Record<string, number>): Promise<void> {
    await this.#call('PUT', `/os-quota-sets/${projectId}`, { body: { quota_set: quota } });
  }
}
