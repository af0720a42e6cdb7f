// One cluster: its status and day-2 operations (scale, version update, node replacement, destroy,
// kubeconfig), and the objects inside it through its own Kubernetes API, one view per kind.
import { kubernetesVersions } from '@kaas/api/kubernetesVersions.ts';
import type { LedgerEntry } from '@kaas/api';
import { useState } from 'react';
import { k8s } from '../api.ts';
import { ErrorBox, GuardedButton, Link, StatusBadge } from '../components.tsx';
import { clusterPath, specOf, statusOf, viewCluster } from '../cluster.ts';
import { navigate, useCan, useCollection, useServerInfo, type Decision } from '../hooks.ts';
import { collectionPath, kindByKey } from '../kinds.ts';
import type { KObject } from '../watch.ts';
import { ResourceList } from './ResourceList.tsx';
import { YamlEditor } from './YamlEditor.tsx';

const views = [
  ['overview', 'Overview'],
  ['nodes', 'Nodes'],
  ['namespaces', 'Namespaces'],
  ['workloads', 'Workloads'],
  ['pods', 'Pods'],
  ['services', 'Services'],
  ['storage', 'Storage'],
  ['events', 'Events'],
  ['managed', 'Managed services'],
] as const;

const viewKinds: Record<string, string[]> = {
  nodes: ['nodes'],
  namespaces: ['namespaces'],
  workloads: ['deployments', 'daemonsets', 'statefulsets'],
  pods: ['pods'],
  services: ['services'],
  storage: ['persistentvolumes', 'persistentvolumeclaims'],
  events: ['events'],
};

/** Read, change, PUT; again on a conflict (the controller writes the Cluster's status often). */
async function mutateCluster(namespace: string, name: string, change: (c: KObject) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const c = await k8s<KObject>(clusterPath(namespace, name));
    change(c);
    try {
      await k8s(clusterPath(namespace, name), { method: 'PUT', json: c });
      return;
    } catch (e) {
      if ((e as { status?: number }).status !== 409 || attempt >= 4) throw e;
    }
  }
}

export function ClusterPage(props: { namespace: string; name: string; sub: string; query: URLSearchParams }) {
  const { namespace, name } = props;
  const state = useCollection(`/apis/kaas.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/clusters`);
  const obj = 'items' in state ? state.items.find((o) => o.metadata.name === name) : undefined;
  const base = `/console/c/${namespace}/${name}`;
  const view = props.query.get('view') ?? 'overview';
  const update = useCan('', { verb: 'update', resource: 'clusters', group: 'kaas.dev', namespace, name });

  if (state.phase === 'error') return <ErrorBox error={state.error} what={`read clusters in ${namespace}`} />;
  if (state.phase === 'loading') return <p className="muted">loading…</p>;
  if (!obj)
    return (
      <section className="page">
        <h1>{name}</h1>
        <p className="notice">
          No cluster {namespace}/{name} (it may have just been destroyed).{' '}
          <Link to="/console/">All clusters</Link>
        </p>
      </section>
    );
  const c = viewCluster(obj);
  return (
    <section className="page" aria-labelledby="cluster-title">
      <div className="page-head">
        <h1 id="cluster-title">
          {name} <span className="muted">{namespace}</span>
        </h1>
        <StatusBadge ok={c.ready ? true : undefined}>{c.reason}</StatusBadge>
        <a
          className="button secondary"
          href={`/console/api/kubeconfig?cluster=${encodeURIComponent(name)}`}
          download
        >
          Download kubeconfig
        </a>
      </div>
      {!c.ready && c.message && <p className="notice">{c.message}</p>}
      <nav aria-label="Cluster views" className="tabs">
        {views.map(([key, label]) => (
          <Link key={key} to={`${base}?view=${key}`} current={props.sub === '' && view === key}>
            {label}
          </Link>
        ))}
        <Link
          to={`${base}/yaml?path=${encodeURIComponent(clusterPath(namespace, name))}`}
          current={props.sub === 'yaml' && props.query.get('path') === clusterPath(namespace, name)}
        >
          Cluster YAML
        </Link>
      </nav>
      {props.sub === 'yaml' ? (
        <YamlEditor apiPath={props.query.get('path') ?? clusterPath(namespace, name)} />
      ) : view === 'overview' ? (
        <Overview obj={obj} update={update} />
      ) : view === 'managed' ? (
        <Managed obj={obj} />
      ) : (
        <KindViews cluster={name} base={base} view={view} obj={obj} update={update} />
      )}
    </section>
  );
}

