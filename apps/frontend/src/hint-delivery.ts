import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Argv } from 'yargs';
import type { ReplicaReply, ReplicaTransport } from '@fog/coordinator';
import type { Logger } from '@fog/http-kit';
import { internalAddressOf, type PartitionTable, type Version, type WireOp } from '@fog/protocol';
import { HINT_COUNTER_NAMES, HINT_LIMITS, HintQueue, hintOutcomeOf, type HintBatch, type HintCounters, type HintLimits } from '@fog/replica-sync';

/** The delivery timer's period: each turn expires old hints and sends what the budget allows. */
export const HINT_DELIVERY_DEFAULTS = {
  deliveryIntervalMs: 100,
} as const;

export interface HintDeliveryConfig {
  /** false (--hints-per-node-max 0): no hints are kept; anti-entropy alone repairs replicas. */
  enabled: boolean;
  limits: HintLimits;
  deliveryIntervalMs: number;
}

export interface HintDeliveryDeps {
  transport: ReplicaTransport;
  table: () => PartitionTable | null;
  log: Logger;
  registry: Registry;
  config: HintDeliveryConfig;
  nowMs?: () => number;
}

/**
 * Hinted handoff on the frontend: writes this frontend acknowledged without some replica are
 * kept in memory (libs/replica-sync HintQueue decides what is kept and what is sent) and sent
 * to that replica, as puts marked `via: 'hint'`, once the table says it is up again. The
 * frontend keeps them because it alone knows the write was acknowledged without that replica,
 * and keeping them here costs the write path no extra hop or disk write. They are lost if this
 * process stops; anti-entropy then repairs the replica (docs/durability.md, "Hinted handoff").
 */
export class HintDelivery {
  readonly queue: HintQueue;
  private timer: NodeJS.Timeout | null = null;
  private readonly nowMs: () => number;
  /** Counts already logged, so each warn line tells what happened since the previous one. */
  private logged = { expired: 0, dropped: 0 };

  constructor(private readonly deps: HintDeliveryDeps) {
    this.queue = new HintQueue(deps.config.limits);
    // A monotonic clock: hint ages and retry pauses must not jump when the wall clock is set.
    this.nowMs = deps.nowMs ?? (() => performance.now());
    this.registerMetrics(deps.registry);
  }

  /** A write acknowledged without `node` (CoordinatorEvents.missedWrite). */
  missedWrite(node: string, partition: number, key: string, ver: Version, val: string | null, exp?: number): void {
    if (this.deps.config.enabled) this.queue.add(node, partition, key, ver, val, this.nowMs(), exp);
  }

