import type { PlacementNode } from './placement-types';

/**
 * Code-unit order, not localeCompare: the placement must come out the same on every machine,
 * whatever its locale.
 */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The nodes sorted by id, so that everything downstream is independent of the caller's order. */
export function canonicalNodes(nodes: readonly PlacementNode[]): PlacementNode[] {
  return [...nodes].sort((a, b) => compareIds(a.id, b.id));
}

/** Each node's zone as an index into the sorted distinct zone names. */
export function zoneIndices(nodes: readonly PlacementNode[]): number[] {
  const names = [...new Set(nodes.map((node) => node.zone))].sort(compareIds);
  const index = new Map(names.map((zone, i) => [zone, i]));
  return nodes.map((node) => index.get(node.zone) as number);
}
