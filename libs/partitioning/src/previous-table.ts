import { emptyFlatTable, type FlatTable, type PlacementState } from './placement-state';

/**
 * The previous table as node indices: ids no longer present dropped, repeats dropped (a node
 * holds a partition once). Null, undefined and [] all mean there is none.
 */
export function normalizePrevious(
  previous: readonly (readonly string[])[] | null | undefined,
  partitions: number,
  indexOf: ReadonlyMap<string, number>,
): FlatTable | null {
  if (previous === null || previous === undefined || previous.length === 0) return null;
  // Partition p of a table with another D covers different keys: reusing it would be wrong, not sticky.
  if (previous.length !== partitions) {
    throw new Error(`previous assignment has ${previous.length} partitions, expected ${partitions}`);
  }
  let stride = 0;
  for (const ids of previous) stride = Math.max(stride, ids?.length ?? 0);
  const table = emptyFlatTable(partitions, stride);
  for (let p = 0; p < partitions; p++) {
    const base = p * stride;
    let size = 0;
    for (const id of previous[p] ?? []) {
      const node = indexOf.get(id);
      if (node === undefined) continue;
      let repeated = false;
      for (let s = 0; s < size && !repeated; s++) repeated = table.nodes[base + s] === node;
      if (!repeated) table.nodes[base + size++] = node;
    }
    table.size[p] = size;
  }
  return table;
}

/** How many partitions each node holds in a normalized table. */
export function heldCounts(table: FlatTable | null, nodeCount: number): number[] {
  const held = new Array<number>(nodeCount).fill(0);
  if (!table) return held;
  for (let p = 0; p < table.size.length; p++) for (let s = 0; s < table.size[p]; s++) held[table.nodes[p * table.stride + s]] += 1;
  return held;
}

/**
 * Seeds the state with the previous table. When K (or n) shrank a partition can hold more than
 * it may: drop the replica of the node furthest over its quota, then the one ranking lowest.
 */
export function seedKept(state: PlacementState): void {
  for (let p = 0; p < state.partitions; p++) {
    for (let s = 0; s < state.previousSize(p); s++) state.add(p, state.previousAt(p, s), 'kept');
    while (state.holes(p) < 0) {
      let worst = 0;
      for (let slot = 1; slot < state.size(p); slot++) {
        const node = state.at(p, slot);
        const worstNode = state.at(p, worst);
        const excess = -state.spare(node);
        const worstExcess = -state.spare(worstNode);
        if (excess > worstExcess || (excess === worstExcess && state.score(p, node) <= state.score(p, worstNode))) {
          worst = slot;
        }
      }
      state.removeSlot(p, worst);
    }
  }
}
