/**
 * Test support (not exported): storage replicas (the real `ReplicaEngine`) and frontends (the
 * real `Coordinator`) on the simulation's clock and network, for the coordinator's scenario
 * tests. Every request and reply travels through `SimNetwork` on the `Scheduler`, delayed,
 * reordered and lost by the seed's `Rng`; the scheduler runs by itself whenever a message is
 * in flight, so a test simply awaits the coordinator's calls.
 */
import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import type { OpsRequest, PartitionTable, WireOp } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { SimNetwork, type Endpoint } from '../network';
import { Rng } from '../rng';
import { Scheduler } from '../scheduler';

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
  readonly sched = new Scheduler();
  readonly rng: Rng;
  readonly net: SimNetwork;
  readonly engines = new Map<string, ReplicaEngine>();
  /** Replicas that receive nothing (requests to them time out). */
  readonly down = new Set<string>();
  /** Every op sent, in send order. */
  sent: Array<{ address: string; op: WireOp }> = [];
  /** Runs just before an op reaches a replica (to play a rival there). */
  beforeDeliver: ((address: string, op: WireOp) => void) | null = null;
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly frontendEndpoint: Endpoint = { id: 'frontends', alive: () => true };
  private pumping = false;
  private sentWhilePumping = false;

  constructor(ids: string[], seed = 1) {
    this.rng = new Rng(seed);
    this.net = new SimNetwork(this.sched, this.rng.fork(), (e) => {
      throw e;
    });
    this.net.config = { delayMinMs: 1, delayMaxMs: 1, lossRate: 0, duplicateRate: 0 };
    for (const id of ids) {
      this.engines.set(id, new ReplicaEngine(id));
      this.endpoints.set(id, { id, alive: () => !this.down.has(id) });
    }
  }

  /** The wall clock every replica reads: virtual time plus a fixed start. */
  get wallMs(): number {
    return WALL_MS_AT_START + this.sched.nowMs;
  }

  /** Probability that one message (a request or its reply) is lost. */
  set dropRate(rate: number) {
    this.net.config = { ...this.net.config, lossRate: rate };
  }

  /** Spread of message delays in virtual ms (0: every message takes 1 ms, in send order). */
  set delaySpreadMs(spread: number) {
    this.net.config = { ...this.net.config, delayMaxMs: this.net.config.delayMinMs + spread };
  }

  send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.sent.push({ address, op });
    const engine = this.engines.get(address);
    const target = this.endpoints.get(address);
    if (!engine || !target) return Promise.reject(new Error(`no replica ${address}`));
    const reply = this.net.rpc(this.frontendEndpoint, target, `ops ${op.op}`, () => {
      this.beforeDeliver?.(address, op);
      const res = engine.handle({ epoch, ops: [op] } as OpsRequest, this.wallMs);
      return { result: res.results[0], epoch: res.epoch, clock: res.clock };
    }, REQUEST_TIMEOUT_MS);
    this.pump();
    return reply;
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

  /** Run the scheduler (after the caller's synchronous sends) until no message is in flight. */
  private pump(): void {
    if (this.pumping) {
      this.sentWhilePumping = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => {
      void this.sched.run(Infinity).finally(() => {
        this.pumping = false;
        // A send between the last event and here found the pump busy: run once more.
        if (this.sentWhilePumping) {
          this.sentWhilePumping = false;
          this.pump();
        }
      });
    });
  }
}
