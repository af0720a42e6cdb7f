// designate (dns v2): zones and recordsets, quotas. Zones and recordsets go PENDING, then ACTIVE
// once the backend has them; ERROR ends a wait.
import { CloudError } from '@kaas/providers';
import type { Session } from './session.ts';
import { single, waitFor } from './resource.ts';
import type { Query, WaitOptions } from './resource.ts';

export interface Zone {
  id: string;
  name: string;
  email: string;
  ttl: number;
  serial: number;
  status: string;
  action: string;
  type: 'PRIMARY' | 'SECONDARY';
  description: string | null;
}
export interface Recordset {
  id: string;
  zone_id: string;
  name: string;
  type: string;
  records: string[];
  ttl: number | null;
  status: string;
  action: string;
  description: string | null;
}

/** A DNS name with its trailing dot, as designate wants it. */
export function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

export class Designate {
  readonly session: Session;
  readonly wait: WaitOptions;

  constructor(session: Session, opts: { wait?: WaitOptions } = {}) {
    this.session = session;
    this.wait = opts.wait ?? { timeoutMs: 300_000 };
  }

  // ---- zones
  listZones(query: Query = {}): Promise<Zone[]> {
    return this.session.list('dns', '/zones', 'zones', { query });
  }
  async getZone(id: string): Promise<Zone> {
    return (await this.session.request('dns', 'GET', `/zones/${id}`)).body as Zone;
  }
  async findZone(name: string): Promise<Zone | undefined> {
    return single(await this.listZones({ name: fqdn(name) }), `zones named "${fqdn(name)}"`);
  }
  async createZone(z: { name: string; email: string; ttl?: number; description?: string }): Promise<Zone> {
    return (
      await this.session.request('dns', 'POST', '/zones', {
        body: {
          name: fqdn(z.name),
          email: z.email,
          ...(z.ttl !== undefined ? { ttl: z.ttl } : {}),
          ...(z.description ? { description: z.description } : {}),
        },
        retryConflict: false,
      })
    ).body as Zone;
  }
  async ensureZone(z: Parameters<Designate['createZone']>[0]): Promise<Zone> {
    const zone = (await this.findZone(z.name)) ?? (await this.createZone(z));
    return this.waitForZone(zone.id);
  }
  waitForZone(id: string, opts: WaitOptions = this.wait): Promise<Zone> {
    return waitFor(
      `zone ${id}`,
      () => this.getZone(id),
      (z) => z.status === 'ACTIVE',
      {
        ...opts,
        failed: (z) => (z.status === 'ERROR' ? `zone ${z.name} ERROR (${z.action})` : undefined),
        describe: (z) => `${z.status}/${z.action}`,
      },
    );
  }
  async deleteZone(id: string): Promise<void> {
    await this.session.request('dns', 'DELETE', `/zones/${id}`);
  }

  // ---- recordsets
  listRecordsets(zoneId: string, query: Query = {}): Promise<Recordset[]> {
    return this.session.list('dns', `/zones/${zoneId}/recordsets`, 'recordsets', { query });
  }
  async getRecordset(zoneId: string, id: string): Promise<Recordset> {
    return (await this.session.request('dns', 'GET', `/zones/${zoneId}/recordsets/${id}`)).body as Recordset;
  }
  async findRecordset(zoneId: string, name: string, type: string): Promise<Recordset | undefined> {
    return single(
      await this.listRecordsets(zoneId, { name: fqdn(name), type }),
      `${type} recordsets named "${fqdn(name)}"`,
    );
  }
  /** The recordset with exactly these records: created, or updated when its records differ. */
  async ensureRecordset(
    zoneId: string,
    r: { name: string; type: string; records: string[]; ttl?: number; description?: string },
  ): Promise<Recordset> {
    const have = await this.findRecordset(zoneId, r.name, r.type);
    let rs: Recordset;
    if (!have) {
      rs = (
        await this.session.request('dns', 'POST', `/zones/${zoneId}/recordsets`, {
          body: {
            name: fqdn(r.name),
            type: r.type,
            records: r.records,
            ...(r.ttl !== undefined ? { ttl: r.ttl } : {}),
            ...(r.description ? { description: r.description } : {}),
          },
        })
      ).body as Recordset;
    } else if ([...have.records].sort().join() !== [...r.records].sort().join()) {
      rs = (
        await this.session.request('dns', 'PUT', `/zones/${zoneId}/recordsets/${have.id}`, {
          body: { records: r.records, ...(r.ttl !== undefined ? { ttl: r.ttl } : {}) },
        })
      ).body as Recordset;
    } else rs = have;
    return waitFor(
      `recordset ${rs.name}`,
      () => this.getRecordset(zoneId, rs.id),
      (x) => x.status === 'ACTIVE',
      {
        ...this.wait,
        failed: (x) => (x.status === 'ERROR' ? `recordset ${x.name} ERROR` : undefined),
        describe: (x) => `${x.status}/${x.action}`,
      },
    );
  }
  async deleteRecordset(zoneId: string, id: string): Promise<void> {
    try {
      await this.session.request('dns', 'DELETE', `/zones/${zoneId}/recordsets/${id}`);
    } catch (e) {
      // the zone itself is gone: so is the record
      if (!(e instanceof CloudError && e.code === 'NotFound')) throw e;
    }
  }

  // ---- quotas
  async quotas(projectId?: string): Promise<Record<string, number>> {
    const pid = projectId ?? (await this.session.projectId());
    return (await this.session.request('dns', 'GET', `/quotas/${pid}`)).body as Record<string, number>;
  }
}
