/**
 * Test support (not exported): storage replicas for anti-entropy scenarios, each a real
 * `ReplicaEngine` seen through the same anti-entropy view as the simulation's storage
 * processes (`engineLocal`), exchanging over the simulation's network (`SelfRunningNet`), the
 * messages through JSON as on the wire. A replica that is not `up` receives nothing: its
 * peers' requests time out in virtual time.
 */
import type { Entry } from '@fog/lww';
import type { PartitionTable } from '@fog/protocol';
import { ContactTracker, handleDiff, handleDigest, handlePush, type AeTransport, type PassLocal, type RoundLimits } from '@fog/replica-sync';
import { ReplicaEngine } from '@fog/storage-core';
import { engineLocal } from '../engine-local';
import type { Endpoint } from '../network';
import type { SelfRunningNet } from './self-running-net';

/** An exchange with a peer that does not answer fails after this much virtual time. */
const EXCHANGE_TIMEOUT_MS = 100;

export class AeReplica implements Endpoint {
  readonly engine: ReplicaEngine;
  readonly tracker: ContactTracker;
  readonly local: PassLocal;
  up = true;
  /** This node's wall clock (set by the test). */
  now = 0;

  constructor(readonly id: string, table: PartitionTable, graceMs = 1_000) {
    this.engine = new ReplicaEngine(id);
    this.engine.offerTable(table);
    this.tracker = new ContactTracker(graceMs, null);
    this.local = engineLocal(this.engine, { tracker: this.tracker, nowMs: () => this.now });
  }

  alive(): boolean {
    return this.up;
  }

  /** A client write through the engine's one door. */
  write(p: number, key: string, e: Entry): void {
    this.engine.ingest('client', p, key, e);
  }

  get(p: number, key: string): Entry | undefined {
    return this.engine.store.get(p, key);
  }

  horizonMs(p: number): number {
    return this.engine.horizonMs(p);
  }

  rejoining(p: number): boolean {
    return this.tracker.rejoining(p);
  }

  onContact(): void {
    this.local.onContact?.();
  }

  /** Tombstone collection as the storage app runs it: purge before `beforeMs`, raise horizons. */
  gc(beforeMs: number): void {
    this.engine.collectTombstones(beforeMs);
  }

  dump(p: number): string {
    return JSON.stringify([...this.engine.store.entries(p)].map(([k, e]) => [k, e.ver, e.value?.toString() ?? null]).sort());
  }
}

/** `from`'s requests to its peers' repliers, over the simulated network. */
export function aeTransport(sim: SelfRunningNet, from: AeReplica, peers: ReadonlyMap<string, AeReplica>, limits: RoundLimits): AeTransport {
  const wire = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
  const call = <T>(id: string, what: string, handle: (peer: AeReplica) => T): Promise<T> => {
    const peer = peers.get(id);
    if (!peer) return Promise.reject(new Error(`no peer ${id}`));
    return sim.rpc(from, peer, what, () => wire(handle(peer)), EXCHANGE_TIMEOUT_MS);
  };
  return {
    digest: (id, req) => call(id, 'ae digest', (p) => handleDigest(p.local, wire(req))),
    diff: (id, req) => call(id, 'ae diff', (p) => handleDiff(p.local, wire(req), limits.keysPerRoundMax, limits.entryBytesPerMessageMax).reply),
    push: (id, req) => call(id, 'ae push', (p) => handlePush(p.local, wire(req))),
  };
}
