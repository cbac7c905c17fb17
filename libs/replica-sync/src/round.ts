import type { Entry } from '@fog/lww';
import { collectEntries, decodeAeEntry, planDiff, retiringTombstone, answerDiff, answerDigest, type ReplicaView } from './exchange';
import type { DiffReply, DiffRequest, DigestReply, DigestRequest, PushReply, PushRequest } from './wire';

/** A replica as anti-entropy sees it: its store, its table, and how it takes entries in. */
export interface AeLocal extends ReplicaView {
  readonly id: string;
  epoch(): number;
  holds(partition: number): boolean;
  /**
   * Store an entry that came from a peer (through the same admission and merge as any write):
   * applied, unchanged (not newer than what is held), or refused (memory limit, failing disk,
   * or the horizon rule).
   */
  accept(partition: number, key: string, entry: Entry, via: 'pull' | 'push' | 'retire'): 'applied' | 'unchanged' | 'refused';
  /** True while this partition is being re-checked after the node was out of contact longer than the grace period. */
  rejoining(partition: number): boolean;
  /** Called when the first peer of a round answers, before any entry is exchanged (see ContactTracker). */
  onContact?(): void;
}

/** Requests to one peer; rejects when the peer cannot be reached or answers badly. */
export interface AeTransport {
  digest(peer: string, req: DigestRequest): Promise<DigestReply>;
  diff(peer: string, req: DiffRequest): Promise<DiffReply>;
  push(peer: string, req: PushRequest): Promise<PushReply>;
}

export interface RoundLimits {
  buckets: number;
  keysPerRoundMax: number;
  entryBytesPerMessageMax: number;
  /** Diff exchanges in flight at once with one peer (default ROUND_EXCHANGES_CONCURRENT_MAX). */
  exchangesConcurrentMax?: number;
}

export interface RoundPlan {
  /** Partitions to compare this round. */
  partitions: number[];
  /** Peers to compare each partition with. */
  peersOf: (partition: number) => string[];
}

export interface RoundStats {
  partitions: number;
  exchanges: number;
  failedExchanges: number;
  /** For each partition compared with every peer that answered: whether any digest differed. */
  divergence: Map<number, boolean>;
  bucketsDiffering: number;
  keysListed: number;
  /** Entries taken from peers and stored here. */
  pulled: number;
  /** Entries sent to peers and stored there. */
  pushed: number;
  /** Entries a side refused (limits, disk, horizon). */
  refused: number;
  /** Values retired here because a peer's horizon covers them while this node is rejoining. */
  retired: number;
  /** Covered values kept (this node is not rejoining): they stay divergent and are counted. */
  coveredKept: number;
  /** The key budget ran out before every differing bucket was exchanged. */
  budgetExhausted: boolean;
  /** Partitions whose exchange with every peer completed (no failure). */
  synced: number[];
  /** At least one peer answered. */
  contacted: boolean;
  /** The highest epoch a peer answered with. */
  peerEpochMax: number;
}

function emptyStats(partitions: number): RoundStats {
  return {
    partitions, exchanges: 0, failedExchanges: 0, divergence: new Map(), bucketsDiffering: 0, keysListed: 0, pulled: 0, pushed: 0,
    refused: 0, retired: 0, coveredKept: 0, budgetExhausted: false, synced: [], contacted: false, peerEpochMax: 0,
  };
}

/** Retire the covered values if this partition is rejoining; otherwise count them as kept. */
function handleCovered(local: AeLocal, partition: number, keys: readonly string[], stats: { retired: number; coveredKept: number }): void {
  if (keys.length === 0) return;
  if (!local.rejoining(partition)) {
    stats.coveredKept += keys.length;
    return;
  }
  for (const key of keys) {
    const e = local.get(partition, key);
    if (e && e.value !== null && local.accept(partition, key, retiringTombstone(e), 'retire') === 'applied') stats.retired++;
  }
}

/**
 * One anti-entropy round, as the initiating node: for each peer, send the digests of the
 * partitions shared with it; for each differing partition, list our versions of the keys in
 * the differing buckets (within the key budget); take the newer entries the peer sends back,
 * and push the ones it asked for. Every exchange is bounded; what does not fit waits for a
 * later round. A failing peer is skipped, not retried: the next round tries again.
 */
export async function runRound(local: AeLocal, transport: AeTransport, plan: RoundPlan, limits: RoundLimits): Promise<RoundStats> {
  const stats = emptyStats(plan.partitions.length);
  const byPeer = new Map<string, number[]>();
  const failedPartitions = new Set<number>();
  for (const p of plan.partitions) {
    for (const peer of plan.peersOf(p)) {
      const list = byPeer.get(peer) ?? [];
      list.push(p);
      byPeer.set(peer, list);
    }
  }
  let budget = limits.keysPerRoundMax;
  for (const [peer, partitions] of byPeer) {
    let digestReply: DigestReply;
    try {
      digestReply = await transport.digest(peer, {
        epoch: local.epoch(), from: local.id, buckets: limits.buckets,
        partitions: partitions.map((p) => ({ p, digest: local.digest(p) })),
      });
      stats.exchanges++;
      if (!stats.contacted) local.onContact?.();
      stats.contacted = true;
      stats.peerEpochMax = Math.max(stats.peerEpochMax, digestReply.epoch);
    } catch {
      stats.failedExchanges++;
      for (const p of partitions) failedPartitions.add(p);
      continue;
    }
    // Plan every differing partition first (the key budget is spent in order), then exchange
    // them with a few requests in flight at once: the cost is round trips, not bytes.
    const tasks: Array<() => Promise<void>> = [];
    for (const part of digestReply.partitions) {
      if (!partitions.includes(part.p) || !part.held || !local.holds(part.p)) continue;
      const differs = part.diff.length > 0;
      stats.divergence.set(part.p, (stats.divergence.get(part.p) ?? false) || differs);
      if (!differs) continue;
      stats.bucketsDiffering += part.diff.length;
      if (budget <= 0) {
        stats.budgetExhausted = true;
        failedPartitions.add(part.p);
        continue;
      }
      const planned = planDiff(local, part.p, part.diff, limits.buckets, budget);
      if (planned.ids.length < part.diff.length) {
        stats.budgetExhausted = true;
        failedPartitions.add(part.p);
      }
      budget -= planned.keys;
      stats.keysListed += planned.versions.length;
      const request: DiffRequest = {
        epoch: local.epoch(), from: local.id, p: part.p, buckets: limits.buckets, ids: planned.ids,
        horizonMs: local.horizonMs(part.p), keysMax: Math.max(1, planned.keys), versions: planned.versions,
      };
      tasks.push(() => exchangePartition(local, transport, peer, request, limits, stats, failedPartitions));
    }
    await runLimited(tasks, limits.exchangesConcurrentMax ?? ROUND_EXCHANGES_CONCURRENT_MAX);
  }
  for (const p of plan.partitions) if (byPeer.size > 0 && !failedPartitions.has(p) && stats.divergence.has(p)) stats.synced.push(p);
  return stats;
}

