// The PersistentVolume controller's decisions, as pure functions: the seed's binding algorithm
// and reclaim policies, in upstream's phases, annotations and event reasons. A controller observes
// claims, volumes and storage classes, calls syncClaim/syncVolume, and carries out the returned
// decision (write the objects, create a PV, run the scrub, record the event). Nothing here does
// I/O, and inputs are never mutated. See docs/volumes.md.
import { labelSelectorFromObject, matches } from '../selectors/labels.ts';
import type { KObject } from '../server/objects.ts';

export const annBindCompleted = 'pv.kubernetes.io/bind-completed';
export const annBoundByController = 'pv.kubernetes.io/bound-by-controller';
export const annProvisionedBy = 'pv.kubernetes.io/provisioned-by';
export const annStorageProvisioner = 'volume.kubernetes.io/storage-provisioner';
export const annBetaStorageProvisioner = 'volume.beta.kubernetes.io/storage-provisioner';
export const annSelectedNode = 'volume.kubernetes.io/selected-node';
export const annBetaStorageClass = 'volume.beta.kubernetes.io/storage-class';
export const annDefaultStorageClass = 'storageclass.kubernetes.io/is-default-class';
/** A StorageClass provisioner that provisions nothing: its PVs are created by an administrator. */
export const noProvisioner = 'kubernetes.io/no-provisioner';

export type ClaimPhase = 'Pending' | 'Bound' | 'Lost';
export type VolumePhase = 'Pending' | 'Available' | 'Bound' | 'Released' | 'Failed';

/** An event the controller records on the claim or the volume (upstream's reasons). */
export interface BinderEvent {
  on: 'claim' | 'volume';
  type: 'Normal' | 'Warning';
  reason:
    | 'FailedBinding'
    | 'VolumeMismatch'
    | 'ProvisioningSucceeded'
    | 'ProvisioningFailed'
    | 'WaitForFirstConsumer'
    | 'ClaimLost'
    | 'ClaimMisbound'
    | 'VolumeRecycled'
    | 'VolumeFailedRecycle'
    | 'VolumeFailedDelete'
    | 'VolumeUnknownReclaimPolicy';
  message: string;
}

/** What to do about one claim. Objects in a decision are the desired state to write. */
export type ClaimDecision =
  /** Already bound both ways and in phase: nothing to write. */
  | { action: 'none'; pvc: KObject; pv?: KObject }
  /** Stay Pending and look again later (PV not there yet, no match, waiting for a consumer). */
  | { action: 'wait'; pvc: KObject; event?: BinderEvent }
  /** Write both: the PV's claimRef and phase Bound, the claim's volumeName and phase Bound. */
  | { action: 'bind'; pv: KObject; pvc: KObject }
  /** Create `pv` (already pre-bound to the claim) and write the claim's annotations. */
  | { action: 'provision'; pv: KObject; pvc: KObject; event: BinderEvent }
  /** The claim cannot bind as asked: stays Pending, with a Warning event. */
  | { action: 'error'; pvc: KObject; event: BinderEvent }
  /** The claim's volume is gone or belongs to another claim: phase Lost. */
  | { action: 'lost'; pvc: KObject; event: BinderEvent };

/** What to do about one volume. */
export type VolumeDecision =
  | { action: 'none'; pv: KObject }
  /** Write the new phase (Available, Bound) or an unbinding the controller itself made. */
  | { action: 'update'; pv: KObject }
  /** Retain: the claim is gone, the data stays; Released until an administrator acts. */
  | { action: 'release'; pv: KObject }
  /**
   * Recycle: write `pv` (Released), scrub the volume's directory with `scrub`, then call
   * recycleFinished for the state to write next (Available again, or Failed).
   */
  | { action: 'recycle'; pv: KObject; scrub: ScrubJob }
  /** Delete: write `pv` (Released), delete the backing storage, then the PV object. */
  | { action: 'delete'; pv: KObject }
  | { action: 'fail'; pv: KObject; event: BinderEvent };

/** The seed's basic scrub: the volume mounted at /vol, everything under it removed. */
export interface ScrubJob {
  /** The directory to scrub on the node (hostPath.path, or the NFS export for nfs volumes). */
  source: Record<string, unknown>;
  mountPath: '/vol';
  command: string[];
}

export interface BinderWorld {
  volumes: readonly KObject[];
  classes: readonly KObject[];
}

export interface ProvisionOptions {
  /** The volume source of a provisioned PV; default a hostPath directory under volumesDir. */
  volumeSource?: (pvName: string, pvc: KObject, storageClass: KObject) => Record<string, unknown>;
  /** Where the local cloud keeps volume directories (default /var/lib/kaas/volumes). */
  volumesDir?: string;
}

