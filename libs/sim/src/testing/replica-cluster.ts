/**
 * Test support (not exported): storage replicas (the real `ReplicaEngine`) and frontends (the
 * real `Coordinator`) on the simulation's clock and network (`SelfRunningNet`), for the
 * coordinator's scenario tests.
 */
import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import type { OpsRequest, PartitionTable, WireOp } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import type { Endpoint } from '../network';
import { Rng } from '../rng';
import { SelfRunningNet } from './self-running-net';

export const DIGITS = 1;
/** The wall clock at virtual time 0. */
const WALL_MS_AT_START = 1_000_000;
/** A request to a down replica, or a lost message, fails after this much virtual time. */
const REQUEST_TIMEOUT_MS = 100;

export function tableFor(ids: string[], epoch = 1): PartitionTable {
  const nodes: PartitionTable['nodes'] = {};
  for (const id of ids) nodes[id] = { id, address: id, zone: `zone-${id}`, weight: 1, state: 'up' };
  return {
    epoch, digits: DIGITS, redundancy: ids.length,
    partitions: Array.from({ length: 16 }, () => ({ replicas: [...ids], pending: [], why: ids.map((_, i) => (i === 0 ? 'rank' : 'zone')) })),
    nodes,
  };
}

export class ReplicaCluster implements ReplicaTransport {
  readonly rng: Rng;
  readonly sim: SelfRunningNet;
  readonly engines = new Map<string, ReplicaEngine>();
  /** Replicas that receive nothing (requests to them time out). */
  readonly down = new Set<string>();
  /** Every op sent, in send order. */
  sent: Array<{ address: string; op: WireOp }> = [];
  /** Runs just before an op reaches a replica (to play a rival there). */
  beforeDeliver: ((address: string, op: WireOp) => void) | null = null;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly frontendEndpoint: Endpoint = { id: 'frontends', alive: () => true };

  constructor(ids: string[], seed = 1) {
    this.rng = new Rng(seed);
    this.sim = new SelfRunningNet(this.rng.fork());
    for (const id of ids) {
      this.engines.set(id, new ReplicaEngine(id));
      this.endpoints.set(id, { id, alive: () => !this.down.has(id) });
    }
  }

  /** The wall clock every replica reads: virtual time plus a fixed start. */
  get wallMs(): number {
    return WALL_MS_AT_START + this.sim.sched.nowMs;
  }

  /** Probability that one message (a request or its reply) is lost. */
  set dropRate(rate: number) {
    this.sim.net.config = { ...this.sim.net.config, lossRate: rate };
  }

  /** Spread of message delays in virtual ms (0: every message takes 1 ms, in send order). */
  set delaySpreadMs(spread: number) {
    this.sim.net.config = { ...this.sim.net.config, delayMaxMs: this.sim.net.config.delayMinMs + spread };
  }

  send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.sent.push({ address, op });
    const engine = this.engines.get(address);
    const target = this.endpoints.get(address);
    if (!engine || !target) return Promise.reject(new Error(`no replica ${address}`));
    return this.sim.rpc(this.frontendEndpoint, target, `ops ${op.op}`, () => {
      this.beforeDeliver?.(address, op);
      const res = engine.handle({ epoch, ops: [op] } as OpsRequest, this.wallMs);
      return { result: res.results[0], epoch: res.epoch, clock: res.clock };
    }, REQUEST_TIMEOUT_MS);
  }

  publish(table: PartitionTable): void {
    for (const e of this.engines.values()) e.offerTable(table);
  }

  /** A frontend: its own clock (skewed by skewMs) and writer id. */
  frontend(table: { current: PartitionTable }, writerId: string, skewMs = 0, seed = 7): Coordinator {
    return new Coordinator({
      transport: this,
      clock: new HybridClock(),
      nowMs: () => this.wallMs + skewMs,
      random: new Rng(seed).next,
      writerId,
      table: () => table.current,
      refreshTable: async () => undefined,
    });
  }
}
