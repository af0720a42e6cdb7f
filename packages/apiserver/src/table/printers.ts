// Server-side printing of built-in kinds, ported from kubernetes/pkg/printers/internalversion
// (v1.32): the same columns, priorities and cell values. The server always prints the wide
// columns; kubectl shows priority > 0 columns only with -o wide.
import { labelSelectorFromObject, labelSelectorString } from '../selectors/labels.ts';
import { humanDuration, parseTimestamp, since } from './duration.ts';

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface RowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface PrintedRow {
  cells: unknown[];
  conditions?: RowCondition[];
}

export interface Printer {
  columns: ColumnDefinition[];
  print(obj: any, nowMs: number): PrintedRow;
}

// Column descriptions are upstream's (mostly the Go types' swagger docs), abbreviated where long.
const d = {
  name: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  age: 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata',
  containers: 'Names of each container in the template.',
  images: 'Images referenced by each container in the template.',
};

type Col = [name: string, type: string, description?: string, priority?: number, format?: string];

function cols(...defs: Col[]): ColumnDefinition[] {
  return defs.map(([name, type, description = '', priority = 0, format = '']) => ({
    name,
    type,
    format,
    description,
    priority,
  }));
}

const nameCol: Col = ['Name', 'string', d.name, 0, 'name'];
const ageCol: Col = ['Age', 'string', d.age];
const containersCol: Col = ['Containers', 'string', d.containers, 1];
const imagesCol: Col = ['Images', 'string', d.images, 1];

function age(obj: any, nowMs: number): string {
  return since(obj?.metadata?.creationTimestamp, nowMs);
}