/** Diff requests (each followed by its push) in flight at once with one peer in a round. */
export const ROUND_EXCHANGES_CONCURRENT_MAX = 8;

async function runLimited(tasks: Array<() => Promise<void>>, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tasks.length) }, worker));
}

/** Steps 2 and 3 for one partition: take the newer entries the peer sends, push the ones it wants. */
async function exchangePartition(
  local: AeLocal, transport: AeTransport, peer: string, request: DiffRequest, limits: RoundLimits, stats: RoundStats, failedPartitions: Set<number>,
): Promise<void> {
  const p = request.p;
  let reply: DiffReply;
  try {
    reply = await transport.diff(peer, request);
    stats.exchanges++;
  } catch {
    stats.failedExchanges++;
    failedPartitions.add(p);
    return;
  }
  if (!reply.held) return;
  if (reply.truncated) failedPartitions.add(p);
  for (const e of reply.entries) {
    const outcome = local.accept(p, e.key, decodeAeEntry(e), 'pull');
    if (outcome === 'applied') stats.pulled++;
    else if (outcome === 'refused') stats.refused++;
  }
  handleCovered(local, p, reply.covered, stats);
  if (reply.want.length === 0) return;
  const { entries, truncated } = collectEntries(local, p, reply.want, reply.want.length, limits.entryBytesPerMessageMax);
  if (truncated) failedPartitions.add(p);
  if (entries.length === 0) return;
  try {
    const pushed = await transport.push(peer, { epoch: local.epoch(), from: local.id, p, entries });
    stats.exchanges++;
    stats.pushed += pushed.applied;
    stats.refused += pushed.refused;
  } catch {
    stats.failedExchanges++;
    failedPartitions.add(p);
  }
}

/** Replier, step 1. */
export function handleDigest(local: AeLocal, req: DigestRequest): DigestReply {
  // A peer reaching us is contact too: a returning node may hear from its peers before its own
  // first round, and must know it is rejoining before it answers their diffs.
  local.onContact?.();
  return answerDigest(local, req, (p) => local.holds(p), local.epoch());
}

/**
 * Replier, step 2: answer with the entries the requester lacks and the keys we want, and
 * retire our own values that the requester's horizon covers if we are rejoining.
 */
export function handleDiff(local: AeLocal, req: DiffRequest, keysMax: number, entryBytesMax: number): { reply: DiffReply; retired: number; coveredKept: number } {
  const { reply, coveredThere } = answerDiff(local, req, local.holds(req.p), local.epoch(), keysMax, entryBytesMax);
  const counts = { retired: 0, coveredKept: 0 };
  handleCovered(local, req.p, coveredThere, counts);
  return { reply, ...counts };
}

/** Replier, step 3: store what the requester pushed (it asked us nothing; it answers what we wanted). */
export function handlePush(local: AeLocal, req: PushRequest): PushReply {
  const held = local.holds(req.p);
  let applied = 0;
  let refused = 0;
  if (held) {
    for (const e of req.entries) {
      const outcome = local.accept(req.p, e.key, decodeAeEntry(e), 'push');
      if (outcome === 'applied') applied++;
      else if (outcome === 'refused') refused++;
    }
  }
  return { epoch: local.epoch(), held, applied, refused };
}

/**
 * Notices that this node was out of contact with its peers for longer than the grace period
 * (it was stopped, or cut off): peers may since have purged tombstones of deletes it missed.
 * Each partition then stays "rejoining" until one complete exchange of it; meanwhile values a
 * peer's horizon covers are retired instead of kept. The last contact time is persisted by the
 * app, so a restart after a long stop counts as a gap.
 */
export class ContactTracker {
  private readonly pending = new Set<number>();

  constructor(private readonly graceMs: number, private lastContact: number | null) {}

  get lastContactMs(): number | null {
    return this.lastContact;
  }

  /** Call before a round's first exchange completes. Returns true when a rejoin starts. */
  onContact(nowMs: number, held: readonly number[]): boolean {
    const gap = this.lastContact === null ? 0 : nowMs - this.lastContact;
    this.lastContact = nowMs;
    if (gap <= this.graceMs) return false;
    for (const p of held) this.pending.add(p);
    return true;
  }

  onSynced(partitions: readonly number[]): void {
    for (const p of partitions) this.pending.delete(p);
  }

  rejoining(partition: number): boolean {
    return this.pending.has(partition);
  }

  get rejoiningPartitions(): number {
    return this.pending.size;
  }
}