// ---- quantities -----------------------------------------------------------------------------

const suffixes: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A resource.Quantity ("10Gi", "500M", "1.5e9") in bytes; NaN when unreadable. */
export function parseQuantity(q: unknown): number {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return NaN;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?)$/.exec(
    q.trim(),
  );
  if (!m) return NaN;
  const n = Number(m[1]! + (m[2] ?? ''));
  return n * suffixes[m[3] ?? '']!;
}

// ---- reading objects ------------------------------------------------------------------------

const ann = (o: KObject) => o.metadata.annotations ?? {};
const phaseOf = (o: KObject): string | undefined => o.status?.phase;
const capacityOf = (pv: KObject) => parseQuantity(pv.spec?.capacity?.storage);
const requestOf = (pvc: KObject) => parseQuantity(pvc.spec?.resources?.requests?.storage);
const volumeModeOf = (o: KObject): string => o.spec?.volumeMode || 'Filesystem';

/** The volume's class: spec.storageClassName, else the beta annotation, else "" (no class). */
export function volumeClass(pv: KObject): string {
  return pv.spec?.storageClassName ?? ann(pv)[annBetaStorageClass] ?? '';
}

/**
 * The claim's class. An unset class (not "") takes the default StorageClass, as upstream's
 * DefaultStorageClass admission and retroactive defaulting do; "" asks for no class at all.
 */
export function claimClass(pvc: KObject, classes: readonly KObject[]): string {
  const set = pvc.spec?.storageClassName ?? ann(pvc)[annBetaStorageClass];
  if (set !== undefined && set !== null) return String(set);
  return defaultStorageClass(classes)?.metadata.name ?? '';
}

/** The newest class annotated as default, as upstream picks among several. */
export function defaultStorageClass(classes: readonly KObject[]): KObject | undefined {
  return classes
    .filter((c) => ann(c)[annDefaultStorageClass] === 'true')
    .sort((a, b) =>
      String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')),
    )[0];
}

/** True when the PV's claimRef names this claim (and, once set, its uid). */
export function isVolumeBoundToClaim(pv: KObject, pvc: KObject): boolean {
  const ref = pv.spec?.claimRef;
  if (!ref) return false;
  if (ref.name !== pvc.metadata.name || ref.namespace !== pvc.metadata.namespace) return false;
  return !ref.uid || ref.uid === pvc.metadata.uid;
}

/** Why the volume cannot serve the claim, or undefined when it can (class, modes, size, mode). */
export function volumeMismatch(
  pv: KObject,
  pvc: KObject,
  classes: readonly KObject[] = [],
): string | undefined {
  if (volumeModeOf(pv) !== volumeModeOf(pvc)) return 'incompatible volumeMode';
  if (volumeClass(pv) !== claimClass(pvc, classes)) return 'storageClassName does not match';
  const modes: string[] = pv.spec?.accessModes ?? [];
  if (!((pvc.spec?.accessModes ?? []) as string[]).every((m) => modes.includes(m)))
    return 'incompatible accessMode';
  const want = requestOf(pvc);
  if (!(capacityOf(pv) >= want)) return 'requested PV is too small';
  return undefined;
}

function selectorMatches(pvc: KObject, pv: KObject): boolean {
  const sel = pvc.spec?.selector;
  if (sel === undefined || sel === null) return true;
  try {
    return matches(labelSelectorFromObject(sel), pv.metadata.labels);
  } catch {
    return false; // an invalid selector selects nothing
  }
}

/**
 * The seed's step 2.2: a PV pre-bound to this claim wins; otherwise, among Available PVs not bound
 * to other claims, with matching labels, the same storage class, every requested access mode and
 * enough capacity, the smallest (then by name).
 */
export function findBestMatch(
  pvc: KObject,
  volumes: readonly KObject[],
  classes: readonly KObject[] = [],
): KObject | undefined {
  let best: KObject | undefined;
  for (const pv of volumes) {
    if (pv.metadata.deletionTimestamp) continue;
    if (pv.spec?.claimRef) {
      if (isVolumeBoundToClaim(pv, pvc) && volumeMismatch(pv, pvc, classes) === undefined) return pv;
      continue; // bound, or pre-bound, to another claim
    }
    if (phaseOf(pv) !== 'Available') continue;
    if (!selectorMatches(pvc, pv)) continue;
    if (volumeMismatch(pv, pvc, classes) !== undefined) continue;
    if (
      !best ||
      capacityOf(pv) < capacityOf(best) ||
      (capacityOf(pv) === capacityOf(best) && pv.metadata.name! < best.metadata.name!)
    )
      best = pv;
  }
  return best;
}