function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** A cell's string: strings as they are, scalars printed, anything else JSON (never [object Object]). */
function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function sortedStrings(xs: string[]): string[] {
  return xs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** labels.FormatLabels: sorted k=v pairs, "<none>" when empty. */
export function formatLabels(m: unknown): string {
  if (!m || typeof m !== 'object') return '<none>';
  const keys = sortedStrings(Object.keys(m));
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${str((m as Record<string, unknown>)[k])}`).join(',');
}

/** metav1.FormatLabelSelector: "<none>" for an empty selector, "<error>" for an invalid one. */
export function formatLabelSelector(sel: any): string {
  try {
    const s = labelSelectorString(labelSelectorFromObject(sel ?? null));
    return s === '' ? '<none>' : s;
  } catch {
    return '<error>';
  }
}

/** layoutContainerCells: names and images, comma-joined. */
function containerCells(containers: unknown): [string, string] {
  const list = Array.isArray(containers) ? containers : [];
  return [list.map((c: any) => str(c?.name)).join(','), list.map((c: any) => str(c?.image)).join(',')];
}

/** IntOrString.String(). */
function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(v) : str(v);
}

function hasCondition(conditions: unknown, type: string): boolean {
  if (!Array.isArray(conditions)) return false;
  const c = conditions.find((x: any) => x?.type === type);
  return c?.status === 'True';
}

function boolPtr(v: unknown): string {
  return v === undefined || v === null ? '<unset>' : v === true ? 'True' : 'False';
}

function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

// --- pods

function isRestartableInit(c: any): boolean {
  return c?.restartPolicy === 'Always';
}

function printPod(pod: any, nowMs: number): PrintedRow {
  const spec = pod?.spec ?? {};
  const status = pod?.status ?? {};
  const containers: any[] = Array.isArray(spec.containers) ? spec.containers : [];
  const initContainers: any[] = Array.isArray(spec.initContainers) ? spec.initContainers : [];
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = containers.length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;
  const phase = str(status.phase);
  let reason = status.reason ? str(status.reason) : phase;
  for (const c of Array.isArray(status.conditions) ? status.conditions : []) {
    if (c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  const row: PrintedRow = { cells: [] };
  if (phase === 'Succeeded') {
    row.conditions = [
      {
        type: 'Completed',
        status: 'True',
        reason: 'Succeeded',
        message: 'The pod has completed successfully.',
      },
    ];
  } else if (phase === 'Failed') {
    row.conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  }
  const initByName = new Map<string, any>();
  for (const c of initContainers) {
    initByName.set(c?.name, c);
    if (isRestartableInit(c)) totalContainers++;
  }
  const later = (a: number | undefined, ts: unknown) => {
    const t = parseTimestamp(ts);
    return t !== undefined && (a === undefined || t > a) ? t : a;
  };

  let initializing = false;
  const initStatuses: any[] = Array.isArray(status.initContainerStatuses) ? status.initContainerStatuses : [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += int(c?.restartCount);
    lastRestart = later(lastRestart, c?.lastState?.terminated?.finishedAt);
    const restartable = isRestartableInit(initByName.get(c?.name));
    if (restartable) {
      restartableInitRestarts += int(c?.restartCount);
      lastRestartableInitRestart = later(lastRestartableInitRestart, c?.lastState?.terminated?.finishedAt);
    }
    const terminated = c?.state?.terminated;
    const waiting = c?.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (restartable && c?.started === true) {
      if (c?.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason = terminated.signal
          ? `Init:Signal:${int(terminated.signal)}`
          : `Init:ExitCode:${int(terminated.exitCode)}`;
      } else {
        reason = `Init:${str(terminated.reason)}`;
      }
    } else if (waiting && waiting.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(status.conditions, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses: any[] = Array.isArray(status.containerStatuses) ? status.containerStatuses : [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += int(c?.restartCount);
      lastRestart = later(lastRestart, c?.lastState?.terminated?.finishedAt);
      const waiting = c?.state?.waiting;
      const terminated = c?.state?.terminated;
      if (waiting && waiting.reason) reason = str(waiting.reason);
      else if (terminated && terminated.reason) reason = str(terminated.reason);
      else if (terminated) {
        reason = terminated.signal
          ? `Signal:${int(terminated.signal)}`
          : `ExitCode:${int(terminated.exitCode)}`;
      } else if (c?.ready === true && c?.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = hasCondition(status.conditions, 'Ready') ? 'Running' : 'NotReady';
    }
  }

  const deleting = !!pod?.metadata?.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined)
    restartsStr = `${restarts} (${humanDuration(nowMs - lastRestart)} ago)`;

  let podIP = Array.isArray(status.podIPs) && status.podIPs.length ? str(status.podIPs[0]?.ip) : '';
  if (!podIP) podIP = '<none>';
  let readinessGates = '<none>';
  const gates: any[] = Array.isArray(spec.readinessGates) ? spec.readinessGates : [];
  if (gates.length) {
    let ok = 0;
    for (const g of gates) {
      const c = (Array.isArray(status.conditions) ? status.conditions : []).find(
        (x: any) => x?.type === g?.conditionType,
      );
      if (c?.status === 'True') ok++;
    }
    readinessGates = `${ok}/${gates.length}`;
  }
  row.cells = [
    str(pod?.metadata?.name),
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsStr,
    age(pod, nowMs),
    podIP,
    str(spec.nodeName) || '<none>',
    str(status.nominatedNodeName) || '<none>',
    readinessGates,
  ];
  return row;
}

// --- workloads

function printDeployment(o: any, nowMs: number): PrintedRow {
  const [names, images] = containerCells(o?.spec?.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      `${int(o?.status?.readyReplicas)}/${int(o?.spec?.replicas)}`,
      int(o?.status?.updatedReplicas),
      int(o?.status?.availableReplicas),
      age(o, nowMs),
      names,
      images,
      formatSelectorOrEmpty(o?.spec?.selector),
    ],
  };
}

/** printDeployment prints LabelSelectorAsSelector(...).String(): '' (not <none>) when empty. */
function formatSelectorOrEmpty(sel: any): string {
  try {
    return labelSelectorString(labelSelectorFromObject(sel ?? null));
  } catch {
    return '<invalid>';
  }
}

function printReplicaSet(o: any, nowMs: number): PrintedRow {
  const [names, images] = containerCells(o?.spec?.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      int(o?.spec?.replicas),
      int(o?.status?.replicas),
      int(o?.status?.readyReplicas),
      age(o, nowMs),
      names,
      images,
      formatLabelSelector(o?.spec?.selector),
    ],
  };
}

function printReplicationController(o: any, nowMs: number): PrintedRow {
  const [names, images] = containerCells(o?.spec?.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      int(o?.spec?.replicas),
      int(o?.status?.replicas),
      int(o?.status?.readyReplicas),
      age(o, nowMs),
      names,
      images,
      formatLabels(o?.spec?.selector),
    ],
  };
}

function printStatefulSet(o: any, nowMs: number): PrintedRow {
  const [names, images] = containerCells(o?.spec?.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      `${int(o?.status?.readyReplicas)}/${int(o?.spec?.replicas)}`,
      age(o, nowMs),
      names,
      images,
    ],
  };
}

function printDaemonSet(o: any, nowMs: number): PrintedRow {
  const s = o?.status ?? {};
  const [names, images] = containerCells(o?.spec?.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      int(s.desiredNumberScheduled),
      int(s.currentNumberScheduled),
      int(s.numberReady),
      int(s.updatedNumberScheduled),
      int(s.numberAvailable),
      formatLabels(o?.spec?.template?.spec?.nodeSelector),
      age(o, nowMs),
      names,
      images,
      formatLabelSelector(o?.spec?.selector),
    ],
  };
}

function printJob(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const status = o?.status ?? {};
  const succeeded = int(status.succeeded);
  let completions: string;
  if (typeof spec.completions === 'number') completions = `${succeeded}/${int(spec.completions)}`;
  else {
    const parallelism = int(spec.parallelism);
    completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
  }
  const start = parseTimestamp(status.startTime);
  const end = parseTimestamp(status.completionTime);
  const duration = start === undefined ? '' : humanDuration((end ?? nowMs) - start);
  let jobStatus: string;
  if (hasCondition(status.conditions, 'Complete')) jobStatus = 'Complete';
  else if (hasCondition(status.conditions, 'Failed')) jobStatus = 'Failed';
  else if (o?.metadata?.deletionTimestamp) jobStatus = 'Terminating';
  else if (hasCondition(status.conditions, 'Suspended')) jobStatus = 'Suspended';
  else if (hasCondition(status.conditions, 'FailureTarget')) jobStatus = 'FailureTarget';
  else jobStatus = 'Running';
  const [names, images] = containerCells(spec.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      jobStatus,
      completions,
      duration,
      age(o, nowMs),
      names,
      images,
      formatLabelSelector(spec.selector),
    ],
  };
}

function printCronJob(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const last = o?.status?.lastScheduleTime ? since(o.status.lastScheduleTime, nowMs) : '<none>';
  const jobSpec = spec.jobTemplate?.spec ?? {};
  const [names, images] = containerCells(jobSpec.template?.spec?.containers);
  return {
    cells: [
      str(o?.metadata?.name),
      str(spec.schedule),
      spec.timeZone ? str(spec.timeZone) : '<none>',
      boolPtr(spec.suspend),
      Array.isArray(o?.status?.active) ? o.status.active.length : 0,
      last,
      age(o, nowMs),
      names,
      images,
      formatLabelSelector(jobSpec.selector),
    ],
  };
}

function printControllerRevision(o: any, nowMs: number): PrintedRow {
  let controller = '<none>';
  const ref = (Array.isArray(o?.metadata?.ownerReferences) ? o.metadata.ownerReferences : []).find(
    (r: any) => r?.controller === true,
  );
  if (ref) {
    const apiVersion = str(ref.apiVersion);
    const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
    const kind = str(ref.kind);
    const gk = group ? `${kind}.${group}` : kind;
    controller = gk ? `${gk.toLowerCase()}/${str(ref.name)}` : str(ref.name);
  }
  return { cells: [str(o?.metadata?.name), controller, int(o?.revision), age(o, nowMs)] };
}

function printPodTemplate(o: any): PrintedRow {
  const [names, images] = containerCells(o?.template?.spec?.containers);
  return { cells: [str(o?.metadata?.name), names, images, formatLabels(o?.template?.metadata?.labels)] };
}

function printPDB(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  return {
    cells: [
      str(o?.metadata?.name),
      spec.minAvailable === undefined || spec.minAvailable === null ? 'N/A' : intOrString(spec.minAvailable),
      spec.maxUnavailable === undefined || spec.maxUnavailable === null
        ? 'N/A'
        : intOrString(spec.maxUnavailable),
      int(o?.status?.disruptionsAllowed),
      age(o, nowMs),
    ],
  };
}

function formatHPAMetrics(specs: unknown, statuses: unknown): string {
  if (!Array.isArray(specs) || specs.length === 0) return '<none>';
  const list: string[] = [];
  const st: any[] = Array.isArray(statuses) ? statuses : [];
  const max = 2;
  specs.forEach((spec: any, i: number) => {
    const s = st[i];
    switch (spec?.type) {
      case 'External': {
        const target = spec.external?.target ?? {};
        if (target.averageValue !== undefined) {
          const cur =
            s?.external?.current?.averageValue !== undefined
              ? str(s.external.current.averageValue)
              : '<unknown>';
          list.push(`${cur}/${str(target.averageValue)} (avg)`);
        } else {
          const cur = s?.external ? str(s.external.current?.value) : '<unknown>';
          list.push(`${cur}/${str(target.value)}`);
        }
        break;
      }
      case 'Pods': {
        const cur = s?.pods ? str(s.pods.current?.averageValue) : '<unknown>';
        list.push(`${cur}/${str(spec.pods?.target?.averageValue)}`);
        break;
      }
      case 'Object': {
        const target = spec.object?.target ?? {};
        if (target.averageValue !== undefined) {
          const cur =
            s?.object?.current?.averageValue !== undefined ? str(s.object.current.averageValue) : '<unknown>';
          list.push(`${cur}/${str(target.averageValue)} (avg)`);
        } else {
          const cur = s?.object ? str(s.object.current?.value) : '<unknown>';
          list.push(`${cur}/${str(target.value)}`);
        }
        break;
      }
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const src = spec[key] ?? {};
        const cur = s?.[key];
        if (src.target?.averageValue !== undefined) {
          const c = cur ? str(cur.current?.averageValue) : '<unknown>';
          list.push(`${str(src.name)}: ${c}/${str(src.target.averageValue)}`);
        } else {
          const c =
            cur?.current?.averageUtilization !== undefined
              ? `${int(cur.current.averageUtilization)}%`
              : '<unknown>';
          const target =
            src.target?.averageUtilization !== undefined
              ? `${int(src.target.averageUtilization)}%`
              : '<auto>';
          list.push(`${str(src.name)}: ${c}/${target}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  });
  const count = list.length;
  if (count > max) return `${list.slice(0, max).join(', ')} + ${count - max} more...`;
  return list.join(', ');
}

