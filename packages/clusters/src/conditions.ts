// The Cluster's conditions, decided purely from what a reconcile pass observed. Errors become
// coded reasons (errorReasons in @kaas/api) with a message that says what happened and who can
// fix it; Ready summarises the four others.
import {
  errorReasons,
  isErrorReason,
  type ClusterCondition,
  type ClusterConditionType,
  type ErrorReason,
} from '@kaas/api';
import { isCloudError } from '@kaas/providers';

export type ConditionReason = ClusterCondition['reason'];

export interface ConditionValue {
  status: 'True' | 'False' | 'Unknown';
  reason: ConditionReason;
  message: string;
}

/** The order kaasctl and `get clusters` show them in. */
export const partConditions = [
  'InfrastructureReady',
  'ControlPlaneReady',
  'NodesReady',
  'ServicesReady',
] as const;
export type PartCondition = (typeof partConditions)[number];

export const conditionOrder: readonly ClusterConditionType[] = ['Ready', ...partConditions];

export const ok = (message: string): ConditionValue => ({ status: 'True', reason: 'Ready', message });
export const progressing = (message: string): ConditionValue => ({
  status: 'False',
  reason: 'Provisioning',
  message,
});
export const waiting = (message: string): ConditionValue => ({ status: 'False', reason: 'Waiting', message });

/** A coded condition from an error: its reason, its message, and whether the user must act. */
export function failed(reason: ErrorReason, message: string): ConditionValue {
  const info = errorReasons[reason];
  const who = info.userFixable ? 'user-fixable' : 'not user-fixable, KaaS retries';
  return { status: 'False', reason, message: `${message} (${who}: ${info.summary})` };
}

export function errorCondition(err: unknown): ConditionValue {
  if (isCloudError(err)) return failed(err.code, err.message);
  const reason = (err as { reason?: unknown })?.reason;
  const message = err instanceof Error ? err.message : String(err);
  return failed(typeof reason === 'string' && isErrorReason(reason) ? reason : 'Internal', message);
}

/** Ready: True when every part is True; otherwise the first part that is not, by name. */
export function readyCondition(parts: Record<PartCondition, ConditionValue>): ConditionValue {
  const notReady = partConditions.filter((t) => parts[t].status !== 'True');
  if (notReady.length === 0) return ok('the cluster is ready');
  const first = parts[notReady[0]!];
  return { status: 'False', reason: first.reason, message: `${notReady[0]}: ${first.message}` };
}

/**
 * The conditions to write: lastTransitionTime kept while a condition's status does not change,
 * so that an unchanged pass produces an identical list (and no write).
 */
export function mergeConditions(
  previous: readonly ClusterCondition[] | undefined,
  next: Partial<Record<ClusterConditionType, ConditionValue>>,
  generation: number | undefined,
  now: () => string = () => new Date().toISOString(),
): ClusterCondition[] {
  const out: ClusterCondition[] = [];
  for (const type of conditionOrder) {
    const v = next[type];
    const prev = previous?.find((c) => c.type === type);
    if (!v) {
      if (prev) out.push(prev);
      continue;
    }
    out.push({
      type,
      status: v.status,
      reason: v.reason,
      message: v.message,
      lastTransitionTime: prev && prev.status === v.status ? prev.lastTransitionTime : now(),
      ...(generation === undefined ? {} : { observedGeneration: generation }),
    });
  }
  return out;
}
