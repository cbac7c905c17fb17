import type { PartitionTable } from '@fog/protocol';

/**
 * The next `max` partitions of `held` (sorted ascending) after `after`, wrapping around: rounds
 * walk the held partitions in order, so every partition is compared once per
 * ceil(held / max) rounds.
 */
export function nextPartitions(held: readonly number[], after: number, max: number): number[] {
  if (held.length === 0 || max <= 0) return [];
  let start = held.findIndex((p) => p > after);
  if (start < 0) start = 0;
  const out: number[] = [];
  for (let i = 0; i < Math.min(max, held.length); i++) out.push(held[(start + i) % held.length]);
  return out;
}

/**
 * The peer replicas of a partition worth comparing with: every other node the table gives the
 * partition (active or pending, as both receive writes) that is up.
 */
export function peersOf(table: PartitionTable, partition: number, selfId: string): string[] {
  const entry = table.partitions[partition];
  if (!entry) return [];
  const ids = new Set([...entry.replicas, ...entry.pending]);
  ids.delete(selfId);
  return [...ids].filter((id) => serving(table.nodes[id]?.state)).sort();
}

/** A node that answers replica traffic: up, or leaving (it serves until its partitions are handed away). */
export function serving(state: string | undefined): boolean {
  return state === 'up' || state === 'leaving';
}
