/**
 * Hinted handoff, the decisions: which writes a replica missed are kept, for how long, and which
 * are sent to it now. A write acknowledged without some replica (it was down, timed out,
 * refused) leaves a hint for that replica; the hint is delivered when the replica is up again,
 * in the order the hints were queued, under a byte-rate budget.
 *
 * Pure: no timers and no I/O. Time comes in as nowMs, whether a node is up comes in as a
 * predicate, and the results of sending come back through onResult. The frontend that
 * coordinated the write keeps the queue in memory (docs/durability.md, "Hinted handoff").
 */
import { DEFAULT_LIMITS, type Version, type WireResult } from '@fog/protocol';
import { compareKeyVersions, keyVersion } from './reconcile';

/** Bounds of hinted handoff, each with its unit in its name. */
export const HINT_LIMITS = {
  /** Hints kept for one target node; beyond it new hints are refused (counted as dropped). */
  hintsPerNodeMax: 10_000,
  /** Bytes of hints (keys, encoded values, per-hint overhead) kept for one target node. */
  hintBytesPerNodeMax: 64 * 1024 * 1024,
  /** A hint older than this is given up (counted as expired): anti-entropy repairs what it held. */
  hintAgeMaxMs: 10 * 60_000,
  /** Hints sent to one node in one delivery (one internal request at most). */
  deliveryBatchOpsMax: DEFAULT_LIMITS.internalBatchOpsMax,
  /** Hint bytes one frontend sends per second, to all nodes together. */
  deliveryBytesPerSecMax: 8 * 1024 * 1024,
  /** Pause before the first retry after a failed delivery; it doubles per failure. */
  retryBackoffMinMs: 250,
  /** Longest pause between retries to one node. */
  retryBackoffMaxMs: 10_000,
  /** Accounting overhead per hint (version, ids, map entry), added to key and value bytes. */
  hintOverheadBytes: 64,
} as const;

export type HintLimits = { -readonly [K in keyof typeof HINT_LIMITS]: number };

// Relations between bounds that must hold whatever the values above become.
assertLimits(HINT_LIMITS);

/** One missed write, kept for one target node. */
export interface Hint {
  readonly node: string;
  readonly partition: number;
  readonly key: string;
  readonly ver: Version;
  /** The value as it travels (base64), or null for a tombstone. */
  readonly val: string | null;
  /** Expiry of a value written with a ttl (ms since the epoch); absent: none. */
  readonly exp?: number;
  /** When the hint was queued (or last replaced by a newer version of the key). */
  readonly queuedMs: number;
  /** Bytes it is charged for against hintBytesPerNodeMax. */
  readonly bytes: number;
}

/** Hints to send to one node now, in queue order (one batch per node in flight). */
export interface HintBatch {
  readonly node: string;
  readonly hints: readonly Hint[];
}

/**
 * What became of one sent hint:
 * delivered: the node holds this version or a newer one (applied, duplicate or stale).
 * retry: it could not take it now (unreachable, timed out, disk full...): try again after a pause.
 * drop: it never will (it no longer holds the partition, or refused the op as malformed).
 */
export type HintOutcome = 'delivered' | 'retry' | 'drop';

/** Counters, for metrics; `queued` is every hint taken in, the others what became of them. */
export interface HintCounters {
  queued: number;
  delivered: number;
  expired: number;
  dropped: number;
  /** Replaced in the queue by a newer version of the same key for the same node. */
  replaced: number;
}

export const HINT_COUNTER_NAMES: ReadonlyArray<keyof HintCounters> = ['queued', 'delivered', 'expired', 'dropped', 'replaced'];

export interface HintStats extends HintCounters {
  /** Hints held now, over all nodes. */
  hints: number;
  /** Bytes held now, over all nodes. */
  bytes: number;
  /** Nodes with at least one hint. */
  nodes: number;
}

/** What add() did with a hint. */
export type AddResult = 'queued' | 'replaced' | 'older' | 'dropped';

interface NodeQueue {
  /** partition + key → hint; a Map iterates in insertion order, so it is also the FIFO. */
  hints: Map<string, Hint>;
  bytes: number;
  /** The batch sent and not yet answered (at most one per node, so delivery stays in order). */
  inflight: readonly Hint[] | null;
  /** No delivery to this node before this time (after a failure). */
  retryAtMs: number;
  /** The pause the next failure sets (doubles per failure, reset by a success or the node's return). */
  backoffMs: number;
  /** Whether the node was up at the last nextBatch: a node that comes back is retried at once. */
  wasUp: boolean;
}

