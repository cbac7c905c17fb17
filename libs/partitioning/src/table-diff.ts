/** A partition whose replica set changed: who joined it and who left it. */
export interface PartitionMove {
  partition: number;
  added: string[];
  removed: string[];
}

/**
 * Partitions whose replica SET differs between two assignments (order-only changes are not
 * moves: no data has to be copied). A partition missing from one side counts as empty there.
 */
export function diffPlacement(before: string[][], after: string[][]): PartitionMove[] {
  const moves: PartitionMove[] = [];
  const count = Math.max(before.length, after.length);
  for (let partition = 0; partition < count; partition++) {
    const was = before[partition] ?? [];
    const is = after[partition] ?? [];
    const wasSet = new Set(was);
    const isSet = new Set(is);
    const added = [...isSet].filter((id) => !wasSet.has(id));
    const removed = [...wasSet].filter((id) => !isSet.has(id));
    if (added.length > 0 || removed.length > 0) moves.push({ partition, added, removed });
  }
  return moves;
}

/** Count of replica slots that moved (sum of added.length): each is one partition copy to make. */
export function movedReplicaCount(before: string[][], after: string[][]): number {
  return diffPlacement(before, after).reduce((sum, move) => sum + move.added.length, 0);
}
