import type { AffectedPartition, HealthSummary, PartitionHealth, PartitionTable } from '@fog/protocol';
import { CLUSTER_VIEW_LIMITS } from './limits';

export interface PartitionHealthOptions {
  affectedMax?: number;
  mapDigitsMax?: number;
}

const MAP_CHAR: Record<PartitionHealth, string> = { healthy: 'h', under_replicated: 'u', unavailable: 'x' };
const SEVERITY: Record<PartitionHealth, number> = { unavailable: 0, under_replicated: 1, healthy: 2 };

/**
 * Health of every partition against K, from the table alone: an active replica counts when its
 * node is `up` or `leaving` (a leaving node still serves). Healthy: K up; under-replicated:
 * fewer, but a quorum (a majority of K, what default reads and writes need); unavailable:
 * fewer than a quorum. Pending replicas do not count: they
 * cannot be read from until their copy is done. Node states in the table change with every
 * failure-detection verdict, so the health of a table is fixed by its epoch.
 */
export function partitionHealth(table: PartitionTable, opts: PartitionHealthOptions = {}): HealthSummary {
  const affectedMax = opts.affectedMax ?? CLUSTER_VIEW_LIMITS.healthAffectedPartitionsMax;
  const mapDigitsMax = opts.mapDigitsMax ?? CLUSTER_VIEW_LIMITS.healthMapDigitsMax;
  const k = table.redundancy;
  const quorum = Math.floor(k / 2) + 1;
  const serving = (id: string) => {
    const s = table.nodes[id]?.state;
    return s === 'up' || s === 'leaving';
  };
  let healthy = 0;
  let underReplicated = 0;
  let unavailable = 0;
  let noneUp = 0;
  const withMap = table.digits <= mapDigitsMax;
  const map: string[] = [];
  const affected: AffectedPartition[] = [];
  table.partitions.forEach((entry, partition) => {
    let up = 0;
    for (const id of entry.replicas) if (serving(id)) up++;
    const health: PartitionHealth = up >= k ? 'healthy' : up >= quorum ? 'under_replicated' : 'unavailable';
    if (health === 'healthy') healthy++;
    else if (health === 'unavailable') unavailable++;
    else underReplicated++;
    if (up === 0) noneUp++;
    if (withMap) map.push(MAP_CHAR[health]);
    if (health !== 'healthy') affected.push({ partition, health, up, active: entry.replicas.length, pending: entry.pending.length });
  });
  // Worst first, then by partition number: the list an operator reads is bounded, so the
  // unavailable partitions must not be cut off behind the merely under-replicated ones.
  affected.sort((a, b) => SEVERITY[a.health] - SEVERITY[b.health] || a.up - b.up || a.partition - b.partition);
  return {
    healthy, underReplicated, unavailable, noneUp,
    affected: affected.slice(0, affectedMax), affectedMax,
    ...(withMap ? { map: map.join('') } : {}),
    mapDigitsMax,
  };
}

/** The counts alone, for comparing two summaries and for log lines. */
export function healthCounts(h: HealthSummary): { healthy: number; underReplicated: number; unavailable: number } {
  return { healthy: h.healthy, underReplicated: h.underReplicated, unavailable: h.unavailable };
}
