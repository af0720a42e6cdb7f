// The coded reasons a Cluster's conditions carry. Errors are classified once, here, so that
// controllers, kaasctl and the console agree on who can fix what and whether waiting helps.

export const errorReasons = {
  QuotaExceeded: {
    userFixable: true,
    retryable: true,
    summary: 'The cloud refused: a quota is exhausted. Raise the quota or shrink the cluster.',
  },
  AuthFailed: {
    userFixable: true,
    retryable: false,
    summary: 'The cloud rejected the credentials. Fix the Secret that spec.credentialsRef names.',
  },
  CloudUnavailable: {
    userFixable: false,
    retryable: true,
    summary: 'The cloud API is down or unreachable; KaaS retries with backoff.',
  },
  InvalidSpec: {
    userFixable: true,
    retryable: false,
    summary: 'The spec cannot be realised as written (for example a flavor that does not exist).',
  },
  NotFound: {
    userFixable: true,
    retryable: true,
    summary: 'Something the spec names does not exist in the cloud (image, network, zone, Secret).',
  },
  Conflict: {
    userFixable: false,
    retryable: true,
    summary: 'A concurrent change; KaaS re-reads and retries.',
  },
  Timeout: {
    userFixable: false,
    retryable: true,
    summary: 'A cloud operation did not finish in time; KaaS retries.',
  },
  Internal: {
    userFixable: false,
    retryable: true,
    summary: 'A bug or an unexpected cloud answer. Report it with the condition message.',
  },
} as const satisfies Record<string, { userFixable: boolean; retryable: boolean; summary: string }>;

export type ErrorReason = keyof typeof errorReasons;
export const errorReasonNames = Object.keys(errorReasons) as ErrorReason[];

export function isErrorReason(reason: string): reason is ErrorReason {
  return Object.hasOwn(errorReasons, reason);
}

/** Reasons for conditions that are not errors: progress and success. */
export const progressReasons = {
  Provisioning: 'Work is under way.',
  Ready: 'Done and healthy.',
  Waiting: 'Waiting for a dependency (another condition) to become True.',
  Upgrading: 'A rolling change is in progress.',
  Deleting: 'The cluster is being destroyed.',
  Disabled: 'Nothing to do: the part is switched off in the spec (for example no managed services).',
} as const;

export type ProgressReason = keyof typeof progressReasons;
export const progressReasonNames = Object.keys(progressReasons) as ProgressReason[];

/** The condition types a Cluster reports. Ready summarises the four others. */
export const clusterConditionTypes = {
  Ready: 'The cluster is usable: every other condition is True.',
  InfrastructureReady: 'Networks, security groups, load balancer and DNS exist in the cloud.',
  ControlPlaneReady: 'The Kubernetes API answers at status.endpoint (managed by Amazon on EKS).',
  NodesReady: 'Every desired node is registered and Ready.',
  ServicesReady: 'Every enabled managed service is installed and healthy.',
} as const;

export type ClusterConditionType = keyof typeof clusterConditionTypes;