// ---- building results -----------------------------------------------------------------------

function withPhase(o: KObject, phase: string, message?: string): KObject {
  const next = structuredClone(o);
  next.status = { ...(next.status ?? {}), phase };
  if (message) next.status.message = message;
  else delete next.status.message;
  return next;
}

function annotate(o: KObject, add: Record<string, string>, remove: string[] = []): void {
  const a = { ...(o.metadata.annotations ?? {}), ...add };
  for (const k of remove) delete a[k];
  if (Object.keys(a).length) o.metadata.annotations = a;
  else delete o.metadata.annotations;
}

/** Binds both ways: the PV's claimRef, the claim's volumeName, both Bound. */
export function bindVolume(pv: KObject, pvc: KObject): { pv: KObject; pvc: KObject } {
  const v = withPhase(pv, 'Bound');
  if (!isVolumeBoundToClaim(pv, pvc) || !pv.spec.claimRef.uid) {
    if (!pv.spec?.claimRef) annotate(v, { [annBoundByController]: 'yes' });
    v.spec = {
      ...(v.spec ?? {}),
      claimRef: {
        kind: 'PersistentVolumeClaim',
        apiVersion: 'v1',
        namespace: pvc.metadata.namespace,
        name: pvc.metadata.name,
        uid: pvc.metadata.uid,
        resourceVersion: pvc.metadata.resourceVersion,
      },
    };
  }
  const c = withPhase(pvc, 'Bound');
  if (!pvc.spec?.volumeName) {
    annotate(c, { [annBoundByController]: 'yes' });
    c.spec = { ...(c.spec ?? {}), volumeName: pv.metadata.name };
  }
  annotate(c, { [annBindCompleted]: 'yes' });
  c.status.accessModes = pv.spec?.accessModes ?? [];
  c.status.capacity = { ...(pv.spec?.capacity ?? {}) };
  return { pv: v, pvc: c };
}

const event = (
  on: BinderEvent['on'],
  type: BinderEvent['type'],
  reason: BinderEvent['reason'],
  message: string,
): BinderEvent => ({ on, type, reason, message });

// ---- claims ---------------------------------------------------------------------------------

/** Decides what to do about a claim, given every PV and StorageClass of the cluster. */
export function syncClaim(pvc: KObject, world: BinderWorld, opts: ProvisionOptions = {}): ClaimDecision {
  if (ann(pvc)[annBindCompleted] === 'yes') return syncBoundClaim(pvc, world);
  return pvc.spec?.volumeName ? syncClaimNamingVolume(pvc, world) : syncClaimWithoutVolume(pvc, world, opts);
}

/** The seed's step 1: the claim names a PV. */
function syncClaimNamingVolume(pvc: KObject, world: BinderWorld): ClaimDecision {
  const name = String(pvc.spec.volumeName);
  const pv = world.volumes.find((v) => v.metadata.name === name);
  // "continues to wait indefinitely in anticipation that the administrator provisions the PV"
  if (!pv) return { action: 'wait', pvc: withPhase(pvc, 'Pending') };
  if (!pv.spec?.claimRef) {
    const why = volumeMismatch(pv, pvc, world.classes);
    if (why) {
      return {
        action: 'error',
        pvc: withPhase(pvc, 'Pending'),
        event: event(
          'claim',
          'Warning',
          'VolumeMismatch',
          `Cannot bind to requested volume "${name}": ${why}`,
        ),
      };
    }
    return { action: 'bind', ...bindVolume(pv, pvc) };
  }
  if (isVolumeBoundToClaim(pv, pvc)) return { action: 'bind', ...bindVolume(pv, pvc) };
  return {
    action: 'error',
    pvc: withPhase(pvc, 'Pending'),
    event: event('claim', 'Warning', 'FailedBinding', `volume "${name}" already bound to a different claim.`),
  };
}

