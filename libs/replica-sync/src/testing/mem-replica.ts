import { LwwStore, type Entry } from '@fog/lww';
import type { PartitionTable } from '@fog/protocol';
import { DIGEST_BUCKETS } from '../limits';
import { PartitionDigests } from '../partition-digests';
import { handleDiff, handleDigest, handlePush, ContactTracker } from '../round';
import { handleSummaries, handleTree, type PassLocal, type PassTransport } from '../pass';
import { NO_HORIZON_MS } from '../reconcile';
import { sharedPartitions } from '../tree';

/**
 * A replica as the storage app builds it, minus HTTP and disk: a store whose digests are kept
 * with every change (as the engine keeps them), horizons, and the table it holds.
 */
export class MemReplica implements PassLocal {
  readonly store = new LwwStore();
  readonly digests = new PartitionDigests(DIGEST_BUCKETS);
  readonly horizons = new Map<number, number>();
  readonly tracker = new ContactTracker(60_000, null);
  up = true;

  constructor(readonly id: string, public table: PartitionTable) {}

  epoch = () => this.table.epoch;
  total = () => this.table.partitions.length;
  holds = (p: number) => this.table.partitions[p].replicas.includes(this.id) || this.table.partitions[p].pending.includes(this.id);
  shared = (peer: string) => sharedPartitions(this.table, this.id, peer);
  entries = (p: number) => this.store.entries(p);
  get = (p: number, key: string) => this.store.get(p, key);
  horizonMs = (p: number) => this.horizons.get(p) ?? NO_HORIZON_MS;
  digest = (p: number) => this.digests.digest(p);
  summary = (p: number) => this.digests.summary(p);
  rejoining = (p: number) => this.tracker.rejoining(p);

  write(p: number, key: string, e: Entry): void {
    this.accept(p, key, e);
  }

  accept(p: number, key: string, e: Entry): 'applied' | 'unchanged' | 'refused' {
    const h = this.horizons.get(p);
    if (h !== undefined && e.ver.ms <= h && !this.store.get(p, key)) return 'refused';
    const before = this.store.get(p, key);
    if (this.store.merge(p, key, e).outcome !== 'applied') return 'unchanged';
    this.digests.update(p, key, before, e);
    return 'applied';
  }

  keys(p: number): string[] {
    return [...this.store.entries(p)].map(([k]) => k).sort();
  }
}

/** Calls peers' handlers directly, through JSON as on the wire; a peer that is not up rejects. */
export function memTransport(peers: Map<string, MemReplica>, keysMax = 50_000, bytesMax = 8 << 20): PassTransport & { calls: Record<string, number> } {
  const calls: Record<string, number> = { tree: 0, summaries: 0, digest: 0, diff: 0, push: 0 };
  const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
  const peer = (id: string) => {
    const r = peers.get(id);
    if (!r?.up) throw new Error(`${id} unreachable`);
    return r;
  };
  return {
    calls,
    tree: async (id, req) => (calls.tree++, wire(handleTree(peer(id), wire(req)))),
    summaries: async (id, req) => (calls.summaries++, wire(handleSummaries(peer(id), wire(req)))),
    digest: async (id, req) => (calls.digest++, wire(handleDigest(peer(id), wire(req)))),
    diff: async (id, req) => (calls.diff++, wire(handleDiff(peer(id), wire(req), keysMax, bytesMax).reply)),
    push: async (id, req) => (calls.push++, wire(handlePush(peer(id), wire(req)))),
  };
}

/** A table of `partitions` partitions, each on every given node (K = nodes), all up. */
export function fullTable(partitions: number, nodes: string[], pending: Record<number, string[]> = {}): PartitionTable {
  const digits = Math.round(Math.log(partitions) / Math.log(16));
  return {
    epoch: 1, digits, redundancy: nodes.length,
    partitions: Array.from({ length: partitions }, (_, p) => ({ replicas: nodes.filter((n) => !(pending[p] ?? []).includes(n)), pending: pending[p] ?? [] })),
    nodes: Object.fromEntries(nodes.map((id) => [id, { id, address: `${id}:1`, zone: 'z', weight: 1, state: 'up' as const }])),
  };
}