function KindViews(props: { cluster: string; base: string; view: string; obj: KObject; update: Decision }) {
  const [namespace, setNamespace] = useState('');
  const keys = viewKinds[props.view] ?? [];
  const descriptors = keys.map((k) => kindByKey(k)!).filter(Boolean);
  const namespaced = descriptors.some((d) => d.namespaced);
  const nsState = useCollection(namespaced ? collectionPath(props.cluster, kindByKey('namespaces')!) : null);
  return (
    <>
      {namespaced && (
        <div className="toolbar">
          <label htmlFor="ns-select">Namespace</label>
          <select id="ns-select" value={namespace} onChange={(e) => setNamespace(e.target.value)}>
            <option value="">all namespaces</option>
            {'items' in nsState &&
              nsState.items.map((n) => (
                <option key={n.metadata.name} value={n.metadata.name}>
                  {n.metadata.name}
                </option>
              ))}
          </select>
        </div>
      )}
      {descriptors.map((d) => (
        <ResourceList key={d.key} cluster={props.cluster} base={props.base} kind={d} namespace={namespace} />
      ))}
      {props.view === 'nodes' && <ReplaceNode obj={props.obj} update={props.update} />}
    </>
  );
}

function Overview({ obj, update }: { obj: KObject; update: Decision }) {
  const status = statusOf(obj);
  const c = viewCluster(obj);
  return (
    <div className="grid">
      <section aria-labelledby="conds-title" className="card">
        <h2 id="conds-title">Conditions</h2>
        <dl className="conditions">
          {c.conditions.map((k) => (
            <div key={k.type}>
              <dt>{k.type}</dt>
              <dd>
                <StatusBadge ok={k.status === 'True' ? true : k.status === 'False' ? false : undefined}>
                  {k.status} {k.reason}
                </StatusBadge>{' '}
                {k.message}
              </dd>
            </div>
          ))}
        </dl>
        <p className="muted">
          Provider {c.provider}; Kubernetes {c.version}; nodes {c.nodes || 'none yet'}
          {c.stale ? '; the controller has not caught up with the latest change yet' : ''}.
        </p>
        {status.kubernetesVersion === undefined && (
          <p className="muted">The API endpoint appears once the control plane is up.</p>
        )}
      </section>
      <Scale obj={obj} update={update} />
      <UpdateVersion obj={obj} update={update} />
      <Destroy obj={obj} />
    </div>
  );
}

