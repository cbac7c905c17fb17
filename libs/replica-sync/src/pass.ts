import type { PartitionSummary } from './partition-digests';
import { runRound, type AeLocal, type AeTransport, type RoundLimits, type RoundStats } from './round';
import { differingGroups, groupOf, groupSummaries, partitionSummaries, summariesEqual } from './tree';
import type { SummaryReply, SummaryRequest, TreeReply, TreeRequest } from './wire';

/** What a pass needs beyond a round: the hash tree's upper levels and the shared partitions. */
export interface PassLocal extends AeLocal {
  /** The partition count of this node's table. */
  total(): number;
  /** The partition's summary (sum of its bucket digests). */
  summary(partition: number): PartitionSummary;
  /** Partitions this node and the peer both hold according to this node's table. */
  shared(peer: string): number[];
}

export interface PassTransport extends AeTransport {
  tree(peer: string, req: TreeRequest): Promise<TreeReply>;
  summaries(peer: string, req: SummaryRequest): Promise<SummaryReply>;
}

/** Bounds of one pass, each with its unit in its name. */
export interface PassLimits extends RoundLimits {
  /** Partition summaries in one request of the second level. */
  summariesPerRequestMax: number;
  /** Differing partitions whose buckets and keys one pass exchanges with one peer. */
  partitionsPerPeerPerPassMax: number;
}

export interface PassStats extends RoundStats {
  /** Peers compared (their tree exchange answered). */
  peers: number;
  /** Shared partitions compared, over all peers (by the tree, most of them in one number). */
  partitionsCompared: number;
  /** Shared partitions found different, over all peers. */
  partitionsDiffering: number;
  /** Something differing was left for the next pass (a bound was reached or an exchange failed). */
  workLeft: boolean;
  /** Partition numbers found different (at most DIFFERING_LISTED_MAX, for log lines). */
  differingListed: number[];
  /**
   * A bound (partitions per peer, the key budget) left differing partitions or buckets
   * unexamined: they may hide real divergence, so the next pass should not wait long.
   */
  boundReached: boolean;
}

/** Partition numbers a pass lists for its log line. */
export const DIFFERING_LISTED_MAX = 16;

/**
 * One anti-entropy pass as the initiator: with each peer, compare the partitions both hold
 * through the hash tree (groups, then partitions), then exchange the buckets and keys of the
 * differing partitions only, within the pass's key budget. Partitions equal at the tree level
 * count as synced. `startAfter` rotates which differing partitions go first when the budget
 * cannot cover them all, so that a large difference is worked through in order across passes.
 */
