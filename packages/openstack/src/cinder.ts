// cinder (block-storage v3): volumes, attachments (as cinder records them; nova attaches), quotas.
import { CloudError } from '@kaas/providers';
import type { Session } from './session.ts';
import { single, waitFor } from './resource.ts';
import type { Query, WaitOptions } from './resource.ts';

export interface Volume {
  id: string;
  name: string;
  size: number;
  status: string;
  volume_type: string | null;
  availability_zone: string;
  bootable: string;
  attachments: { server_id: string; attachment_id: string; device: string | null }[];
  metadata: Record<string, string>;
}
export type VolumeQuotaDetail = Record<string, { limit: number; in_use: number; reserved: number }>;

export class Cinder {
  readonly session: Session;
  readonly wait: WaitOptions;

  constructor(session: Session, opts: { wait?: WaitOptions } = {}) {
    this.session = session;
    this.wait = opts.wait ?? { timeoutMs: 300_000 };
  }

  listVolumes(query: Query = {}): Promise<Volume[]> {
    return this.session.list('block-storage', '/volumes/detail', 'volumes', { query });
  }
  async getVolume(id: string): Promise<Volume> {
    return (await this.session.request('block-storage', 'GET', `/volumes/${id}`)).body.volume as Volume;
  }
  async findVolume(name: string): Promise<Volume | undefined> {
    return single(
      (await this.listVolumes({ name })).filter((v) => v.status !== 'deleting'),
      `volumes named "${name}"`,
    );
  }
  /** Volumes whose metadata has every key=value (cinder's tags are metadata). */
  listVolumesByMetadata(metadata: Record<string, string>): Promise<Volume[]> {
    return this.listVolumes({ metadata: JSON.stringify(metadata) });
  }
  async createVolume(v: {
    name: string;
    sizeGb: number;
    volumeType?: string;
    imageId?: string;
    availabilityZone?: string;
    metadata?: Record<string, string>;
  }): Promise<Volume> {
    return (
      await this.session.request('block-storage', 'POST', '/volumes', {
        body: {
          volume: {
            name: v.name,
            size: v.sizeGb,
            ...(v.volumeType ? { volume_type: v.volumeType } : {}),
            ...(v.imageId ? { imageRef: v.imageId } : {}),
            ...(v.availabilityZone ? { availability_zone: v.availabilityZone } : {}),
            ...(v.metadata ? { metadata: v.metadata } : {}),
          },
        },
      })
    ).body.volume as Volume;
  }
  /** The named volume, created if missing, once available (or in-use). */
  async ensureVolume(v: Parameters<Cinder['createVolume']>[0]): Promise<Volume> {
    const vol = (await this.findVolume(v.name)) ?? (await this.createVolume(v));
    return this.waitForVolume(vol.id, ['available', 'in-use']);
  }
  waitForVolume(
    id: string,
    statuses: string[] = ['available'],
    opts: WaitOptions = this.wait,
  ): Promise<Volume> {
    return waitFor(
      `volume ${id}`,
      () => this.getVolume(id),
      (v) => statuses.includes(v.status),
      {
        ...opts,
        failed: (v) => (v.status.startsWith('error') ? `status ${v.status}` : undefined),
        describe: (v) => v.status,
      },
    );
  }
  async deleteVolume(id: string, opts: { wait?: boolean } = {}): Promise<void> {
    await this.session.request('block-storage', 'DELETE', `/volumes/${id}`);
    if (!opts.wait) return;
    await waitFor(
      `volume ${id} deletion`,
      async () => {
        try {
          return (await this.getVolume(id)).status;
        } catch (e) {
          if (e instanceof CloudError && e.code === 'NotFound') return 'GONE';
          throw e;
        }
      },
      (s) => s === 'GONE',
      { ...this.wait, failed: (s) => (s === 'error_deleting' ? s : undefined) },
    );
  }
  /** cinder's attachment records (3.27+), e.g. to see which server holds a volume. */
  async listAttachments(
    query: Query = {},
  ): Promise<{ id: string; volume_id: string; instance: string; status: string }[]> {
    return (
      await this.session.request('block-storage', 'GET', '/attachments', {
        query,
        headers: { 'openstack-api-version': 'volume 3.27' },
      })
    ).body.attachments as { id: string; volume_id: string; instance: string; status: string }[];
  }

  async quotas(projectId?: string): Promise<VolumeQuotaDetail> {
    const pid = projectId ?? (await this.session.projectId());
    const set = (
      await this.session.request('block-storage', 'GET', `/os-quota-sets/${pid}`, { query: { usage: true } })
    ).body.quota_set as Record<string, unknown>;
    const out: VolumeQuotaDetail = {};
    for (const [k, v] of Object.entries(set)) if (typeof v === 'object' && v !== null) out[k] = v as never;
    return out;
  }
}