function Scale({ obj, update }: { obj: KObject; update: Decision }) {
  const spec = specOf(obj);
  const pools = spec.nodePools ?? [];
  const ready = statusOf(obj).nodePools ?? [];
  const [want, setWant] = useState<Record<string, number>>({});
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const apply = async (pool: string, replicas: number) => {
    setBusy(true);
    setError(undefined);
    setDone('');
    try {
      await mutateCluster(obj.metadata.namespace ?? 'default', obj.metadata.name, (c) => {
        const p = (specOf(c).nodePools ?? []).find((x) => x.name === pool);
        if (!p) throw new Error(`node pool ${pool} is gone from the cluster`);
        p.replicas = replicas;
      });
      setDone(`Pool ${pool}: ${replicas} nodes requested; the controller adds or drains nodes.`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="scale-title" className="card">
      <h2 id="scale-title">Node pools</h2>
      {pools.map((p) => {
        const id = `scale-${p.name}`;
        const value = want[p.name] ?? p.replicas ?? 1;
        const r = ready.find((x) => x.name === p.name);
        return (
          <div className="row" key={p.name}>
            <label htmlFor={id}>
              {p.name}{' '}
              <span className="muted">({r ? `${r.ready}/${r.desired} Ready` : `${p.replicas} wanted`})</span>
            </label>
            <input
              id={id}
              type="number"
              min={1}
              max={500}
              value={value}
              onChange={(e) => setWant({ ...want, [p.name]: Number(e.target.value) })}
            />
            <GuardedButton
              access={update}
              busy={busy || value === p.replicas}
              onClick={() => void apply(p.name, value)}
            >
              Scale {p.name}
            </GuardedButton>
          </div>
        );
      })}
      {error !== undefined && <ErrorBox error={error} what="update this cluster" />}
      {done && (
        <p className="notice ok" role="status">
          {done}
        </p>
      )}
    </section>
  );
}

function UpdateVersion({ obj, update }: { obj: KObject; update: Decision }) {
  const current = String(specOf(obj).kubernetesVersion ?? '');
  const [version, setVersion] = useState(current);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const apply = async () => {
    setError(undefined);
    try {
      await mutateCluster(obj.metadata.namespace ?? 'default', obj.metadata.name, (c) => {
        (c.spec as { kubernetesVersion?: string }).kubernetesVersion = version;
      });
      setDone(`Kubernetes ${version} requested: nodes are replaced one at a time, control plane first.`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="version-title" className="card">
      <h2 id="version-title">Kubernetes version</h2>
      <div className="row">
        <label htmlFor="version-select">Version (now {current})</label>
        <select id="version-select" value={version} onChange={(e) => setVersion(e.target.value)}>
          {!kubernetesVersions.some((v) => v.minor === current) && <option value={current}>{current}</option>}
          {kubernetesVersions.map((v) => (
            <option key={v.minor} value={v.minor}>
              {v.minor} ({v.latestPatch})
            </option>
          ))}
        </select>
        <GuardedButton access={update} busy={version === current} onClick={() => void apply()}>
          Update
        </GuardedButton>
      </div>
      <p className="muted">A rolling update: at most one minor version ahead of the oldest node.</p>
      {error !== undefined && <ErrorBox error={error} what="update this cluster" />}
      {done && (
        <p className="notice ok" role="status">
          {done}
        </p>
      )}
    </section>
  );
}

function ReplaceNode({ obj, update }: { obj: KObject; update: Decision }) {
  const nodes = useCollection(collectionPath(obj.metadata.name, kindByKey('nodes')!));
  const [node, setNode] = useState('');
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState('');
  const items = 'items' in nodes ? nodes.items : [];
  const replace = async () => {
    const target = items.find((n) => n.metadata.name === node);
    if (!target?.metadata.uid) return;
    setError(undefined);
    try {
      // the same request as `kaasctl nodes replace`: the node's uid under kaas.dev/replace-nodes
      await mutateCluster(obj.metadata.namespace ?? 'default', obj.metadata.name, (c) => {
        const key = 'kaas.dev/replace-nodes';
        const prior = JSON.parse(c.metadata.annotations?.[key] ?? '{}') as Record<string, string>;
        c.metadata.annotations = {
          ...c.metadata.annotations,
          [key]: JSON.stringify({ ...prior, [node]: target.metadata.uid! }),
        };
      });
      setDone(`Replacing ${node}: cordon, drain, a new server under the same name.`);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="replace-title" className="card">
      <h2 id="replace-title">Replace a node</h2>
      <div className="row">
        <label htmlFor="replace-select">Node</label>
        <select id="replace-select" value={node} onChange={(e) => setNode(e.target.value)}>
          <option value="">choose a node</option>
          {items.map((n) => (
            <option key={n.metadata.name}>{n.metadata.name}</option>
          ))}
        </select>
        <GuardedButton access={update} busy={!node} onClick={() => void replace()}>
          Replace node
        </GuardedButton>
      </div>
      {error !== undefined && <ErrorBox error={error} what="update this cluster" />}
      {done && (
        <p className="notice ok" role="status">
          {done}
        </p>
      )}
    </section>
  );
}

function Destroy({ obj }: { obj: KObject }) {
  const namespace = obj.metadata.namespace ?? 'default';
  const name = obj.metadata.name;
  const access = useCan('', { verb: 'delete', resource: 'clusters', group: 'kaas.dev', namespace, name });
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>();
  const resources: LedgerEntry[] = statusOf(obj).resources ?? [];
  const destroy = async () => {
    try {
      await k8s(clusterPath(namespace, name), { method: 'DELETE' });
      navigate('/console/');
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="destroy-title" className="card danger">
      <h2 id="destroy-title">Destroy</h2>
      {obj.metadata.deletionTimestamp ? (
        <p role="status">Being destroyed: {resources.length} cloud objects left.</p>
      ) : !open ? (
        <GuardedButton className="danger" access={access} onClick={() => setOpen(true)}>
          Destroy {name}…
        </GuardedButton>
      ) : (
        <>
          <p>
            Destroying deletes the cluster, its data and these {resources.length} cloud objects
            (status.resources):
          </p>
          <ul className="ledger">
            {resources.map((r) => (
              <li key={r.name}>
                {r.kind} <code>{r.name}</code> <span className="muted">{r.phase}</span>
              </li>
            ))}
          </ul>
          <label htmlFor="destroy-confirm">Type the cluster name, {name}, to confirm</label>
          <input
            id="destroy-confirm"
            autoComplete="off"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
          />
          <div className="actions">
            <button type="button" className="danger" disabled={typed !== name} onClick={() => void destroy()}>
              Destroy {name}
            </button>
            <button type="button" className="secondary" onClick={() => (setOpen(false), setTyped(''))}>
              Cancel
            </button>
          </div>
        </>
      )}
      {error !== undefined && <ErrorBox error={error} what="delete this cluster" />}
    </section>
  );
}

interface ServiceHealth {
  key: string;
  name: string;
  version: string;
  healthy: boolean;
  message: string;
}

function Managed({ obj }: { obj: KObject }) {
  const info = useServerInfo();
  let report: ServiceHealth[] = [];
  try {
    report =
      (
        JSON.parse(obj.metadata.annotations?.['kaas.dev/services-report'] ?? '{}') as {
          services?: ServiceHealth[];
        }
      ).services ?? [];
  } catch {
    report = [];
  }
  const enabled = Object.entries(specOf(obj).services ?? {}).filter(
    ([, s]) => (s as { enabled?: boolean })?.enabled !== false,
  );
  return (
    <div className="grid">
      <section aria-labelledby="managed-title" className="card">
        <h2 id="managed-title">Managed services</h2>
        {report.length === 0 && (
          <p className="muted">No health report yet ({enabled.length} services enabled).</p>
        )}
        <ul className="services">
          {report.map((s) => (
            <li key={s.key}>
              <StatusBadge ok={s.healthy}>{s.healthy ? 'healthy' : 'not healthy'}</StatusBadge>{' '}
              <strong>{s.name}</strong> <span className="muted">{s.version}</span>{' '}
              {s.healthy ? '' : s.message}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="sso-title" className="card">
        <h2 id="sso-title">Through the SSO proxy</h2>
        {!info ? (
          <p className="muted">loading…</p>
        ) : info.ssoRoutes.length === 0 ? (
          <p className="muted">This server runs no SSO proxy (kaasctl server --sso-proxy-config).</p>
        ) : (
          <ul>
            {info.ssoRoutes.map((r) => (
              <li key={r.name}>
                <a href={r.url} target="_blank" rel="noreferrer">
                  Open {r.name}
                </a>{' '}
                <span className="muted">(signed in with your KaaS session)</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
