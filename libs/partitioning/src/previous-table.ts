import type { PlacementState } from './placement-state';

/**
 * The previous table as node indices: ids no longer present dropped, repeats dropped (a node
 * holds a partition once). Null, undefined and [] all mean there is none.
 */
export function normalizePrevious(
  previous: readonly (readonly string[])[] | null | undefined,
  partitions: number,
  indexOf: ReadonlyMap<string, number>,
): number[][] | null {
  if (previous === null || previous === undefined || previous.length === 0) return null;
  // Partition p of a table with another D covers different keys: reusing it would be wrong, not sticky.
  if (previous.length !== partitions) {
    throw new Error(`previous assignment has ${previous.length} partitions, expected ${partitions}`);
  }
  return previous.map((ids) => {
    const row: number[] = [];
    for (const id of ids ?? []) {
      const node = indexOf.get(id);
      if (node !== undefined && !row.includes(node)) row.push(node);
    }
    return row;
  });
}

/** How many partitions each node holds in a normalized table. */
export function heldCounts(table: readonly (readonly number[])[] | null, nodeCount: number): number[] {
  const held = new Array<number>(nodeCount).fill(0);
  for (const row of table ?? []) for (const node of row) held[node] += 1;
  return held;
}

/**
 * Seeds the state with the previous table. When K (or n) shrank a partition can hold more than
 * it may: drop the replica of the node furthest over its quota, then the one ranking lowest.
 */
export function seedKept(state: PlacementState): void {
  state.previous.forEach((row, p) => {
    for (const node of row) state.add(p, node, 'kept');
    while (state.holes(p) < 0) {
      let worst = 0;
      for (let slot = 1; slot < state.members[p].length; slot++) {
        const node = state.members[p][slot];
        const worstNode = state.members[p][worst];
        const excess = -state.spare(node);
        const worstExcess = -state.spare(worstNode);
        if (excess > worstExcess || (excess === worstExcess && state.score(p, node) <= state.score(p, worstNode))) {
          worst = slot;
        }
      }
      state.removeSlot(p, worst);
    }
  });
}