function printHPA(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  return {
    cells: [
      str(o?.metadata?.name),
      `${str(spec.scaleTargetRef?.kind)}/${str(spec.scaleTargetRef?.name)}`,
      formatHPAMetrics(spec.metrics, o?.status?.currentMetrics),
      typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '<unset>',
      int(spec.maxReplicas),
      int(o?.status?.currentReplicas),
      age(o, nowMs),
    ],
  };
}

// --- services and networking

function lbIngress(ingress: unknown): string {
  const ips = new Set<string>();
  for (const i of Array.isArray(ingress) ? ingress : []) {
    if (i?.ip) ips.add(str(i.ip));
    else if (i?.hostname) ips.add(str(i.hostname));
  }
  return sortedStrings([...ips]).join(',');
}

function serviceExternalIP(svc: any): string {
  const spec = svc?.spec ?? {};
  const external: string[] = Array.isArray(spec.externalIPs) ? spec.externalIPs.map(str) : [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = lbIngress(svc?.status?.loadBalancer?.ingress);
      if (external.length) return [...(lb ? lb.split(',') : []), ...external].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

function printService(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const clusterIP =
    Array.isArray(spec.clusterIPs) && spec.clusterIPs.length
      ? str(spec.clusterIPs[0])
      : str(spec.clusterIP) || '<none>';
  const ports = (Array.isArray(spec.ports) ? spec.ports : [])
    .map((p: any) => {
      const proto = str(p?.protocol) || 'TCP';
      return int(p?.nodePort) > 0 ? `${int(p.port)}:${int(p.nodePort)}/${proto}` : `${int(p?.port)}/${proto}`;
    })
    .join(',');
  return {
    cells: [
      str(o?.metadata?.name),
      str(spec.type ?? 'ClusterIP'),
      clusterIP,
      serviceExternalIP(o),
      ports || '<none>',
      age(o, nowMs),
      formatLabels(spec.selector),
    ],
  };
}

function printEndpoints(o: any, nowMs: number): PrintedRow {
  const subsets: any[] = Array.isArray(o?.subsets) ? o.subsets : [];
  let text: string;
  if (subsets.length === 0) text = '<none>';
  else {
    const list: string[] = [];
    const max = 3;
    let more = false;
    let count = 0;
    for (const ss of subsets) {
      const addrs: any[] = Array.isArray(ss?.addresses) ? ss.addresses : [];
      const ports: any[] = Array.isArray(ss?.ports) ? ss.ports : [];
      if (ports.length === 0) {
        count += addrs.length;
        for (const a of addrs) {
          if (list.length === max) {
            more = true;
            break;
          }
          list.push(str(a?.ip));
        }
        continue;
      }
      for (const p of ports) {
        count += addrs.length;
        for (const a of addrs) {
          if (list.length === max) {
            more = true;
            break;
          }
          const ip = str(a?.ip);
          list.push(ip.includes(':') ? `[${ip}]:${int(p?.port)}` : `${ip}:${int(p?.port)}`);
        }
      }
    }
    text = more ? `${list.join(',')} + ${count - max} more...` : list.join(',');
  }
  return { cells: [str(o?.metadata?.name), text, age(o, nowMs)] };
}

function printEndpointSlice(o: any, nowMs: number): PrintedRow {
  const max = 3;
  const ports: string[] = [];
  let count = 0;
  let more = false;
  for (const p of Array.isArray(o?.ports) ? o.ports : []) {
    if (ports.length < max)
      ports.push(typeof p?.port === 'number' ? String(p.port) : p?.name ? str(p.name) : '*');
    else if (ports.length === max) more = true;
    count++;
  }
  const portsText = listWithMore(ports, more, count, max);
  const addrs: string[] = [];
  count = 0;
  more = false;
  for (const e of Array.isArray(o?.endpoints) ? o.endpoints : []) {
    for (const a of Array.isArray(e?.addresses) ? e.addresses : []) {
      if (addrs.length < max) addrs.push(str(a));
      else if (addrs.length === max) more = true;
      count++;
    }
  }
  return {
    cells: [
      str(o?.metadata?.name),
      str(o?.addressType),
      portsText,
      listWithMore(addrs, more, count, max),
      age(o, nowMs),
    ],
  };
}

function printIngress(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const rules: any[] = Array.isArray(spec.rules) ? spec.rules : [];
  const hosts: string[] = [];
  const max = 3;
  let more = false;
  for (const r of rules) {
    if (hosts.length === max) more = true;
    if (!more && r?.host) hosts.push(str(r.host));
  }
  let hostText = hosts.length === 0 ? '*' : hosts.join(',');
  if (more) hostText = `${hostText} + ${rules.length - max} more...`;
  return {
    cells: [
      str(o?.metadata?.name),
      spec.ingressClassName ? str(spec.ingressClassName) : '<none>',
      hostText,
      lbIngress(o?.status?.loadBalancer?.ingress),
      Array.isArray(spec.tls) && spec.tls.length ? '80, 443' : '80',
      age(o, nowMs),
    ],
  };
}

function printIngressClass(o: any, nowMs: number): PrintedRow {
  const p = o?.spec?.parameters;
  let params = '<none>';
  if (p) params = `${str(p.kind)}${p.apiGroup ? `.${str(p.apiGroup)}` : ''}/${str(p.name)}`;
  return { cells: [str(o?.metadata?.name), str(o?.spec?.controller), params, age(o, nowMs)] };
}

function printNetworkPolicy(o: any, nowMs: number): PrintedRow {
  return { cells: [str(o?.metadata?.name), formatLabelSelector(o?.spec?.podSelector ?? {}), age(o, nowMs)] };
}

// --- cluster and config

function printNode(o: any, nowMs: number): PrintedRow {
  const status = o?.status ?? {};
  const states: string[] = [];
  const ready = (Array.isArray(status.conditions) ? status.conditions : []).find(
    (c: any) => c?.type === 'Ready',
  );
  if (ready) states.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (states.length === 0) states.push('Unknown');
  if (o?.spec?.unschedulable === true) states.push('SchedulingDisabled');
  const roles = new Set<string>();
  for (const [k, v] of Object.entries((o?.metadata?.labels ?? {}) as Record<string, string>)) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  const addr = (type: string) =>
    str(
      (Array.isArray(status.addresses) ? status.addresses : []).find((a: any) => a?.type === type)?.address,
    ) || '<none>';
  const info = status.nodeInfo ?? {};
  return {
    cells: [
      str(o?.metadata?.name),
      states.join(','),
      roles.size ? sortedStrings([...roles]).join(',') : '<none>',
      age(o, nowMs),
      str(info.kubeletVersion),
      addr('InternalIP'),
      addr('ExternalIP'),
      str(info.osImage) || '<unknown>',
      str(info.kernelVersion) || '<unknown>',
      str(info.containerRuntimeVersion) || '<unknown>',
    ],
  };
}

function printNamespace(o: any, nowMs: number): PrintedRow {
  return { cells: [str(o?.metadata?.name), str(o?.status?.phase), age(o, nowMs)] };
}

function printSecret(o: any, nowMs: number): PrintedRow {
  return {
    cells: [str(o?.metadata?.name), str(o?.type), Object.keys(o?.data ?? {}).length, age(o, nowMs)],
  };
}

function printConfigMap(o: any, nowMs: number): PrintedRow {
  return {
    cells: [
      str(o?.metadata?.name),
      Object.keys(o?.data ?? {}).length + Object.keys(o?.binaryData ?? {}).length,
      age(o, nowMs),
    ],
  };
}

function printServiceAccount(o: any, nowMs: number): PrintedRow {
  return { cells: [str(o?.metadata?.name), Array.isArray(o?.secrets) ? o.secrets.length : 0, age(o, nowMs)] };
}

/** helper.GetAccessModesAsString. */
function accessModes(modes: unknown): string {
  const list: string[] = Array.isArray(modes) ? modes : [];
  const out: string[] = [];
  const short: [string, string][] = [
    ['ReadWriteOnce', 'RWO'],
    ['ReadOnlyMany', 'ROX'],
    ['ReadWriteMany', 'RWX'],
    ['ReadWriteOncePod', 'RWOP'],
  ];
  for (const [long, abbr] of short) if (list.includes(long)) out.push(abbr);
  return out.join(',');
}

const storageClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

function storageClassOf(o: any): string {
  const ann = o?.metadata?.annotations?.[storageClassAnnotation];
  return typeof ann === 'string' ? ann : str(o?.spec?.storageClassName);
}

function printPV(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const claim = spec.claimRef ? `${str(spec.claimRef.namespace)}/${str(spec.claimRef.name)}` : '';
  const phase = o?.metadata?.deletionTimestamp ? 'Terminating' : str(o?.status?.phase);
  return {
    cells: [
      str(o?.metadata?.name),
      str(spec.capacity?.storage ?? '0'),
      accessModes(spec.accessModes),
      str(spec.persistentVolumeReclaimPolicy),
      phase,
      claim,
      storageClassOf(o),
      spec.volumeAttributesClassName ? str(spec.volumeAttributesClassName) : '<unset>',
      str(o?.status?.reason),
      age(o, nowMs),
      spec.volumeMode ? str(spec.volumeMode) : '<unset>',
    ],
  };
}

function printPVC(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const phase = o?.metadata?.deletionTimestamp ? 'Terminating' : str(o?.status?.phase);
  const bound = !!spec.volumeName;
  return {
    cells: [
      str(o?.metadata?.name),
      phase,
      str(spec.volumeName),
      bound ? str(o?.status?.capacity?.storage ?? '0') : '',
      bound ? accessModes(o?.status?.accessModes) : '',
      storageClassOf(o),
      spec.volumeAttributesClassName ? str(spec.volumeAttributesClassName) : '<unset>',
      age(o, nowMs),
      spec.volumeMode ? str(spec.volumeMode) : '<unset>',
    ],
  };
}

function printResourceQuota(o: any, nowMs: number): PrintedRow {
  const hard = (o?.status?.hard ?? {}) as Record<string, unknown>;
  const used = (o?.status?.used ?? {}) as Record<string, unknown>;
  const requests: string[] = [];
  const limits: string[] = [];
  for (const r of sortedStrings(Object.keys(hard))) {
    const pieces = r.split('.');
    const target = pieces.length > 1 && pieces[0] === 'limits' ? limits : requests;
    target.push(`${r}: ${str(used[r] ?? '0')}/${str(hard[r])}`);
  }
  return { cells: [str(o?.metadata?.name), requests.join(', '), limits.join(', '), age(o, nowMs)] };
}

function printEvent(o: any, nowMs: number): PrintedRow {
  let first = since(o?.firstTimestamp, nowMs);
  if (parseTimestamp(o?.firstTimestamp) === undefined) first = since(o?.eventTime, nowMs);
  let last = since(o?.lastTimestamp, nowMs);
  if (parseTimestamp(o?.lastTimestamp) === undefined) last = first;
  let count = int(o?.count);
  if (o?.series) {
    last = since(o.series.lastObservedTime, nowMs);
    count = int(o.series.count);
  } else if (count === 0) {
    count = 1;
  }
  const involved = o?.involvedObject ?? {};
  const kind = str(involved.kind).toLowerCase();
  const target = involved.name ? `${kind}/${str(involved.name)}` : kind;
  const component = str(o?.source?.component) || str(o?.reportingComponent);
  const instance = str(o?.source?.host) || str(o?.reportingInstance);
  return {
    cells: [
      last,
      str(o?.type),
      str(o?.reason),
      target,
      str(involved.fieldPath),
      instance ? `${component}, ${instance}` : component,
      str(o?.message).trim(),
      first,
      count,
      str(o?.metadata?.name),
    ],
  };
}

/** events.k8s.io/v1 Event in core/v1 terms, as upstream converts before printing. */
function eventsV1ToCore(o: any): any {
  return {
    metadata: o?.metadata,
    involvedObject: o?.regarding ?? {},
    reason: o?.reason,
    message: o?.note,
    type: o?.type,
    eventTime: o?.eventTime,
    firstTimestamp: o?.deprecatedFirstTimestamp,
    lastTimestamp: o?.deprecatedLastTimestamp,
    count: o?.deprecatedCount,
    source: o?.deprecatedSource,
    series: o?.series ? { count: o.series.count, lastObservedTime: o.series.lastObservedTime } : undefined,
    reportingComponent: o?.reportingController,
    reportingInstance: o?.reportingInstance,
  };
}

function printPriorityClass(o: any, nowMs: number): PrintedRow {
  return {
    cells: [
      str(o?.metadata?.name),
      int(o?.value),
      o?.globalDefault === true,
      age(o, nowMs),
      str(o?.preemptionPolicy),
    ],
  };
}

function printLease(o: any, nowMs: number): PrintedRow {
  return { cells: [str(o?.metadata?.name), str(o?.spec?.holderIdentity), age(o, nowMs)] };
}

function subjectsStrings(subjects: unknown): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of Array.isArray(subjects) ? subjects : []) {
    if (s?.kind === 'ServiceAccount') sas.push(`${str(s.namespace)}/${str(s.name)}`);
    else if (s?.kind === 'User') users.push(str(s.name));
    else if (s?.kind === 'Group') groups.push(str(s.name));
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

function printBinding(o: any, nowMs: number): PrintedRow {
  return {
    cells: [
      str(o?.metadata?.name),
      `${str(o?.roleRef?.kind)}/${str(o?.roleRef?.name)}`,
      age(o, nowMs),
      ...subjectsStrings(o?.subjects),
    ],
  };
}

function printStorageClass(o: any, nowMs: number): PrintedRow {
  const ann = o?.metadata?.annotations ?? {};
  const isDefault =
    ann['storageclass.kubernetes.io/is-default-class'] === 'true' ||
    ann['storageclass.beta.kubernetes.io/is-default-class'] === 'true';
  return {
    cells: [
      `${str(o?.metadata?.name)}${isDefault ? ' (default)' : ''}`,
      str(o?.provisioner),
      o?.reclaimPolicy ? str(o.reclaimPolicy) : 'Delete',
      o?.volumeBindingMode ? str(o.volumeBindingMode) : 'Immediate',
      o?.allowVolumeExpansion === true,
      age(o, nowMs),
    ],
  };
}

function printCSIDriver(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  const modes: string[] = Array.isArray(spec.volumeLifecycleModes) ? spec.volumeLifecycleModes.map(str) : [];
  const tokenRequests = Array.isArray(spec.tokenRequests)
    ? spec.tokenRequests.map((t: any) => str(t?.audience)).join(',')
    : '<unset>';
  return {
    cells: [
      str(o?.metadata?.name),
      spec.attachRequired !== false,
      spec.podInfoOnMount === true,
      spec.storageCapacity === true,
      tokenRequests,
      spec.requiresRepublish === true,
      modes.length ? modes.join(',') : '<none>',
      age(o, nowMs),
    ],
  };
}

function printVolumeAttachment(o: any, nowMs: number): PrintedRow {
  const spec = o?.spec ?? {};
  return {
    cells: [
      str(o?.metadata?.name),
      str(spec.attacher),
      str(spec.source?.persistentVolumeName),
      str(spec.nodeName),
      o?.status?.attached === true,
      age(o, nowMs),
    ],
  };
}

function printWebhookConfiguration(o: any, nowMs: number): PrintedRow {
  return {
    cells: [str(o?.metadata?.name), Array.isArray(o?.webhooks) ? o.webhooks.length : 0, age(o, nowMs)],
  };
}

function printCSR(o: any, nowMs: number): PrintedRow {
  let approved = false;
  let denied = false;
  let failed = false;
  for (const c of Array.isArray(o?.status?.conditions) ? o.status.conditions : []) {
    if (c?.type === 'Approved') approved = true;
    else if (c?.type === 'Denied') denied = true;
    else if (c?.type === 'Failed') failed = true;
  }
  let condition = denied ? 'Denied' : approved ? 'Approved' : 'Pending';
  if (failed) condition += ',Failed';
  if (o?.status?.certificate) condition += ',Issued';
  const spec = o?.spec ?? {};
  return {
    cells: [
      str(o?.metadata?.name),
      age(o, nowMs),
      spec.signerName ? str(spec.signerName) : '<none>',
      str(spec.username),
      typeof spec.expirationSeconds === 'number' ? humanDuration(spec.expirationSeconds * 1000) : '<none>',
      condition,
    ],
  };
}

const eventColumns = cols(
  ['Last Seen', 'string', 'Last time the event was observed.'],
  ['Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'],
  [
    'Reason',
    'string',
    "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
  ],
  ['Object', 'string', 'The object that this event is about.'],
  [
    'Subobject',
    'string',
    'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.',
    1,
  ],
  [
    'Source',
    'string',
    'The component reporting this event. Should be a short machine understandable string.',
    1,
  ],
  ['Message', 'string', 'A human-readable description of the status of this operation.'],
  [
    'First Seen',
    'string',
    'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
    1,
  ],
  ['Count', 'string', 'The number of times this event has occurred.', 1],
  ['Name', 'string', d.name, 1, 'name'],
);

const bindingColumns = (what: string) =>
  cols(
    nameCol,
    [
      'Role',
      'string',
      'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.',
    ],
    ageCol,
    ['Users', 'string', `Users in the ${what}`, 1],
    ['Groups', 'string', `Groups in the ${what}`, 1],
    ['ServiceAccounts', 'string', `ServiceAccounts in the ${what}`, 1],
  );

const webhookColumns = cols(
  nameCol,
  ['Webhooks', 'integer', 'Webhooks indicates the number of webhooks registered in this configuration'],
  ageCol,
);

/** Printers by `${group}/${kind}`; kinds without one get the default NAME / CREATED AT table. */
export const printers: ReadonlyMap<string, Printer> = new Map<string, Printer>([
  [
    '/Pod',
    {
      columns: cols(
        nameCol,
        ['Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'],
        ['Status', 'string', 'The aggregate status of the containers in this pod.'],
        [
          'Restarts',
          'string',
          'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
        ],
        ageCol,
        [
          'IP',
          'string',
          'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
          1,
        ],
        ['Node', 'string', 'NodeName indicates in which node this pod is scheduled.', 1],
        [
          'Nominated Node',
          'string',
          'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.',
          1,
        ],
        [
          'Readiness Gates',
          'string',
          'If specified, all readiness gates will be evaluated for pod readiness.',
          1,
        ],
      ),
      print: printPod,
    },
  ],
  [
    '/PodTemplate',
    {
      columns: cols(
        nameCol,
        ['Containers', 'string', d.containers],
        ['Images', 'string', d.images],
        ['Pod Labels', 'string', 'The labels for the pod template.'],
      ),
      print: printPodTemplate,
    },
  ],
  [
    'policy/PodDisruptionBudget',
    {
      columns: cols(
        nameCol,
        ['Min Available', 'string', 'The minimum number of pods that must be available.'],
        ['Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'],
        ['Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'],
        ageCol,
      ),
      print: printPDB,
    },
  ],
  [
    '/ReplicationController',
    {
      columns: cols(
        nameCol,
        ['Desired', 'integer', 'Replicas is the number of desired replicas.'],
        ['Current', 'integer', 'Replicas is the most recently observed number of replicas.'],
        ['Ready', 'integer', 'The number of ready replicas for this replication controller.'],
        ageCol,
        containersCol,
        imagesCol,
        [
          'Selector',
          'string',
          'Selector is a label query over pods that should match the Replicas count.',
          1,
        ],
      ),
      print: printReplicationController,
    },
  ],
  [
    'apps/ReplicaSet',
    {
      columns: cols(
        nameCol,
        ['Desired', 'integer', 'Replicas is the number of desired replicas.'],
        ['Current', 'integer', 'Replicas is the most recently observed number of replicas.'],
        ['Ready', 'integer', 'The number of ready replicas for this replica set.'],
        ageCol,
        containersCol,
        imagesCol,
        ['Selector', 'string', 'Selector is a label query over pods that should match the replica count.', 1],
      ),
      print: printReplicaSet,
    },
  ],
  [
    'apps/DaemonSet',
    {
      columns: cols(
        nameCol,
        ['Desired', 'integer', 'The total number of nodes that should be running the daemon pod.'],
        [
          'Current',
          'integer',
          'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.',
        ],
        [
          'Ready',
          'integer',
          'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.',
        ],
        ['Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'],
        [
          'Available',
          'integer',
          'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)',
        ],
        [
          'Node Selector',
          'string',
          'NodeSelector is a selector which must be true for the pod to fit on a node.',
        ],
        ageCol,
        containersCol,
        imagesCol,
        ['Selector', 'string', 'A label query over pods that are managed by the daemon set.', 1],
      ),
      print: printDaemonSet,
    },
  ],
  [
    'batch/Job',
    {
      columns: cols(
        nameCol,
        ['Status', 'string', 'Status of the job.'],
        ['Completions', 'string', 'The number of pods which reached phase Succeeded.'],
        ['Duration', 'string', 'Time required to complete the job.'],
        ageCol,
        containersCol,
        imagesCol,
        ['Selector', 'string', 'A label query over pods that should match the pod count.', 1],
      ),
      print: printJob,
    },
  ],
  [
    'batch/CronJob',
    {
      columns: cols(
        nameCol,
        ['Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'],
        [
          'Timezone',
          'string',
          'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.',
        ],
        [
          'Suspend',
          'boolean',
          'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.',
        ],
        ['Active', 'integer', 'A list of pointers to currently running jobs.'],
        ['Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'],
        ageCol,
        containersCol,
        imagesCol,
        ['Selector', 'string', 'A label query over pods that should match the pod count.', 1],
      ),
      print: printCronJob,
    },
  ],
  [
    '/Service',
    {
      columns: cols(
        nameCol,
        ['Type', 'string', 'type determines how the Service is exposed.'],
        [
          'Cluster-IP',
          'string',
          'clusterIP is the IP address of the service and is usually assigned randomly.',
        ],
        [
          'External-IP',
          'string',
          'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
        ],
        ['Port(s)', 'string', 'The list of ports that are exposed by this service.'],
        ageCol,
        [
          'Selector',
          'string',
          'Route service traffic to pods with label keys and values matching this selector.',
          1,
        ],
      ),
      print: printService,
    },
  ],
  [
    'networking.k8s.io/Ingress',
    {
      columns: cols(
        nameCol,
        [
          'Class',
          'string',
          'The name of the IngressClass resource that should be used for additional configuration',
        ],
        ['Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'],
        ['Address', 'string', 'Address is a list containing ingress points for the load-balancer'],
        ['Ports', 'string', 'Ports of TLS configurations that open'],
        ageCol,
      ),
      print: printIngress,
    },
  ],
  [
    'networking.k8s.io/IngressClass',
    {
      columns: cols(
        nameCol,
        ['Controller', 'string', 'Controller that is responsible for handling this class'],
        ['Parameters', 'string', 'A reference to a resource with additional parameters'],
        ageCol,
      ),
      print: printIngressClass,
    },
  ],
  [
    'apps/StatefulSet',
    {
      columns: cols(
        nameCol,
        ['Ready', 'string', 'Number of the pod with ready state'],
        ageCol,
        containersCol,
        imagesCol,
      ),
      print: printStatefulSet,
    },
  ],
  [
    '/Endpoints',
    {
      columns: cols(
        nameCol,
        ['Endpoints', 'string', 'The set of all endpoints is the union of all subsets.'],
        ageCol,
      ),
      print: printEndpoints,
    },
  ],
  [
    '/Node',
    {
      columns: cols(
        nameCol,
        ['Status', 'string', 'The status of the node'],
        ['Roles', 'string', 'The roles of the node'],
        ageCol,
        ['Version', 'string', 'Kubelet Version reported by the node.'],
        ['Internal-IP', 'string', 'List of addresses reachable to the node.', 1],
        ['External-IP', 'string', 'List of addresses reachable to the node.', 1],
        [
          'OS-Image',
          'string',
          'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
          1,
        ],
        [
          'Kernel-Version',
          'string',
          "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
          1,
        ],
        [
          'Container-Runtime',
          'string',
          'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
          1,
        ],
      ),
      print: printNode,
    },
  ],
  ['/Event', { columns: eventColumns, print: printEvent }],
  ['events.k8s.io/Event', { columns: eventColumns, print: (o, now) => printEvent(eventsV1ToCore(o), now) }],
  [
    '/Namespace',
    {
      columns: cols(nameCol, ['Status', 'string', 'The status of the namespace'], ageCol),
      print: printNamespace,
    },
  ],
  [
    '/Secret',
    {
      columns: cols(
        nameCol,
        ['Type', 'string', 'Used to facilitate programmatic handling of secret data.'],
        ['Data', 'string', 'Data contains the secret data.'],
        ageCol,
      ),
      print: printSecret,
    },
  ],
  [
    '/ServiceAccount',
    {
      columns: cols(
        nameCol,
        [
          'Secrets',
          'string',
          'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
        ],
        ageCol,
      ),
      print: printServiceAccount,
    },
  ],
  [
    '/PersistentVolume',
    {
      columns: cols(
        nameCol,
        [
          'Capacity',
          'string',
          "capacity is the description of the persistent volume's resources and capacity.",
        ],
        ['Access Modes', 'string', 'accessModes contains all ways the volume can be mounted.'],
        [
          'Reclaim Policy',
          'string',
          'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.',
        ],
        [
          'Status',
          'string',
          'phase indicates if a volume is available, bound to a claim, or released by a claim.',
        ],
        [
          'Claim',
          'string',
          'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.',
        ],
        ['StorageClass', 'string', 'StorageClass of the pv'],
        ['VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pv'],
        [
          'Reason',
          'string',
          'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.',
        ],
        ageCol,
        [
          'VolumeMode',
          'string',
          'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.',
          1,
        ],
      ),
      print: printPV,
    },
  ],
  [
    '/PersistentVolumeClaim',
    {
      columns: cols(
        nameCol,
        ['Status', 'string', 'phase represents the current phase of PersistentVolumeClaim.'],
        [
          'Volume',
          'string',
          'volumeName is the binding reference to the PersistentVolume backing this claim.',
        ],
        ['Capacity', 'string', 'capacity represents the actual resources of the underlying volume.'],
        [
          'Access Modes',
          'string',
          'accessModes contains the actual access modes the volume backing the PVC has.',
        ],
        ['StorageClass', 'string', 'StorageClass of the pvc'],
        ['VolumeAttributesClass', 'string', 'VolumeAttributesClass of the pvc'],
        ageCol,
        ['VolumeMode', 'string', 'volumeMode defines what type of volume is required by the claim.', 1],
      ),
      print: printPVC,
    },
  ],
  [
    'apps/Deployment',
    {
      columns: cols(
        nameCol,
        ['Ready', 'string', 'Number of the pod with ready state'],
        [
          'Up-to-date',
          'string',
          'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
        ],
        [
          'Available',
          'string',
          'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
        ],
        ageCol,
        containersCol,
        imagesCol,
        ['Selector', 'string', 'Label selector for pods.', 1],
      ),
      print: printDeployment,
    },
  ],
  [
    'autoscaling/HorizontalPodAutoscaler',
    {
      columns: cols(
        nameCol,
        [
          'Reference',
          'string',
          'reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.',
        ],
        [
          'Targets',
          'string',
          'metrics contains the specifications for which to use to calculate the desired replica count.',
        ],
        [
          'MinPods',
          'string',
          'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.',
        ],
        [
          'MaxPods',
          'string',
          'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.',
        ],
        [
          'Replicas',
          'string',
          'currentReplicas is current number of replicas of pods managed by this autoscaler.',
        ],
        ageCol,
      ),
      print: printHPA,
    },
  ],
  [
    '/ConfigMap',
    {
      columns: cols(nameCol, ['Data', 'string', 'Data contains the configuration data.'], ageCol),
      print: printConfigMap,
    },
  ],
  [
    'networking.k8s.io/NetworkPolicy',
    {
      columns: cols(
        nameCol,
        ['Pod-Selector', 'string', 'Selects the pods to which this NetworkPolicy object applies.'],
        ageCol,
      ),
      print: printNetworkPolicy,
    },
  ],
  ['rbac.authorization.k8s.io/RoleBinding', { columns: bindingColumns('roleBinding'), print: printBinding }],
  [
    'rbac.authorization.k8s.io/ClusterRoleBinding',
    { columns: bindingColumns('clusterRoleBinding'), print: printBinding },
  ],
  [
    'certificates.k8s.io/CertificateSigningRequest',
    {
      columns: cols(
        nameCol,
        ageCol,
        ['SignerName', 'string', 'Requested signer for the request.'],
        ['Requestor', 'string', 'Base64-encoded PKCS#10 CSR data'],
        [
          'RequestedDuration',
          'string',
          'expirationSeconds is the requested duration of validity of the issued certificate.',
        ],
        ['Condition', 'string', 'Conditions applied to the request, such as approval or denial.'],
      ),
      print: printCSR,
    },
  ],
  [
    'coordination.k8s.io/Lease',
    {
      columns: cols(
        nameCol,
        ['Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'],
        ageCol,
      ),
      print: printLease,
    },
  ],
  [
    'storage.k8s.io/StorageClass',
    {
      columns: cols(
        nameCol,
        ['Provisioner', 'string', 'provisioner indicates the type of the provisioner.'],
        [
          'ReclaimPolicy',
          'string',
          'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.',
        ],
        [
          'VolumeBindingMode',
          'string',
          'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.',
        ],
        [
          'AllowVolumeExpansion',
          'string',
          'allowVolumeExpansion shows whether the storage class allow volume expand.',
        ],
        ageCol,
      ),
      print: printStorageClass,
    },
  ],
  [
    'apps/ControllerRevision',
    {
      columns: cols(
        nameCol,
        ['Controller', 'string', 'Controller of the object'],
        ['Revision', 'string', 'Revision indicates the revision of the state represented by Data.'],
        ageCol,
      ),
      print: printControllerRevision,
    },
  ],
  [
    '/ResourceQuota',
    {
      columns: cols(
        nameCol,
        [
          'Request',
          'string',
          'Request represents a minimum amount of cpu/memory that a container may consume.',
        ],
        [
          'Limit',
          'string',
          'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.',
        ],
        ageCol,
      ),
      print: printResourceQuota,
    },
  ],
  [
    'scheduling.k8s.io/PriorityClass',
    {
      columns: cols(
        nameCol,
        ['Value', 'integer', 'value represents the integer value of this priority class.'],
        [
          'Global-Default',
          'boolean',
          'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.',
        ],
        ageCol,
        [
          'PreemptionPolicy',
          'string',
          'preemptionPolicy is the Policy for preempting pods with lower priority.',
        ],
      ),
      print: printPriorityClass,
    },
  ],
  [
    'storage.k8s.io/VolumeAttachment',
    {
      columns: cols(
        nameCol,
        [
          'Attacher',
          'string',
          'attacher indicates the name of the volume driver that MUST handle this request.',
          0,
          'name',
        ],
        ['PV', 'string', 'persistentVolumeName represents the name of the persistent volume to attach.'],
        ['Node', 'string', 'nodeName represents the node that the volume should be attached to.'],
        ['Attached', 'boolean', 'attached indicates the volume is successfully attached.'],
        ageCol,
      ),
      print: printVolumeAttachment,
    },
  ],
  [
    'discovery.k8s.io/EndpointSlice',
    {
      columns: cols(
        nameCol,
        ['AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice.'],
        [
          'Ports',
          'string',
          'ports specifies the list of network ports exposed by each endpoint in this slice.',
        ],
        ['Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice.'],
        ageCol,
      ),
      print: printEndpointSlice,
    },
  ],
  [
    'storage.k8s.io/CSIDriver',
    {
      columns: cols(
        nameCol,
        [
          'AttachRequired',
          'boolean',
          'attachRequired indicates this CSI volume driver requires an attach operation.',
        ],
        [
          'PodInfoOnMount',
          'boolean',
          'podInfoOnMount indicates this CSI volume driver requires additional pod information during mount operations.',
        ],
        [
          'StorageCapacity',
          'boolean',
          'storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity.',
        ],
        [
          'TokenRequests',
          'string',
          "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for.",
        ],
        [
          'RequiresRepublish',
          'boolean',
          'requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically called.',
        ],
        [
          'Modes',
          'string',
          'volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.',
        ],
        ageCol,
      ),
      print: printCSIDriver,
    },
  ],
  [
    'admissionregistration.k8s.io/MutatingWebhookConfiguration',
    { columns: webhookColumns, print: printWebhookConfiguration },
  ],
  [
    'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
    { columns: webhookColumns, print: printWebhookConfiguration },
  ],
]);
