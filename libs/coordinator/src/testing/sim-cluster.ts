/** Test support only (not exported): in-process replicas with seeded delays, reordering and drops. */
import { HybridClock } from '@fog/clock';
import type { OpsRequest, PartitionTable, WireOp } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { Coordinator } from '../coordinator';
import type { ReplicaReply, ReplicaTransport } from '../replica-transport';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DIGITS = 1;

export function tableFor(ids: string[], epoch = 1): PartitionTable {
  const nodes: PartitionTable['nodes'] = {};
  for (const id of ids) nodes[id] = { id, address: id, zone: `zone-${id}`, weight: 1, state: 'up' };
  return {
    epoch, digits: DIGITS, redundancy: ids.length,
    partitions: Array.from({ length: 16 }, () => ({ replicas: [...ids], pending: [], why: ids.map((_, i) => (i === 0 ? 'rank' : 'zone')) })),
    nodes,
  };
}

/**
 * Replicas behind the transport interface. Each message (request and reply separately) waits a
 * seeded random number of event-loop turns, so concurrent operations interleave differently
 * per seed; `dropRate` loses a request or its reply (the sender sees an error either way).
 */
export class SimCluster implements ReplicaTransport {
  readonly engines = new Map<string, ReplicaEngine>();
  readonly down = new Set<string>();
  readonly rng: () => number;
  dropRate = 0;
  maxTurns = 0;
  wallMs = 1_000_000;
  sent: Array<{ address: string; op: WireOp }> = [];
  /** Runs just before an op reaches a replica (to play a rival there). */
  beforeDeliver: ((address: string, op: WireOp) => void) | null = null;

  constructor(ids: string[], seed = 1) {
    this.rng = mulberry32(seed);
    for (const id of ids) this.engines.set(id, new ReplicaEngine(id));
  }

  private async turns(): Promise<void> {
    const n = Math.floor(this.rng() * (this.maxTurns + 1));
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  }

  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.sent.push({ address, op });
    await this.turns();
    if (this.down.has(address)) throw new Error('ECONNREFUSED');
    if (this.rng() < this.dropRate) throw new Error('request lost');
    this.beforeDeliver?.(address, op);
    const res = this.engines.get(address)!.handle({ epoch, ops: [op] } as OpsRequest, this.wallMs);
    await this.turns();
    if (this.rng() < this.dropRate) throw new Error('reply lost');
    return { result: res.results[0], epoch: res.epoch, clock: res.clock };
  }

  publish(table: PartitionTable): void {
    for (const e of this.engines.values()) e.offerTable(table);
  }

  /** A frontend: its own clock (skewed by skewMs) and writer id. */
  frontend(table: { current: PartitionTable }, writerId: string, skewMs = 0, seed = 7): Coordinator {
    const rng = mulberry32(seed);
    return new Coordinator({
      transport: this,
      clock: new HybridClock(),
      nowMs: () => this.wallMs + skewMs,
      random: rng,
      writerId,
      table: () => table.current,
      refreshTable: async () => undefined,
    });
  }
}