  start(): void {
    if (!this.deps.config.enabled) {
      this.deps.log.info('hinted handoff off (--hints-per-node-max 0): replicas that miss writes wait for anti-entropy');
      return;
    }
    if (this.timer) return;
    this.timer = setInterval(() => void this.turn(), this.deps.config.deliveryIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const { hints, nodes } = this.queue.stats();
    if (hints > 0) this.deps.log.warn('stopping with undelivered hints: they are lost, anti-entropy repairs those replicas', { hints, nodes });
  }

  /**
   * One timer turn: expire, send the batches that are due, and log (counts only) what was
   * given up since the last turn. Returns once every batch sent in this turn has its result.
   */
  async turn(): Promise<void> {
    const now = this.nowMs();
    this.queue.expire(now);
    const table = this.deps.table();
    const batches = table ? this.queue.nextBatch(now, (id) => table.nodes[id]?.state === 'up') : [];
    const sends = batches.map((b) => this.send(table!, b));
    this.logGivenUp();
    await Promise.all(sends);
    // A full batch went through: the node is back and more may wait. Go on at once rather than
    // after the timer (the queue's byte budget still paces delivery).
    if (this.timer && batches.some((b) => b.hints.length >= this.deps.config.limits.deliveryBatchOpsMax) && this.queue.stats().hints > 0) {
      setImmediate(() => void this.turn());
    }
  }

  /** Send a batch in queue order (the transport keeps a node's operations in order). */
  private async send(table: PartitionTable, batch: HintBatch): Promise<void> {
    const node = table.nodes[batch.node];
    const address = node ? internalAddressOf(node) : undefined;
    const replies = batch.hints.map((h): Promise<ReplicaReply | null> => {
      if (!address) return Promise.resolve(null);
      const op: WireOp = { op: 'put', p: h.partition, key: h.key, ver: h.ver, val: h.val, via: 'hint' };
      if (h.exp !== undefined) op.exp = h.exp;
      return this.deps.transport.send(address, table.epoch, op).catch(() => null);
    });
    const outcomes = (await Promise.all(replies)).map((r) => hintOutcomeOf(r, table.epoch));
    this.queue.onResult(batch.node, outcomes, this.nowMs());
  }

  private logGivenUp(): void {
    const s = this.queue.stats();
    const expired = s.expired - this.logged.expired;
    const dropped = s.dropped - this.logged.dropped;
    if (expired === 0 && dropped === 0) return;
    this.logged = { expired: s.expired, dropped: s.dropped };
    this.deps.log.warn('hints given up: anti-entropy must repair what they held', { expired, dropped, hintsQueued: s.hints, nodes: s.nodes });
  }

  private registerMetrics(registry: Registry): void {
    const queue = this.queue;
    new Gauge({
      name: 'fog_frontend_hints', help: 'Hints (writes a replica missed) this frontend holds now, over all target nodes.', registers: [registry],
      collect() { this.set(queue.stats().hints); },
    });
    new Gauge({
      name: 'fog_frontend_hint_bytes', help: 'Bytes of the hints this frontend holds now (keys, encoded values, overhead).', registers: [registry],
      collect() { this.set(queue.stats().bytes); },
    });
    // The queue keeps the running counts; each scrape adds what changed since the last one.
    const seen: HintCounters = { queued: 0, delivered: 0, expired: 0, dropped: 0, replaced: 0 };
    const total = new Counter({
      name: 'fog_frontend_hints_total',
      help: 'Hints by outcome: queued (writes a replica missed), then delivered, expired, dropped (over a limit, or the node no longer holds the partition) or replaced by a newer version of the key.',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        const s = queue.stats();
        for (const o of HINT_COUNTER_NAMES) {
          if (s[o] > seen[o]) this.inc({ outcome: o }, s[o] - seen[o]);
          seen[o] = s[o];
        }
      },
    });
    for (const o of HINT_COUNTER_NAMES) total.inc({ outcome: o }, 0);
  }
}

/** The hint flags of the frontend, with their defaults. */
export function withHintFlags<T>(y: Argv<T>) {
  return y
    .option('hints-per-node-max', { type: 'number', default: HINT_LIMITS.hintsPerNodeMax, describe: 'hints kept for one storage node; further ones are dropped (0: hinted handoff off)' })
    .option('hint-bytes-per-node-max', { type: 'number', default: HINT_LIMITS.hintBytesPerNodeMax, describe: 'bytes of hints kept for one storage node' })
    .option('hint-age-max-ms', { type: 'number', default: HINT_LIMITS.hintAgeMaxMs, describe: 'ms a hint is kept before it expires (anti-entropy then repairs the node)' })
    .option('hint-delivery-bytes-per-sec-max', { type: 'number', default: HINT_LIMITS.deliveryBytesPerSecMax, describe: 'bytes of hints this frontend sends per second, to all nodes together' })
    .option('hint-delivery-interval-ms', { type: 'number', default: HINT_DELIVERY_DEFAULTS.deliveryIntervalMs, describe: 'ms between two hint delivery turns' });
}

/** The hint configuration from parsed flags, or the problems with them. */
export function hintConfigFrom(args: Record<string, unknown>): { config: HintDeliveryConfig } | { problems: string[] } {
  const problems: string[] = [];
  const int = (flag: string, min: number): number => {
    const n = args[flag];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
      problems.push(`--${flag} must be an integer >= ${min}`);
      return min;
    }
    return n;
  };
  const hintsPerNodeMax = int('hints-per-node-max', 0);
  const limits: HintLimits = {
    ...HINT_LIMITS,
    // 0 turns hinted handoff off; the queue itself always has a positive bound.
    hintsPerNodeMax: hintsPerNodeMax > 0 ? hintsPerNodeMax : HINT_LIMITS.hintsPerNodeMax,
    hintBytesPerNodeMax: int('hint-bytes-per-node-max', 1),
    hintAgeMaxMs: int('hint-age-max-ms', 1),
    deliveryBytesPerSecMax: int('hint-delivery-bytes-per-sec-max', 1),
  };
  const deliveryIntervalMs = int('hint-delivery-interval-ms', 10);
  return problems.length ? { problems } : { config: { enabled: hintsPerNodeMax > 0, limits, deliveryIntervalMs } };
}
