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
