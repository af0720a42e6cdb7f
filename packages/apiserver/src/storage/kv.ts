// The revisioned key-value contract every storage backend implements.
// Semantics follow etcd's (one global, strictly increasing revision per write) because that is
// what Kubernetes resourceVersions are built on.

export interface KeyValue {
  key: string;
  /** Serialized object (JSON text). */
  value: string;
  /** Revision of the write that created this key (its current incarnation). */
  createRevision: number;
  /** Revision of the last write to this key; becomes the object's resourceVersion. */
  modRevision: number;
}

export interface RangeOptions {
  /** Maximum number of items; 0 or undefined means all. */
  limit?: number;
  /** Return only keys strictly greater than this key (continue tokens). */
  startAfter?: string;
  /** Read at this revision (consistent pagination); undefined = latest. Below the compacted revision -> CompactedError. */
  revision?: number;
}

export interface RangeResult {
  items: KeyValue[];
  /** The revision the read was served at. */
  revision: number;
  /** True when more keys match beyond `limit`. */
  more: boolean;
  /** Number of keys remaining after this page (when cheaply known). */
  remaining?: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For delete: key with the value it had before deletion and modRevision = the delete's revision. */
  kv: KeyValue;
  /** Previous value of the key, when it existed. */
  prevKv?: KeyValue;
  /** True when this put created the key. */
  created?: boolean;
}

export interface WatchHandle {
  close(): void;
}

export interface WatchOptions {
  /** Deliver events with revision > afterRevision. Below the compacted revision -> onError(CompactedError). */
  afterRevision: number;
  onEvents: (events: WatchEvent[]) => void;
  onError: (err: Error) => void;
  /**
   * Called periodically with the store's current revision when nothing matched (for bookmarks).
   * Every event at or below the reported revision has already been passed to onEvents, so a watch
   * resumed from it misses nothing. Called about once a second while the watch is idle.
   */
  onProgress?: (revision: number) => void;
}

export interface KVStore {
  readonly name: string;
  get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }>;
  /** Range over keys with the given prefix, in key order (the byte order of the UTF-8 keys, as etcd). */
  range(prefix: string, opts?: RangeOptions): Promise<RangeResult>;
  /** Count keys with the prefix at the latest revision. */
  count(prefix: string): Promise<number>;
  /** Create if absent. Throws KeyExistsError. Returns the new revision. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Compare-and-swap on modRevision. Throws ConflictError (with current kv) or KeyNotFoundError. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Delete, optionally only if modRevision matches. Throws KeyNotFoundError / ConflictError. Returns deleted kv and the delete's revision. */
  delete(key: string, expectedModRevision?: number): Promise<{ prev: KeyValue; revision: number }>;
  watch(prefix: string, opts: WatchOptions): WatchHandle;
  /**
   * Discard history at or below `revision` (the state at `revision` stays readable). A revision
   * above the current one is clamped to it; at or below the compacted revision it does nothing.
   */
  compact(revision: number): Promise<void>;
  /** The revision of the latest write. */
  currentRevision(): Promise<number>;
  /** Reads and watches below this revision fail with CompactedError; 0 when nothing was compacted. */
  compactedRevision(): Promise<number>;
  close(): Promise<void>;
}

export class StorageError extends Error {
  override name = 'StorageError';
}
export class KeyExistsError extends StorageError {
  override name = 'KeyExistsError';
  readonly key: string;
  constructor(key: string) {
    super(`key already exists: ${key}`);
    this.key = key;
  }
}
export class KeyNotFoundError extends StorageError {
  override name = 'KeyNotFoundError';
  readonly key: string;
  constructor(key: string) {
    super(`key not found: ${key}`);
    this.key = key;
  }
}
export class ConflictError extends StorageError {
  override name = 'ConflictError';
  readonly key: string;
  readonly current: KeyValue | undefined;
  constructor(key: string, current: KeyValue | undefined) {
    super(`revision mismatch for ${key}`);
    this.key = key;
    this.current = current;
  }
}
export class CompactedError extends StorageError {
  override name = 'CompactedError';
  readonly requested: number;
  readonly compacted: number;
  constructor(requested: number, compacted: number) {
    super(`revision ${requested} has been compacted (oldest available ${compacted + 1})`);
    this.requested = requested;
    this.compacted = compacted;
  }
}
/** The backend could not be reached or timed out: maps to 500/503/504, never cached. */
export class UnavailableError extends StorageError {
  override name = 'UnavailableError';
}