/**
 * Hints per target node, oldest first. A newer version of a key replaces the queued one (only
 * the newest version matters under last-writer-wins) and moves to the back, so the queue stays
 * in the order the versions were written.
 *
 * Over a node's limits, the new hint is refused, not the oldest evicted: the queue then holds a
 * contiguous run of the oldest misses and what anti-entropy must repair is everything after one
 * point in time, rather than holes spread through the outage; a node that piles up that many
 * hints has been away long enough that anti-entropy has the work anyway; and evicting would
 * churn memory on every write while the node is away.
 */
export class HintQueue {
  private readonly limits: HintLimits;
  private readonly queues = new Map<string, NodeQueue>();
  private readonly counters: HintCounters = { queued: 0, delivered: 0, expired: 0, dropped: 0, replaced: 0 };
  private hintCount = 0;
  private byteCount = 0;
  /** Token bucket of the delivery rate, in bytes; may go below zero by one hint (debt). */
  private tokens: number;
  private tokensAtMs: number | null = null;
  /** Where the next nextBatch starts among the nodes, so no node starves the others. */
  private rotation = 0;

  constructor(limits: Partial<HintLimits> = {}) {
    this.limits = { ...HINT_LIMITS, ...limits };
    assertLimits(this.limits);
    this.tokens = this.limits.deliveryBytesPerSecMax;
  }

  /** Keep a write that `node` missed. */
  add(node: string, partition: number, key: string, ver: Version, val: string | null, nowMs: number, exp?: number): AddResult {
    let q = this.queues.get(node);
    if (!q) {
      q = { hints: new Map(), bytes: 0, inflight: null, retryAtMs: 0, backoffMs: this.limits.retryBackoffMinMs, wasUp: true };
      this.queues.set(node, q);
    }
    const id = hintId(partition, key);
    const bytes = this.limits.hintOverheadBytes + utf8Bytes(key) + (val === null ? 0 : val.length) + ver.w.length;
    const old = q.hints.get(id);
    if (old && compareKeyVersions(keyVersion(key, old.ver, old.val === null), keyVersion(key, ver, val === null)) >= 0) {
      // A version at least as new is already queued (writes of a key can be acknowledged out of order).
      this.counters.queued++;
      this.counters.replaced++;
      return 'older';
    }
    const freed = old ? old.bytes : 0;
    const count = q.hints.size - (old ? 1 : 0);
    if (count + 1 > this.limits.hintsPerNodeMax || q.bytes - freed + bytes > this.limits.hintBytesPerNodeMax) {
      this.counters.queued++;
      this.counters.dropped++;
      if (q.hints.size === 0 && !q.inflight) this.queues.delete(node);
      return 'dropped';
    }
    this.counters.queued++;
    if (old) {
      this.remove(q, id, old);
      this.counters.replaced++;
    }
    q.hints.set(id, exp === undefined ? { node, partition, key, ver, val, queuedMs: nowMs, bytes } : { node, partition, key, ver, val, exp, queuedMs: nowMs, bytes });
    q.bytes += bytes;
    this.hintCount++;
    this.byteCount += bytes;
    return old ? 'replaced' : 'queued';
  }

  /** Give up hints queued more than hintAgeMaxMs ago. Returns how many expired. */
  expire(nowMs: number): number {
    let expired = 0;
    for (const [node, q] of this.queues) {
      // Insertion order is queue order, and a replaced hint moves to the back: the oldest are first.
      for (const [id, h] of q.hints) {
        if (nowMs - h.queuedMs <= this.limits.hintAgeMaxMs) break;
        this.remove(q, id, h);
        expired++;
      }
      if (q.hints.size === 0 && !q.inflight) this.queues.delete(node);
    }
    this.counters.expired += expired;
    return expired;
  }

  /**
   * The hints to send now: for each node that is up, has hints, no batch in flight and no
   * pause pending, the oldest hints up to deliveryBatchOpsMax, within the byte-rate budget.
   * The caller sends each batch as one ordered sequence and reports back with onResult.
   */
  nextBatch(nowMs: number, nodeIsUp: (node: string) => boolean): HintBatch[] {
    this.refill(nowMs);
    const nodes = [...this.queues];
    const batches: HintBatch[] = [];
    if (nodes.length === 0) return batches;
    const start = this.rotation % nodes.length;
    this.rotation = start + 1;
    for (let i = 0; i < nodes.length; i++) {
      const [node, q] = nodes[(start + i) % nodes.length];
      const up = nodeIsUp(node);
      if (up && !q.wasUp) {
        // It answers again: deliver now, whatever pause earlier failures set.
        q.retryAtMs = 0;
        q.backoffMs = this.limits.retryBackoffMinMs;
      }
      q.wasUp = up;
      if (!up || q.inflight || nowMs < q.retryAtMs || q.hints.size === 0) continue;
      const hints: Hint[] = [];
      for (const h of q.hints.values()) {
        if (hints.length >= this.limits.deliveryBatchOpsMax || this.tokens <= 0) break;
        hints.push(h);
        this.tokens -= h.bytes;
      }
      if (hints.length === 0) break; // the budget is spent for every node
      q.inflight = hints;
      batches.push({ node, hints });
    }
    return batches;
  }

