/**
 * A storage node's side of anti-entropy over its `ReplicaEngine`, as the storage app wires it:
 * what it holds, its digests and horizons, and one door (`ingest`) for what peers give it.
 */
import type { Entry } from '@fog/lww';
import { sharedPartitions, type ContactTracker, type PassLocal } from '@fog/replica-sync';
import type { ReplicaEngine } from '@fog/storage-core';

export interface EngineLocalOptions {
  tracker: ContactTracker;
  nowMs: () => number;
  /** Partitions held beyond the table's (a released partition being confirmed). */
  alsoHolds?: (partition: number) => boolean;
  /** After the tracker saw a contact (the node persists its time). */
  afterContact?: () => void;
}

export function engineLocal(engine: ReplicaEngine, o: EngineLocalOptions): PassLocal {
  const holds = (p: number) => engine.holds(p) || (o.alsoHolds?.(p) ?? false);
  return {
    id: engine.nodeId,
    epoch: () => engine.epoch(),
    holds,
    entries: (p) => engine.store.entries(p),
    get: (p, key) => engine.store.get(p, key),
    horizonMs: (p) => engine.horizonMs(p),
    digest: (p) => engine.digests.digest(p),
    summary: (p) => engine.digests.summary(p),
    total: () => engine.currentTable()?.partitions.length ?? 1,
    shared: (peer) => {
      const t = engine.currentTable();
      return t ? sharedPartitions(t, engine.nodeId, peer) : [];
    },
    rejoining: (p) => o.tracker.rejoining(p),
    onContact: () => {
      o.tracker.onContact(o.nowMs(), engine.heldPartitions());
      o.afterContact?.();
    },
    accept: (p, key, entry: Entry, via) => {
      // A released partition being confirmed only gives: it will be dropped.
      if (!engine.holds(p)) return 'unchanged';
      const r = engine.ingest(via === 'retire' ? 'retire' : 'anti_entropy', p, key, entry);
      if (r.outcome === 'applied') return 'applied';
      return r.outcome === 'refused' || r.outcome === 'horizon' ? 'refused' : 'unchanged';
    },
  };
}