export async function runPass(
  local: PassLocal, transport: PassTransport, peers: readonly string[], limits: PassLimits, startAfter = -1,
): Promise<PassStats> {
  const stats: PassStats = {
    partitions: 0, exchanges: 0, failedExchanges: 0, divergence: new Map(), bucketsDiffering: 0, keysListed: 0, pulled: 0, pushed: 0,
    refused: 0, retired: 0, coveredKept: 0, budgetExhausted: false, synced: [], contacted: false, peerEpochMax: 0,
    peers: 0, partitionsCompared: 0, partitionsDiffering: 0, workLeft: false, differingListed: [], boundReached: false,
  };
  const syncedEverywhere = new Map<number, boolean>();
  const total = local.total();
  let budget = limits.keysPerRoundMax;
  for (const peer of peers) {
    const shared = local.shared(peer);
    if (shared.length === 0) continue;
    stats.partitions += shared.length;
    let differing: number[];
    try {
      const tree = await transport.tree(peer, { epoch: local.epoch(), from: local.id, total, groups: groupSummaries(shared, total, (p) => local.summary(p)) });
      stats.exchanges++;
      if (!stats.contacted) local.onContact?.();
      stats.contacted = true;
      stats.peerEpochMax = Math.max(stats.peerEpochMax, tree.epoch);
      const groups = new Set(tree.groups);
      const candidates = shared.filter((p) => groups.has(groupOf(p, total)));
      differing = [];
      for (let i = 0; i < candidates.length; i += limits.summariesPerRequestMax) {
        const chunk = candidates.slice(i, i + limits.summariesPerRequestMax);
        const reply = await transport.summaries(peer, { epoch: local.epoch(), from: local.id, partitions: partitionSummaries(chunk, (p) => local.summary(p)) });
        stats.exchanges++;
        const inChunk = new Set(chunk);
        for (const r of reply.partitions) if (r.held && inChunk.has(r.p)) differing.push(r.p);
      }
    } catch {
      stats.failedExchanges++;
      stats.workLeft = true;
      for (const p of shared) syncedEverywhere.set(p, false);
      continue;
    }
    stats.peers++;
    stats.partitionsCompared += shared.length;
    stats.partitionsDiffering += differing.length;
    const differs = new Set(differing);
    for (const p of shared) {
      if (!differs.has(p)) {
        if (!syncedEverywhere.has(p)) syncedEverywhere.set(p, true);
        if (!stats.divergence.has(p)) stats.divergence.set(p, false);
      }
    }
    for (const p of differing) if (stats.differingListed.length < DIFFERING_LISTED_MAX && !stats.differingListed.includes(p)) stats.differingListed.push(p);
    if (differing.length === 0) continue;
    // Rotate so that the partitions after the cursor go first, then take what fits.
    const sorted = [...differing].sort((a, b) => a - b);
    const start = sorted.findIndex((p) => p > startAfter);
    const ordered = start <= 0 ? sorted : [...sorted.slice(start), ...sorted.slice(0, start)];
    const now = ordered.slice(0, limits.partitionsPerPeerPerPassMax);
    for (const p of ordered.slice(now.length)) syncedEverywhere.set(p, false);
    if (now.length < ordered.length) {
      stats.workLeft = true;
      stats.boundReached = true;
    }
    if (budget <= 0) {
      stats.budgetExhausted = true;
      stats.boundReached = true;
      stats.workLeft = true;
      for (const p of now) syncedEverywhere.set(p, false);
      continue;
    }
    const round = await runRound(local, transport, { partitions: now, peersOf: () => [peer] }, { ...limits, keysPerRoundMax: budget });
    budget -= Math.max(1, round.keysListed);
    mergeRound(stats, round);
    const roundSynced = new Set(round.synced);
    for (const p of now) {
      stats.divergence.set(p, true);
      if (!roundSynced.has(p)) {
        syncedEverywhere.set(p, false);
        stats.workLeft = true;
      } else if (!syncedEverywhere.has(p)) syncedEverywhere.set(p, true);
    }
  }
  for (const [p, ok] of syncedEverywhere) if (ok) stats.synced.push(p);
  stats.synced.sort((a, b) => a - b);
  return stats;
}

function mergeRound(into: PassStats, r: RoundStats): void {
  into.exchanges += r.exchanges;
  into.failedExchanges += r.failedExchanges;
  into.bucketsDiffering += r.bucketsDiffering;
  into.keysListed += r.keysListed;
  into.pulled += r.pulled;
  into.pushed += r.pushed;
  into.refused += r.refused;
  into.retired += r.retired;
  into.coveredKept += r.coveredKept;
  into.budgetExhausted = into.budgetExhausted || r.budgetExhausted;
  into.boundReached = into.boundReached || r.budgetExhausted;
  into.peerEpochMax = Math.max(into.peerEpochMax, r.peerEpochMax);
}

/** Replier, level 0: which of the requester's groups differ from ours (over the partitions we share per our table). */
export function handleTree(local: PassLocal, req: TreeRequest): TreeReply {
  local.onContact?.();
  const total = local.total();
  // Tables of different sizes cannot be compared by group: every group differs, and the
  // partition level (which names partitions) decides.
  if (req.total !== total) return { epoch: local.epoch(), groups: req.groups.map((g) => g[0]) };
  const mine = groupSummaries(local.shared(req.from), total, (p) => local.summary(p));
  return { epoch: local.epoch(), groups: differingGroups(req.groups, mine) };
}

/** Replier, level 1: which of the requester's partitions differ from ours, or are not held here. */
export function handleSummaries(local: PassLocal, req: SummaryRequest): SummaryReply {
  const partitions: SummaryReply['partitions'] = [];
  for (const [p, a, b, n] of req.partitions) {
    if (!local.holds(p)) partitions.push({ p, held: false });
    else if (!summariesEqual(local.summary(p), [a, b, n])) partitions.push({ p, held: true });
  }
  return { epoch: local.epoch(), partitions };
}