  /**
   * What became of the batch last sent to `node`, one outcome per hint in batch order. A hint
   * replaced or expired while in flight is already accounted for and is left alone.
   */
  onResult(node: string, outcomes: readonly HintOutcome[], nowMs: number): void {
    const q = this.queues.get(node);
    if (!q || !q.inflight) return;
    const sent = q.inflight;
    q.inflight = null;
    let retry = false;
    sent.forEach((h, i) => {
      const outcome = outcomes[i] ?? 'retry';
      if (outcome === 'retry') {
        retry = true;
        return;
      }
      const id = hintId(h.partition, h.key);
      if (q.hints.get(id) !== h) return;
      this.remove(q, id, h);
      this.counters[outcome === 'delivered' ? 'delivered' : 'dropped']++;
    });
    if (retry) {
      q.retryAtMs = nowMs + q.backoffMs;
      q.backoffMs = Math.min(q.backoffMs * 2, this.limits.retryBackoffMaxMs);
    } else {
      q.retryAtMs = 0;
      q.backoffMs = this.limits.retryBackoffMinMs;
    }
    if (q.hints.size === 0) this.queues.delete(node);
  }

  /** Hints queued for one node, oldest first (for tests and inspection). */
  pending(node: string): Hint[] {
    return [...(this.queues.get(node)?.hints.values() ?? [])];
  }

  stats(): HintStats {
    let nodes = 0;
    for (const q of this.queues.values()) if (q.hints.size > 0) nodes++;
    return { ...this.counters, hints: this.hintCount, bytes: this.byteCount, nodes };
  }

  private remove(q: NodeQueue, id: string, h: Hint): void {
    q.hints.delete(id);
    q.bytes -= h.bytes;
    this.hintCount--;
    this.byteCount -= h.bytes;
  }

  private refill(nowMs: number): void {
    if (this.tokensAtMs !== null && nowMs > this.tokensAtMs) {
      const rate = this.limits.deliveryBytesPerSecMax;
      // The bucket holds one second of budget at most: an idle spell does not buy a burst.
      this.tokens = Math.min(rate, this.tokens + ((nowMs - this.tokensAtMs) * rate) / 1000);
    }
    if (this.tokensAtMs === null || nowMs > this.tokensAtMs) this.tokensAtMs = nowMs;
  }
}

/**
 * What a replica's answer to a hinted put means for the hint. reply null: it did not answer.
 * sentEpoch: the epoch of the table the hint was sent under.
 */
export function hintOutcomeOf(reply: { result: WireResult; epoch: number } | null, sentEpoch: number): HintOutcome {
  if (!reply) return 'retry';
  const res = reply.result;
  // applied, duplicate, or stale (it holds a newer version): the node has what the hint carried.
  if (res.ok) return 'delivered';
  // The node's table is at least as new as ours and does not give it the partition: it will
  // never take the write; the partition's current replicas have it or get it by copy or
  // anti-entropy. Behind ours, it may not have adopted a table that gives it the partition yet.
  if (res.code === 'FOG_ERR_WRONG_NODE') return reply.epoch >= sentEpoch ? 'drop' : 'retry';
  if (res.code === 'FOG_ERR_BAD_REQUEST') return 'drop';
  return 'retry';
}

function hintId(partition: number, key: string): string {
  return `${partition}\u0000${key}`;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

function assertLimits(l: HintLimits): void {
  const positive: Array<keyof HintLimits> = [
    'hintsPerNodeMax', 'hintBytesPerNodeMax', 'hintAgeMaxMs', 'deliveryBatchOpsMax', 'deliveryBytesPerSecMax', 'retryBackoffMinMs', 'retryBackoffMaxMs',
  ];
  for (const k of positive) if (!(Number.isSafeInteger(l[k]) && l[k] > 0)) throw new Error(`hint limit ${k} must be a positive integer (got ${l[k]})`);
  if (!(Number.isSafeInteger(l.hintOverheadBytes) && l.hintOverheadBytes >= 0)) throw new Error('hint limit hintOverheadBytes must be an integer >= 0');
  if (l.retryBackoffMinMs > l.retryBackoffMaxMs) throw new Error('hint limit retryBackoffMinMs must not exceed retryBackoffMaxMs');
  // One delivery is one internal request: the storage node refuses requests with more operations.
  if (l.deliveryBatchOpsMax > DEFAULT_LIMITS.internalBatchOpsMax) throw new Error(`hint limit deliveryBatchOpsMax must not exceed ${DEFAULT_LIMITS.internalBatchOpsMax}`);
}
