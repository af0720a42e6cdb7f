// installLocalClusterControllers: everything that makes a logical cluster of our API server
// behave like a working Kubernetes cluster on the local cloud. Every controller is
// level-triggered on informers shared across all logical clusters (one per resource, whatever
// the number of clusters) and writes only when what it observes differs from what it wants.
import type { Manager } from '@kaas/controllers';
import type { LocalClusterOptions } from './context.ts';
import { createContext } from './context.ts';
import { addNodeController } from './nodes.ts';
import { addScheduler } from './scheduler.ts';
import { addKubelet } from './kubelet.ts';
import { addReplicaSetController } from './replicaset.ts';
import { addDeploymentController } from './deployment.ts';
import { addDaemonSetController } from './daemonset.ts';
import { addStatefulSetController } from './statefulset.ts';
import { addServiceControllers } from './services.ts';
import { addVolumeControllers } from './volumes.ts';

export function installLocalClusterControllers(manager: Manager, opts: LocalClusterOptions): void {
  const ctx = createContext(manager, opts);
  addNodeController(ctx);
  addScheduler(ctx);
  addKubelet(ctx);
  addReplicaSetController(ctx);
  addDeploymentController(ctx);
  addDaemonSetController(ctx);
  addStatefulSetController(ctx);
  addServiceControllers(ctx);
  addVolumeControllers(ctx);
}
