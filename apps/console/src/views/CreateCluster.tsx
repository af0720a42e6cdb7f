// The create form: every field of a local cluster a person usually sets, the bootstrap manifest it
// produces shown live beside it (the same file `kaasctl cluster deploy -f` takes), and a submit
// that creates the Cluster in the management API.
import { kubernetesVersions, defaultKubernetesVersion } from '@kaas/api/kubernetesVersions.ts';
import { useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { k8s } from '../api.ts';
import { ErrorBox, GuardedButton } from '../components.tsx';
import {
  emptyForm,
  formProblems,
  machineTypes,
  manifestOf,
  manifestYaml,
  serviceToggles,
  type ClusterForm,
  type PoolForm,
} from '../cluster.ts';
import { navigate, useCan } from '../hooks.ts';

function Field(props: { id: string; label: string; problem?: string; hint?: string; children: ReactNode }) {
  return (
    <div className={`field${props.problem ? ' invalid' : ''}`}>
      <label htmlFor={props.id}>{props.label}</label>
      {props.children}
      {props.hint && (
        <small id={`${props.id}-hint`} className="muted">
          {props.hint}
        </small>
      )}
      {props.problem && (
        <small id={`${props.id}-problem`} className="problem" role="alert">
          {props.problem}
        </small>
      )}
    </div>
  );
}

export function CreateCluster() {
  const [form, setForm] = useState<ClusterForm>(() => emptyForm(defaultKubernetesVersion));
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const problems = useMemo(() => formProblems(form), [form]);
  const yaml = useMemo(() => manifestYaml(form), [form]);
  const access = useCan('', {
    verb: 'create',
    resource: 'clusters',
    group: 'kaas.dev',
    namespace: form.namespace,
  });
  const show = (key: string) => (touched ? problems[key] : undefined);
  const set = (patch: Partial<ClusterForm>) => setForm((f) => ({ ...f, ...patch }));
  const setPool = (i: number, patch: Partial<PoolForm>) =>
    setForm((f) => ({ ...f, nodePools: f.nodePools.map((p, j) => (j === i ? { ...p, ...patch } : p)) }));

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    setTouched(true);
    if (Object.keys(problems).length) return;
    setBusy(true);
    setError(undefined);
    try {
      await k8s(`/apis/kaas.dev/v1alpha1/namespaces/${form.namespace}/clusters`, {
        method: 'POST',
        json: manifestOf(form),
      });
      navigate(`/console/c/${form.namespace}/${form.name}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="create-title">
      <h1 id="create-title">Create a cluster</h1>
      <div className="split">
        <form className="form" onSubmit={(e) => void submit(e)} noValidate>
          <fieldset>
            <legend>Cluster</legend>
            <Field
              id="c-name"
              label="Name"
              problem={show('name')}
              hint="Lowercase letters, digits and -, at most 32."
            >
              <input
                id="c-name"
                required
                autoComplete="off"
                value={form.name}
                aria-invalid={Boolean(show('name'))}
                aria-describedby="c-name-hint"
                onChange={(e) => set({ name: e.target.value })}
              />
            </Field>
            <Field id="c-namespace" label="Namespace" problem={show('namespace')}>
              <input
                id="c-namespace"
                value={form.namespace}
                onChange={(e) => set({ namespace: e.target.value })}
              />
            </Field>
            <Field id="c-provider" label="Provider">
              <select id="c-provider" value="local" disabled>
                <option value="local">local (the embedded cloud)</option>
              </select>
            </Field>
            <Field id="c-version" label="Kubernetes version">
              <select
                id="c-version"
                value={form.kubernetesVersion}
                onChange={(e) => set({ kubernetesVersion: e.target.value })}
              >
                {kubernetesVersions.map((v) => (
                  <option key={v.minor} value={v.minor}>
                    {v.minor} ({v.latestPatch})
                  </option>
                ))}
              </select>
            </Field>
            <Field
              id="c-latency"
              label="Simulated latency scale"
              hint="1 realistic, 0.1 ten times faster, 0 instant."
            >
              <input
                id="c-latency"
                type="number"
                min={0}
                max={100}
                step={0.1}
                value={form.latencyScale}
                aria-describedby="c-latency-hint"
                onChange={(e) => set({ latencyScale: Number(e.target.value) })}
              />
            </Field>
          </fieldset>
          <fieldset>
            <legend>Control plane</legend>
            <Field id="c-cp" label="Control plane nodes">
              <select
                id="c-cp"
                value={form.controlPlaneReplicas}
                onChange={(e) => set({ controlPlaneReplicas: Number(e.target.value) })}
              >
                {[1, 3, 5].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="c-cp-type" label="Machine type">
              <select
                id="c-cp-type"
                value={form.controlPlaneMachineType}
                onChange={(e) => set({ controlPlaneMachineType: e.target.value })}
              >
                {machineTypes.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </Field>
          </fieldset>
          <fieldset>
            <legend>Node pools</legend>
            {form.nodePools.map((p, i) => (
              <div className="pool" key={i}>
                <Field id={`pool${i}-name`} label={`Pool ${i + 1} name`} problem={show(`pool${i}.name`)}>
                  <input
                    id={`pool${i}-name`}
                    value={p.name}
                    onChange={(e) => setPool(i, { name: e.target.value })}
                  />
                </Field>
                <Field id={`pool${i}-replicas`} label="Nodes" problem={show(`pool${i}.replicas`)}>
                  <input
                    id={`pool${i}-replicas`}
                    type="number"
                    min={1}
                    max={500}
                    value={p.replicas}
                    onChange={(e) => setPool(i, { replicas: Number(e.target.value) })}
                  />
                </Field>
                <Field id={`pool${i}-type`} label="Machine type">
                  <select
                    id={`pool${i}-type`}
                    value={p.machineType}
                    onChange={(e) => setPool(i, { machineType: e.target.value })}
                  >
                    {machineTypes.map((m) => (
                      <option key={m}>{m}</option>
                    ))}
                  </select>
                </Field>
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Remove pool ${p.name || i + 1}`}
                  disabled={form.nodePools.length === 1}
                  onClick={() => set({ nodePools: form.nodePools.filter((_, j) => j !== i) })}
                >
                  Remove
                </button>
              </div>
            ))}
            <button
              type="button"
              className="secondary"
              onClick={() =>
                set({
                  nodePools: [
                    ...form.nodePools,
                    { name: `pool${form.nodePools.length + 1}`, replicas: 1, machineType: 'medium' },
                  ],
                })
              }
            >
              Add node pool
            </button>
          </fieldset>
          <fieldset>
            <legend>Managed services</legend>
            {serviceToggles.map(([key, label]) => (
              <div className="check" key={key}>
                <input
                  id={`svc-${key}`}
                  type="checkbox"
                  checked={form.services[key]}
                  onChange={(e) => set({ services: { ...form.services, [key]: e.target.checked } })}
                />
                <label htmlFor={`svc-${key}`}>{label}</label>
              </div>
            ))}
            {show('services') && (
              <small className="problem" role="alert">
                {show('services')}
              </small>
            )}
          </fieldset>
          <fieldset>
            <legend>Access</legend>
            <Field
              id="c-admins"
              label="Cluster admin role IDs"
              hint="Comma-separated; holders get cluster-admin."
            >
              <input
                id="c-admins"
                value={form.clusterAdminRoleIds}
                aria-describedby="c-admins-hint"
                onChange={(e) => set({ clusterAdminRoleIds: e.target.value })}
              />
            </Field>
          </fieldset>
          {error !== undefined && <ErrorBox error={error} what="create clusters" />}
          {touched && Object.keys(problems).length > 0 && (
            <p className="notice error" role="alert">
              Fix the fields marked above: {Object.keys(problems).length} problem(s).
            </p>
          )}
          <div className="actions">
            <GuardedButton className="primary" access={access} busy={busy} onClick={() => void submit()}>
              {busy ? 'Creating…' : 'Create cluster'}
            </GuardedButton>
          </div>
        </form>
        <aside className="manifest" aria-labelledby="manifest-title">
          <h2 id="manifest-title">Manifest</h2>
          <p className="muted">
            The same file <code>kaasctl cluster deploy -f</code> takes (see examples/bootstrap.yaml).
          </p>
          <pre data-testid="manifest">{yaml}</pre>
        </aside>
      </div>
    </section>
  );
}
