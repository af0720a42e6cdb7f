// Every service client over one session.
import type { CloudConfig } from '@kaas/auth';
import { Cinder } from './cinder.ts';
import { Designate } from './designate.ts';
import { Glance } from './glance.ts';
import { Neutron } from './neutron.ts';
import { Nova } from './nova.ts';
import { Octavia } from './octavia.ts';
import { Session } from './session.ts';
import type { SessionOptions } from './session.ts';

export class OpenStack {
  readonly session: Session;
  readonly neutron: Neutron;
  readonly nova: Nova;
  readonly glance: Glance;
  readonly octavia: Octavia;
  readonly designate: Designate;
  readonly cinder: Cinder;

  constructor(session: Session) {
    this.session = session;
    this.neutron = new Neutron(session);
    this.nova = new Nova(session);
    this.glance = new Glance(session);
    this.octavia = new Octavia(session);
    this.designate = new Designate(session);
    this.cinder = new Cinder(session);
  }

  static fromCloud(cloud: CloudConfig, opts: Partial<SessionOptions> = {}): OpenStack {
    return new OpenStack(Session.fromCloud(cloud, opts));
  }

  /** The service types in the catalog, e.g. to check a cloud has what a cluster needs. */
  async serviceTypes(): Promise<string[]> {
    return [...new Set((await this.session.catalog()).services.map((s) => s.type))].sort();
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
