// What "the API is up" means for an OpenStack cluster, said once so the provider's wait and the docs
// agree. The probe goes through the API load balancer, so a pass proves the VIP, the listener, at
// least one healthy member and kube-apiserver's own readiness (etcd reachable, informers synced).
import { parseEndpoint } from './input.ts';

export interface ApiReadinessProbe {
  /** `https://<controlPlaneEndpoint>/readyz` */
  url: string;
  /** GET; ready when the answer is 200 with the body `ok`. */
  method: 'GET';
  expectStatus: 200;
  expectBody: 'ok';
  /**
   * The cluster CA signs the serving certificate: verify with it when the provider generated it
   * (clusterCa); /readyz is readable anonymously (system:public-info-viewer), no credentials needed.
   */
  tls: 'cluster-ca';
  description: string;
}

export function apiReadinessProbe(endpoint: string): ApiReadinessProbe {
  if (parseEndpoint(endpoint) === undefined)
    throw new Error(
      `apiReadinessProbe: endpoint ${JSON.stringify(endpoint.slice(0, 300))} must be host:port, like 203.0.113.10:6443`,
    );
  return {
    url: `https://${endpoint}/readyz`,
    method: 'GET',
    expectStatus: 200,
    expectBody: 'ok',
    tls: 'cluster-ca',
    description:
      'kube-apiserver /readyz through the API load balancer: 200 "ok" once a control plane node finished kubeadm init and the load balancer marks it healthy',
  };
}
