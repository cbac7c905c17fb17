import type { PartitionTable } from '@fog/protocol';
import type { PartitionSummary } from './partition-digests';

/**
 * The top of the anti-entropy hash tree between two replicas: the partitions they share are
 * grouped into at most TREE_GROUPS_MAX contiguous ranges; a group's summary is the sum of its
 * shared partitions' summaries (mod 2^32), which is itself a sum of per-entry hashes. One
 * exchange of group summaries tells which groups differ; a second, of partition summaries in
 * those groups, which partitions; then the bucket digests and keys of those partitions only.
 * So the cost of a pass grows with what differs, not with the number of partitions.
 */
export const TREE_GROUPS_MAX = 256;

/** [group, a, b, keys, shared partitions]. */
export type GroupSummary = [g: number, a: number, b: number, n: number, partitions: number];
/** [partition, a, b, keys]. */
export type PartitionSummaryEntry = [p: number, a: number, b: number, n: number];

export function groupCount(partitions: number): number {
  return Math.min(partitions, TREE_GROUPS_MAX);
}

export function groupOf(partition: number, partitions: number): number {
  return Math.floor((partition * groupCount(partitions)) / partitions);
}

/**
 * Partitions both nodes hold according to this table (active or pending on each side), in
 * ascending order. Two replicas with the same table compute the same set; with different
 * tables their groups may differ, and the partition level sorts it out.
 */
export function sharedPartitions(table: PartitionTable, a: string, b: string): number[] {
  const out: number[] = [];
  table.partitions.forEach((e, p) => {
    const hasA = e.replicas.includes(a) || e.pending.includes(a);
    if (hasA && (e.replicas.includes(b) || e.pending.includes(b))) out.push(p);
  });
  return out;
}

/** Group summaries of the given partitions (only groups with at least one of them). */
export function groupSummaries(partitions: readonly number[], total: number, summary: (p: number) => PartitionSummary): GroupSummary[] {
  const byGroup = new Map<number, GroupSummary>();
  for (const p of partitions) {
    const g = groupOf(p, total);
    let s = byGroup.get(g);
    if (!s) byGroup.set(g, (s = [g, 0, 0, 0, 0]));
    const [a, b, n] = summary(p);
    s[1] = (s[1] + a) >>> 0;
    s[2] = (s[2] + b) >>> 0;
    s[3] = (s[3] + n) >>> 0;
    s[4] += 1;
  }
  return [...byGroup.values()].sort((x, y) => x[0] - y[0]);
}

/** Groups whose summaries differ, including groups only one side has. */
export function differingGroups(mine: readonly GroupSummary[], theirs: readonly GroupSummary[]): number[] {
  const other = new Map(theirs.map((s) => [s[0], s]));
  const out = new Set<number>();
  for (const s of mine) {
    const t = other.get(s[0]);
    if (!t || t[1] !== s[1] || t[2] !== s[2] || t[3] !== s[3] || t[4] !== s[4]) out.add(s[0]);
    other.delete(s[0]);
  }
  for (const g of other.keys()) out.add(g);
  return [...out].sort((a, b) => a - b);
}

export function partitionSummaries(partitions: readonly number[], summary: (p: number) => PartitionSummary): PartitionSummaryEntry[] {
  return partitions.map((p) => [p, ...summary(p)] as PartitionSummaryEntry);
}

export function summariesEqual(a: PartitionSummary, b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
