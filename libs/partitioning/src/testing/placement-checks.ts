/** Test support only: measurements of a placement that several spec files assert on. */
import { fairShares } from '../fair-share';
import type { Placement, PlacementNode } from '../placement-types';

/** Float noise allowance when taking floor/ceil of a share. Unit: replica slots. */
const SHARE_NOISE_SLOTS = 1e-9;
/** The balance margin the design allows over a node's weighted fair share. Unit: fraction. */
export const BALANCE_MARGIN_FRACTION = 0.05;

export function loadsOf(replicas: readonly (readonly string[])[]): Map<string, number> {
  const loads = new Map<string, number>();
  for (const row of replicas) for (const id of row) loads.set(id, (loads.get(id) ?? 0) + 1);
  return loads;
}

/** Problems with the shape of a placement: row sizes, repeats, unknown ids, reasons. */
export function shapeProblems(placement: Placement, nodes: readonly PlacementNode[], partitions: number, redundancy: number): string[] {
  const problems: string[] = [];
  const known = new Set(nodes.map((node) => node.id));
  const width = Math.min(redundancy, nodes.length);
  if (placement.replicas.length !== partitions) problems.push(`${placement.replicas.length} rows, expected ${partitions}`);
  if (placement.reasons.length !== partitions) problems.push(`${placement.reasons.length} reason rows, expected ${partitions}`);
  placement.replicas.forEach((row, p) => {
    if (row.length !== width) problems.push(`partition ${p}: ${row.length} replicas, expected ${width}`);
    if (new Set(row).size !== row.length) problems.push(`partition ${p}: repeated node`);
    for (const id of row) if (!known.has(id)) problems.push(`partition ${p}: unknown node ${id}`);
    if (placement.reasons[p]?.length !== row.length) problems.push(`partition ${p}: reasons not parallel`);
  });
  return problems;
}

export interface BalanceCheck {
  /** Nodes outside [floor(share), ceil(share)]: what the algorithm promises. */
  outsideRounding: string[];
  /** Nodes above max(ceil(share * 1.05), ceil(share) + 1): the design's acceptance bound. */
  aboveMargin: string[];
}

export function checkBalance(placement: Placement, nodes: readonly PlacementNode[], partitions: number, redundancy: number): BalanceCheck {
  const shares = fairShares([...nodes], partitions, redundancy);
  const loads = loadsOf(placement.replicas);
  const outsideRounding: string[] = [];
  const aboveMargin: string[] = [];
  for (const { id } of nodes) {
    const share = shares.get(id) as number;
    const load = loads.get(id) ?? 0;
    if (load < Math.floor(share + SHARE_NOISE_SLOTS) || load > Math.ceil(share - SHARE_NOISE_SLOTS)) {
      outsideRounding.push(`${id}: ${load} for share ${share.toFixed(2)}`);
    }
    const margin = Math.max(Math.ceil(share * (1 + BALANCE_MARGIN_FRACTION) - SHARE_NOISE_SLOTS), Math.ceil(share - SHARE_NOISE_SLOTS) + 1);
    if (load > margin) aboveMargin.push(`${id}: ${load} > ${margin}`);
  }
  return { outsideRounding, aboveMargin };
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

/**
 * Whether a table with distinct zones exists for some balanced loads: at least min(K, n)
 * zones, and each node's load (floor or ceil of its share) can be chosen so that no zone's
 * nodes hold more than P slots. Then lay each zone's slots out in a row and deal them to the
 * partitions round-robin: no zone reaches a partition twice.
 */
export function distinctZonesAchievable(nodes: readonly PlacementNode[], partitions: number, redundancy: number): boolean {
  const shares = fairShares([...nodes], partitions, redundancy);
  const floors = new Map<string, number>();
  const fractional = new Map<string, number>();
  let ceilsToGive = Math.min(redundancy, nodes.length) * partitions;
  for (const node of nodes) {
    const share = shares.get(node.id) as number;
    const floor = Math.floor(share + SHARE_NOISE_SLOTS);
    ceilsToGive -= floor;
    floors.set(node.zone, (floors.get(node.zone) ?? 0) + floor);
    if (share - floor > SHARE_NOISE_SLOTS) fractional.set(node.zone, (fractional.get(node.zone) ?? 0) + 1);
  }
  if (floors.size < Math.min(redundancy, nodes.length)) return false;
  let ceilRoom = 0;
  for (const [zone, floor] of floors) {
    if (floor > partitions) return false;
    ceilRoom += Math.min(partitions - floor, fractional.get(zone) ?? 0);
  }
  return ceilRoom >= ceilsToGive;
}

/** Distinct zones per partition. `nodes` must name every id the table uses. */
export function zoneSpreads(replicas: readonly (readonly string[])[], nodes: readonly PlacementNode[]): number[] {
  const zoneOf = new Map(nodes.map((node) => [node.id, node.zone]));
  return replicas.map((row) => new Set(row.map((id) => zoneOf.get(id))).size);
}

/**
 * Partitions whose replicas span more zones after a change than before: what the zone rule may
 * spend copies on (a swap copies at most two replicas and widens one partition).
 */
export function widenedPartitions(
  before: readonly (readonly string[])[],
  after: readonly (readonly string[])[],
  nodes: readonly PlacementNode[],
): number {
  const was = zoneSpreads(before, nodes);
  const is = zoneSpreads(after, nodes);
  return is.filter((spread, p) => spread > was[p]).length;
}
