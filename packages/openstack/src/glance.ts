// glance (image v2): image lookup by name (what a cluster spec names), and create/upload/delete
// for the tests' fixtures. Quotas: glance's are per-store usage (`/v2/info/usage`, Yoga+).
import { CloudError } from '@kaas/providers';
import type { Session } from './session.ts';
import { single, waitFor } from './resource.ts';
import type { Query, WaitOptions } from './resource.ts';

export interface Image {
  id: string;
  name: string;
  status: string;
  visibility: 'public' | 'private' | 'shared' | 'community';
  disk_format: string | null;
  container_format: string | null;
  size: number | null;
  min_disk: number;
  min_ram: number;
  tags: string[];
  os_distro?: string;
}

export class Glance {
  readonly session: Session;

  constructor(session: Session) {
    this.session = session;
  }

  listImages(query: Query = {}): Promise<Image[]> {
    return this.session.list<Image>('image', '/images', 'images', { query });
  }
  async getImage(id: string): Promise<Image> {
    return (await this.session.request('image', 'GET', `/images/${id}`)).body as Image;
  }
  /**
   * The active image called `name` (or with that id). Several with one name: the newest active
   * one, as the openstack CLI does not; a spec that names an image must get a definite answer, so
   * more than one active image of that name is a Conflict.
   */
  async findImage(nameOrId: string, opts: { includeInactive?: boolean } = {}): Promise<Image | undefined> {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nameOrId)) {
      try {
        return await this.getImage(nameOrId);
      } catch (e) {
        if (!(e instanceof CloudError && e.code === 'NotFound')) throw e;
      }
    }
    const all = await this.listImages({
      name: nameOrId,
      ...(opts.includeInactive ? {} : { status: 'active' }),
    });
    return single(all, `images named "${nameOrId}"`);
  }
  async createImage(i: {
    name: string;
    diskFormat?: string;
    containerFormat?: string;
    visibility?: Image['visibility'];
    tags?: string[];
    minDiskGb?: number;
  }): Promise<Image> {
    return (
      await this.session.request('image', 'POST', '/images', {
        body: {
          name: i.name,
          disk_format: i.diskFormat ?? 'raw',
          container_format: i.containerFormat ?? 'bare',
          ...(i.visibility ? { visibility: i.visibility } : {}),
          ...(i.tags ? { tags: i.tags } : {}),
          ...(i.minDiskGb !== undefined ? { min_disk: i.minDiskGb } : {}),
        },
      })
    ).body as Image;
  }
  async upload(id: string, data: Uint8Array): Promise<void> {
    await this.session.request('image', 'PUT', `/images/${id}/file`, {
      rawBody: { data, contentType: 'application/octet-stream' },
      timeoutMs: 600_000,
    });
  }
  waitForImage(id: string, opts: WaitOptions = {}): Promise<Image> {
    return waitFor(
      `image ${id}`,
      () => this.getImage(id),
      (i) => i.status === 'active',
      {
        ...opts,
        failed: (i) => (i.status === 'killed' || i.status === 'deleted' ? i.status : undefined),
        describe: (i) => i.status,
      },
    );
  }
  /** The named image, created from `data` if missing (a fixture for test clouds). */
  async ensureImage(i: Parameters<Glance['createImage']>[0] & { data: Uint8Array }): Promise<Image> {
    const have = await this.findImage(i.name, { includeInactive: true });
    if (have?.status === 'active') return have;
    const img = have ?? (await this.createImage(i));
    if (img.status === 'queued') await this.upload(img.id, i.data);
    return this.waitForImage(img.id);
  }
  async deleteImage(id: string): Promise<void> {
    await this.session.request('image', 'DELETE', `/images/${id}`);
  }
  /** Per-project usage and limits (unified limits; glance Yoga+ with quotas enabled). */
  async quotas(): Promise<Record<string, { limit: number; usage: number }>> {
    return ((await this.session.request('image', 'GET', '/info/usage')).body?.usage ?? {}) as Record<
      string,
      { limit: number; usage: number }
    >;
  }
}
