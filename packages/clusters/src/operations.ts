// The lifecycle operations kaasctl asks the Cluster reconciler for (rolling update, node
// add/remove/replace, services deploy, validate), in one object the reconciler calls at fixed
// points of a pass. Requests and progress travel as annotations on the Cluster (rolling.ts,
// operationAnnotations): its status schema has no place for them yet.
import { apiVersion } from '@kaas/api';
import type { KObject } from '@kaas/apiserver';
import type { Informer, Manager } from '@kaas/controllers';
import type { LocalCloud } from '@kaas/providers/local';
import type { ServiceHealth } from './applier.ts';
import { RollingUpdater, operationAnnotations, type PrepareContext, type PrepareResult } from './rolling.ts';
import { stable } from './stable.ts';
import { addValidationController } from './validate.ts';

export interface ServicesReport {
  /** The services-deploy token this report answers (absent when none was asked). */
  token?: string;
  observedGeneration: number;
  services: ServiceHealth[];
}

export interface ClusterOperationsOptions {
  manager: Manager;
  cloud: LocalCloud;
  clusters: Informer;
  nodes: Informer;
}

export class ClusterOperations {
  readonly #o: ClusterOperationsOptions;
  readonly #rolling: RollingUpdater;

  constructor(o: ClusterOperationsOptions) {
    this.#o = o;
    this.#rolling = new RollingUpdater({ client: o.manager.client, cloud: o.cloud, nodes: o.nodes });
    addValidationController({ manager: o.manager, clusters: o.clusters, cloud: o.cloud });
  }

  /** Before the infrastructure step: drains for scale-down, one step of a rolling replacement. */
  prepare(ctx: PrepareContext): Promise<PrepareResult> {
    return this.#rolling.prepare(ctx);
  }

  /** After the services step: the per-service report kaasctl services deploy / update --services wait on. */
  async recordServices(live: KObject, services: readonly ServiceHealth[]): Promise<void> {
    const annotations = live.metadata.annotations ?? {};
    const token = annotations[operationAnnotations.servicesRequest];
    const report: ServicesReport = {
      ...(token ? { token } : {}),
      observedGeneration: live.metadata.generation ?? 0,
      services: [...services],
    };
    const prior = annotations[operationAnnotations.servicesReport];
    if (prior && stable(JSON.parse(prior)) === stable(report)) return;
    await this.#o.manager.client.patch(
      {
        cluster: 'root',
        apiVersion,
        kind: 'Cluster',
        namespace: live.metadata.namespace!,
        name: live.metadata.name!,
      },
      { metadata: { annotations: { [operationAnnotations.servicesReport]: JSON.stringify(report) } } },
    );
  }
}
