// Request metrics in Prometheus format, named and labelled like upstream's apiserver so that
// existing dashboards and alerts read them.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly duration: Histogram<
    'verb' | 'group' | 'version' | 'resource' | 'subresource' | 'scope' | 'component'
  >;
  readonly total: Counter<
    'verb' | 'group' | 'version' | 'resource' | 'subresource' | 'scope' | 'component' | 'code'
  >;
  readonly watchers: Counter<'group' | 'resource'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.duration = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component'],
      buckets: [
        0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10,
        15, 20, 30, 45, 60,
      ],
      registers: [this.registry],
    });
    this.total = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'scope', 'component', 'code'],
      registers: [this.registry],
    });
    this.watchers = new Counter({
      name: 'apiserver_watch_events_total',
      help: 'Number of events sent in watch clients',
      labelNames: ['group', 'resource'],
      registers: [this.registry],
    });
  }
}

/** Upstream's verb label: LIST and WATCH are distinct from GET; APPLY is PATCH with apply type. */
export function metricVerb(verb: string): string {
  switch (verb) {
    case 'get':
      return 'GET';
    case 'list':
      return 'LIST';
    case 'watch':
      return 'WATCH';
    case 'create':
      return 'POST';
    case 'update':
      return 'PUT';
    case 'patch':
      return 'PATCH';
    case 'delete':
    case 'deletecollection':
      return 'DELETE';
    default:
      return verb.toUpperCase();
  }
}
