// Every cluster, live (list + watch), with a filter. Rows are virtualized: only the visible ones
// (plus a margin) are in the DOM, so 1,000 clusters render as fast as 20. The spacers' heights are
// set through the CSSOM (allowed by the CSP, unlike style attributes in markup).
import { useDeferredValue, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { isErrorReason } from '@kaas/api/errorReasons.ts';
import { ErrorBox, Link, StatusBadge } from '../components.tsx';
import { clustersPath, viewCluster, type ClusterView } from '../cluster.ts';
import { useCollection } from '../hooks.ts';

/** Must match .vrow's height in styles.css */
const rowPx = 48;
const overscan = 8;

function matches(c: ClusterView, q: string): boolean {
  if (!q) return true;
  const hay = `${c.namespace}/${c.name} ${c.provider} ${c.reason} ${c.message} ${c.version}`.toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((w) => hay.includes(w));
}

const short: Record<string, string> = {
  InfrastructureReady: 'Infra',
  ControlPlaneReady: 'Control plane',
  NodesReady: 'Nodes',
  ServicesReady: 'Services',
};

export function Fleet() {
  const state = useCollection(clustersPath);
  const [filter, setFilter] = useState('');
  const q = useDeferredValue(filter);
  const items = 'items' in state ? state.items : undefined;
  const rows = useMemo(
    () =>
      (items ?? [])
        .map(viewCluster)
        .filter((c) => matches(c, q))
        .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
    [items, q],
  );
  const readyCount = rows.filter((r) => r.ready).length;

  return (
    <section aria-labelledby="fleet-title" className="page">
      <div className="page-head">
        <h1 id="fleet-title">Clusters</h1>
        <Link to="/console/create" className="button primary">
          Create cluster
        </Link>
      </div>
      <div className="toolbar">
        <label htmlFor="fleet-filter">Filter</label>
        <input
          id="fleet-filter"
          type="search"
          value={filter}
          placeholder="name, namespace, provider, reason…"
          onChange={(e) => setFilter(e.target.value)}
        />
        <span className="muted" aria-live="polite" data-testid="fleet-count">
          {items ? `${rows.length} clusters, ${readyCount} Ready` : 'loading…'}
        </span>
        {state.phase === 'reconnecting' && (
          <span className="badge pending" role="status">
            reconnecting: {state.error}
          </span>
        )}
      </div>
      {state.phase === 'error' && <ErrorBox error={state.error} what="list clusters" />}
      {items && <ClusterRows rows={rows} />}
    </section>
  );
}

function ClusterRows({ rows }: { rows: ClusterView[] }) {
  const scroller = useRef<HTMLDivElement>(null);
  const top = useRef<HTMLDivElement>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState({ start: 0, end: 30 });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const update = () => {
      const start = Math.max(0, Math.floor(el.scrollTop / rowPx) - overscan);
      const end = Math.min(rows.length, Math.ceil((el.scrollTop + el.clientHeight) / rowPx) + overscan);
      setRange((r) => (r.start === start && r.end === end ? r : { start, end }));
    };
    update();
    el.addEventListener('scroll', update, { passive: true });
    const ro = new ResizeObserver(update);
    ro.observe(el);
    return () => {
      el.removeEventListener('scroll', update);
      ro.disconnect();
    };
  }, [rows.length]);

  const start = Math.min(range.start, rows.length);
  const end = Math.min(range.end, rows.length);
  useLayoutEffect(() => {
    top.current?.style.setProperty('height', `${start * rowPx}px`);
    bottom.current?.style.setProperty('height', `${(rows.length - end) * rowPx}px`);
  }, [start, end, rows.length]);

  if (!rows.length) return <p className="muted">No clusters match.</p>;
  return (
    <div className="vtable" role="table" aria-label="Clusters" aria-rowcount={rows.length + 1}>
      <div role="rowgroup">
        <div className="vrow head" role="row" aria-rowindex={1}>
          <span role="columnheader">Name</span>
          <span role="columnheader">Provider</span>
          <span role="columnheader">Status</span>
          <span role="columnheader" className="wide-only">
            Version
          </span>
          <span role="columnheader">Nodes</span>
          <span role="columnheader" className="wide-only">
            Conditions
          </span>
        </div>
      </div>
      {/* the scroll area is focusable so that keyboard users can scroll it */}
      {/* eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex */}
      <div className="vscroll" ref={scroller} role="rowgroup" tabIndex={0} aria-label="Cluster rows">
        <div ref={top} aria-hidden="true" />
        {rows.slice(start, end).map((c, i) => (
          <div className="vrow" role="row" aria-rowindex={start + i + 2} key={`${c.namespace}/${c.name}`}>
            <span role="cell" className="name">
              <Link to={`/console/c/${c.namespace}/${c.name}`}>{c.name}</Link>
              {c.namespace !== 'default' && <span className="muted"> ({c.namespace})</span>}
            </span>
            <span role="cell">{c.provider}</span>
            <span role="cell" className="status" title={c.message}>
              <StatusBadge ok={c.ready ? true : isErrorReason(c.reason) ? false : undefined}>
                {c.reason}
              </StatusBadge>
              {c.message && <span className="message">{c.message}</span>}
            </span>
            <span role="cell" className="wide-only">
              {c.version}
            </span>
            <span role="cell">{c.nodes}</span>
            <span role="cell" className="wide-only conds">
              {c.conditions
                .filter((k) => k.type !== 'Ready')
                .map((k) => (
                  <StatusBadge
                    key={k.type}
                    ok={k.status === 'True' ? true : k.status === 'False' ? false : undefined}
                  >
                    {short[k.type] ?? k.type}
                  </StatusBadge>
                ))}
            </span>
          </div>
        ))}
        <div ref={bottom} aria-hidden="true" />
      </div>
    </div>
  );
}
