export interface ApiReadinessProbe {
  url: string;
  description: string;
}
export function apiReadinessProbe(endpoint: string): ApiReadinessProbe {
  return {
    url: `https://${endpoint}/readyz`,
    description: 'kube-apiserver /readyz through the API load balancer',
  };
}