/** The seed's step 2: any suitable PV, else one provisioned through the claim's class. */
function syncClaimWithoutVolume(pvc: KObject, world: BinderWorld, opts: ProvisionOptions): ClaimDecision {
  const className = claimClass(pvc, world.classes);
  const claim = structuredClone(pvc);
  // An unset class resolved to the default is written back, as upstream does.
  if (claim.spec?.storageClassName === undefined && !ann(claim)[annBetaStorageClass] && className)
    claim.spec = { ...(claim.spec ?? {}), storageClassName: className };
  const pv = findBestMatch(claim, world.volumes, world.classes);
  if (pv) return { action: 'bind', ...bindVolume(pv, claim) };
  const pending = withPhase(claim, 'Pending');
  if (className === '') {
    return {
      action: 'wait',
      pvc: pending,
      event: event(
        'claim',
        'Normal',
        'FailedBinding',
        'no persistent volumes available for this claim and no storage class is set',
      ),
    };
  }
  const cls = world.classes.find((c) => c.metadata.name === className);
  if (!cls) {
    return {
      action: 'error',
      pvc: pending,
      event: event(
        'claim',
        'Warning',
        'ProvisioningFailed',
        `storageclass.storage.k8s.io "${className}" not found`,
      ),
    };
  }
  if (cls.volumeBindingMode === 'WaitForFirstConsumer' && !ann(claim)[annSelectedNode]) {
    return {
      action: 'wait',
      pvc: pending,
      event: event(
        'claim',
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      ),
    };
  }
  if (cls.provisioner === noProvisioner) {
    return {
      action: 'wait',
      pvc: pending,
      event: event(
        'claim',
        'Normal',
        'FailedBinding',
        `no persistent volumes available for this claim and storage class "${className}" does not provision volumes`,
      ),
    };
  }
  if (claim.spec?.selector) {
    return {
      action: 'error',
      pvc: pending,
      event: event(
        'claim',
        'Warning',
        'ProvisioningFailed',
        'claim.Spec.Selector is not supported for dynamic provisioning',
      ),
    };
  }
  return provision(pending, cls, opts);
}

function provision(pvc: KObject, cls: KObject, opts: ProvisionOptions): ClaimDecision {
  const name = `pvc-${pvc.metadata.uid}`;
  const provisioner = String(cls.provisioner);
  const source =
    opts.volumeSource?.(name, pvc, cls) ??
    ({
      hostPath: { path: `${opts.volumesDir ?? '/var/lib/kaas/volumes'}/${name}`, type: 'DirectoryOrCreate' },
    } as const);
  const spec: Record<string, unknown> = {
    capacity: { storage: pvc.spec?.resources?.requests?.storage },
    accessModes: [...(pvc.spec?.accessModes ?? [])],
    persistentVolumeReclaimPolicy: cls.reclaimPolicy ?? 'Delete',
    storageClassName: cls.metadata.name,
    volumeMode: volumeModeOf(pvc),
    claimRef: {
      kind: 'PersistentVolumeClaim',
      apiVersion: 'v1',
      namespace: pvc.metadata.namespace,
      name: pvc.metadata.name,
      uid: pvc.metadata.uid,
      resourceVersion: pvc.metadata.resourceVersion,
    },
    ...source,
  };
  if (cls.mountOptions) spec.mountOptions = [...cls.mountOptions];
  const pv: KObject = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { [annProvisionedBy]: provisioner } },
    spec,
  };
  const claim = structuredClone(pvc);
  annotate(claim, { [annStorageProvisioner]: provisioner, [annBetaStorageProvisioner]: provisioner });
  return {
    action: 'provision',
    pv,
    pvc: claim,
    event: event(
      'claim',
      'Normal',
      'ProvisioningSucceeded',
      `Successfully provisioned volume ${name} using ${provisioner}`,
    ),
  };
}

function syncBoundClaim(pvc: KObject, world: BinderWorld): ClaimDecision {
  const name = pvc.spec?.volumeName as string | undefined;
  if (!name) {
    return {
      action: 'lost',
      pvc: withPhase(pvc, 'Lost'),
      event: event(
        'claim',
        'Warning',
        'ClaimLost',
        'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
      ),
    };
  }
  const pv = world.volumes.find((v) => v.metadata.name === name);
  if (!pv) {
    return {
      action: 'lost',
      pvc: withPhase(pvc, 'Lost'),
      event: event(
        'claim',
        'Warning',
        'ClaimLost',
        'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
      ),
    };
  }
  if (!pv.spec?.claimRef || isVolumeBoundToClaim(pv, pvc)) {
    if (pv.spec?.claimRef?.uid && phaseOf(pv) === 'Bound' && phaseOf(pvc) === 'Bound')
      return { action: 'none', pvc, pv };
    return { action: 'bind', ...bindVolume(pv, pvc) };
  }
  return {
    action: 'lost',
    pvc: withPhase(pvc, 'Lost'),
    event: event(
      'claim',
      'Warning',
      'ClaimMisbound',
      'Two claims are bound to the same volume, this one is bound incorrectly',
    ),
  };
}

// ---- volumes and reclaim --------------------------------------------------------------------

