/** Test support only: measurements of a placement that several spec files assert on. */
import type { Placement, PlacementNode } from '../placement-types';

export function loadsOf(replicas: readonly (readonly string[])[]): Map<string, number> {
  const loads = new Map<string, number>();
  for (const row of replicas) for (const id of row) loads.set(id, (loads.get(id) ?? 0) + 1);
  return loads;
}

/** Partitions whose replicas repeat a zone. */
export function zoneClashes(placement: Placement, nodes: readonly PlacementNode[]): number[] {
  const zoneOf = new Map(nodes.map((node) => [node.id, node.zone]));
  const clashes: number[] = [];
  placement.replicas.forEach((row, p) => {
    const zones = new Set(row.map((id) => zoneOf.get(id)));
    if (zones.size < row.length) clashes.push(p);
  });
  return clashes;
}

/** Total weight of the heaviest zone over the total weight. */
export function heaviestZoneFraction(nodes: readonly PlacementNode[]): number {
  const byZone = new Map<string, number>();
  let total = 0;
  for (const node of nodes) {
    byZone.set(node.zone, (byZone.get(node.zone) ?? 0) + node.weight);
    total += node.weight;
  }
  return Math.max(...byZone.values()) / total;
}
