// View and edit any object as YAML. Save is a PUT carrying the resourceVersion that was loaded, so
// a change made by someone else in between is a 409 Conflict, shown as such (the edits are kept).
import { useEffect, useState } from 'react';
import { parse, stringify } from 'yaml';
import { ApiError, k8s } from '../api.ts';
import { ErrorBox, GuardedButton } from '../components.tsx';
import { useCan, useObject } from '../hooks.ts';
import type { KObject } from '../watch.ts';

/** The RBAC attributes of an object path such as /clusters/demo/api/v1/namespaces/x/pods/y. */
export function accessOf(apiPath: string): {
  cluster: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
} {
  let rest = apiPath.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  let cluster = '';
  if (rest[0] === 'clusters') {
    cluster = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const group = rest[0] === 'apis' ? (rest[1] ?? '') : '';
  rest = rest.slice(rest[0] === 'apis' ? 3 : 2);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  return { cluster, group, resource: rest[0] ?? '', name: rest[1], ...(namespace ? { namespace } : {}) };
}

export function YamlEditor({ apiPath }: { apiPath: string }) {
  const [version, setVersion] = useState(0);
  const { data, error } = useObject<KObject>(apiPath, version);
  const [text, setText] = useState('');
  const [saveError, setSaveError] = useState<unknown>();
  const [saved, setSaved] = useState('');
  const [busy, setBusy] = useState(false);
  const { cluster, ...a } = accessOf(apiPath);
  const access = useCan(cluster, { verb: 'update', ...a });
  useEffect(() => {
    if (data) {
      const shown = { ...data, metadata: { ...data.metadata } } as KObject & {
        metadata: Record<string, unknown>;
      };
      delete shown.metadata.managedFields;
      setText(stringify(shown, { lineWidth: 0 }));
    }
  }, [data]);

  const save = async () => {
    setBusy(true);
    setSaveError(undefined);
    setSaved('');
    try {
      const obj = parse(text) as KObject;
      const out = await k8s<KObject>(apiPath, { method: 'PUT', json: obj });
      setSaved(`Saved (resourceVersion ${out.metadata.resourceVersion}).`);
      setVersion((v) => v + 1);
    } catch (e) {
      setSaveError(e);
    } finally {
      setBusy(false);
    }
  };

  const conflict = saveError instanceof ApiError && saveError.status === 409;
  const title = data
    ? `${data.kind ?? ''} ${data.metadata.namespace ? `${data.metadata.namespace}/` : ''}${data.metadata.name}`
    : apiPath;
  return (
    <section className="page" aria-labelledby="yaml-title">
      <h2 id="yaml-title">{title}</h2>
      {error && <ErrorBox error={error} what={`read ${a.resource}`} />}
      {data && (
        <>
          <label htmlFor="yaml-text">YAML (edit and save; the API server checks it)</label>
          <textarea
            id="yaml-text"
            className="yaml"
            spellCheck={false}
            value={text}
            rows={Math.min(40, text.split('\n').length + 1)}
            onChange={(e) => setText(e.target.value)}
          />
          {conflict && (
            <div className="notice conflict" role="alert">
              <strong>Conflict:</strong> this {data.kind} changed since you opened it (someone or a controller
              wrote it). Your edits are still here; reload to start from the current version.{' '}
              <button
                type="button"
                className="secondary"
                onClick={() => (setSaveError(undefined), setVersion((v) => v + 1))}
              >
                Reload the current version
              </button>
            </div>
          )}
          {saveError !== undefined && !conflict && (
            <ErrorBox error={saveError} what={`update ${a.resource}`} />
          )}
          {saved && (
            <p className="notice ok" role="status">
              {saved}
            </p>
          )}
          <div className="actions">
            <GuardedButton className="primary" access={access} busy={busy} onClick={() => void save()}>
              Save
            </GuardedButton>
          </div>
        </>
      )}
    </section>
  );
}