const scrubbable = ['hostPath', 'nfs'] as const;

/** The seed's `rm -rf /vol/*`, extended to hidden entries so nothing of the last tenant survives. */
export const scrubCommand = ['/bin/sh', '-c', 'rm -rf /vol/* /vol/.[!.]* /vol/..?*'];

/** Decides what to do about a volume, given the claims of the cluster. */
export function syncVolume(pv: KObject, claims: readonly KObject[]): VolumeDecision {
  if (pv.metadata.deletionTimestamp) return { action: 'none', pv };
  const setPhase = (phase: VolumePhase): VolumeDecision =>
    phaseOf(pv) === phase ? { action: 'none', pv } : { action: 'update', pv: withPhase(pv, phase) };
  const ref = pv.spec?.claimRef;
  // Unbound, or pre-bound by an administrator to a claim that has not bound yet.
  if (!ref || !ref.uid) return setPhase('Available');
  const claim = claims.find(
    (c) =>
      c.metadata.namespace === ref.namespace && c.metadata.name === ref.name && c.metadata.uid === ref.uid,
  );
  if (!claim) return reclaim(pv);
  if (!claim.spec?.volumeName) return { action: 'none', pv }; // the claim's sync finishes the binding
  if (claim.spec.volumeName === pv.metadata.name) return setPhase('Bound');
  // The claim is bound to another volume. Undo a binding the controller made; leave an
  // administrator's pre-binding alone.
  if (ann(pv)[annBoundByController] === 'yes') return { action: 'update', pv: unbind(pv) };
  return { action: 'none', pv };
}

/** The seed's reclaim: the PV lost its claim. */
function reclaim(pv: KObject): VolumeDecision {
  const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
  // A Failed volume waits for an administrator; a Released Retain volume keeps waiting.
  if (phaseOf(pv) === 'Failed') return { action: 'none', pv };
  const released = phaseOf(pv) === 'Released' ? pv : withPhase(pv, 'Released');
  switch (policy) {
    case 'Retain':
      return released === pv ? { action: 'none', pv } : { action: 'release', pv: released };
    case 'Recycle': {
      const kind = scrubbable.find((k) => pv.spec?.[k]);
      if (!kind) {
        const failed = withPhase(pv, 'Failed', 'No recycler plugin found for the volume!');
        return {
          action: 'fail',
          pv: failed,
          event: event(
            'volume',
            'Warning',
            'VolumeFailedRecycle',
            'No recycler plugin found for the volume!',
          ),
        };
      }
      return {
        action: 'recycle',
        pv: released,
        scrub: {
          source: { [kind]: structuredClone(pv.spec[kind]) },
          mountPath: '/vol',
          command: [...scrubCommand],
        },
      };
    }
    case 'Delete':
      return { action: 'delete', pv: released };
    default:
      return {
        action: 'fail',
        pv: withPhase(pv, 'Failed', 'Volume has unrecognized PersistentVolumeReclaimPolicy'),
        event: event(
          'volume',
          'Warning',
          'VolumeUnknownReclaimPolicy',
          'Volume has unrecognized PersistentVolumeReclaimPolicy',
        ),
      };
  }
}

/** Drops the controller's binding: a claimRef it set goes, an administrator's keeps its name. */
function unbind(pv: KObject): KObject {
  const next = withPhase(pv, 'Available');
  if (ann(pv)[annBoundByController] === 'yes') delete next.spec.claimRef;
  else if (next.spec?.claimRef) {
    delete next.spec.claimRef.uid;
    delete next.spec.claimRef.resourceVersion;
  }
  annotate(next, {}, [annBoundByController]);
  return next;
}

/** After the scrub: Available again for the next claim, or Failed with the scrub's error. */
export function recycleFinished(
  pv: KObject,
  result: { ok: true } | { ok: false; message: string },
): { pv: KObject; event: BinderEvent } {
  if (result.ok)
    return { pv: unbind(pv), event: event('volume', 'Normal', 'VolumeRecycled', 'Volume recycled') };
  return {
    pv: withPhase(pv, 'Failed', `Recycle failed: ${result.message}`),
    event: event('volume', 'Warning', 'VolumeFailedRecycle', `Recycle failed: ${result.message}`),
  };
}

/** When deleting the backing storage failed: the PV stays, Failed, until someone looks. */
export function deleteFailed(pv: KObject, message: string): { pv: KObject; event: BinderEvent } {
  return {
    pv: withPhase(pv, 'Failed', message),
    event: event('volume', 'Warning', 'VolumeFailedDelete', message),
  };
}
