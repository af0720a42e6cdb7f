// The generic list of one kind in a workload cluster, driven by its descriptor: live (list +
// watch), filtered by namespace; a 403 says what the user may not list instead of failing.
import { ErrorBox, Link } from '../components.tsx';
import { useCollection } from '../hooks.ts';
import { collectionPath, objectPath, type KindDescriptor } from '../kinds.ts';

export function ResourceList(props: {
  cluster: string;
  base: string;
  kind: KindDescriptor;
  namespace: string;
}) {
  const { cluster, kind, namespace } = props;
  const state = useCollection(collectionPath(cluster, kind, namespace || undefined));
  const headingId = `list-${kind.key}`;
  return (
    <section aria-labelledby={headingId} className="list">
      <h2 id={headingId}>
        {kind.title}
        {'items' in state && <span className="muted"> ({state.items.length})</span>}
      </h2>
      {state.phase === 'loading' && <p className="muted">loading…</p>}
      {state.phase === 'error' && (
        <ErrorBox
          error={state.error}
          what={`list ${kind.plural}${kind.namespaced && namespace ? ` in namespace ${namespace}` : ''}`}
        />
      )}
      {'items' in state && state.items.length === 0 && <p className="muted">None.</p>}
      {'items' in state && state.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                {kind.namespaced && <th scope="col">Namespace</th>}
                {kind.columns.map((c) => (
                  <th scope="col" key={c.header}>
                    {c.header}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...state.items]
                .sort(
                  (a, b) =>
                    (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
                    a.metadata.name.localeCompare(b.metadata.name),
                )
                .map((o) => (
                  <tr key={o.metadata.uid ?? `${o.metadata.namespace}/${o.metadata.name}`}>
                    <th scope="row">
                      <Link
                        to={`${props.base}/yaml?path=${encodeURIComponent(objectPath(cluster, kind, o))}`}
                      >
                        {o.metadata.name}
                      </Link>
                    </th>
                    {kind.namespaced && <td>{o.metadata.namespace}</td>}
                    {kind.columns.map((c) => (
                      <td key={c.header}>{c.value(o)}</td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
