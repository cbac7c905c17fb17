import { compareIds } from './node-order';

/**
 * A fractional part smaller than this is floating-point noise on a whole share (weights need not
 * be integers), not a claim to one more slot. Unit: replica slots.
 */
export const SHARE_FRACTION_EPSILON_SLOTS = 1e-9;

/** The quotas a share allows: floor, and ceil unless the share is whole. Never above `cap`. */
export function quotaBounds(share: number, cap: number): { low: number; high: number } {
  const low = Math.min(cap, Math.max(0, Math.floor(share)));
  const whole = share - Math.floor(share) <= SHARE_FRACTION_EPSILON_SLOTS;
  return { low, high: whole ? low : Math.min(cap, low + 1) };
}

/**
 * Whole-slot quotas from fractional shares: each node gets floor or ceil of its share, summing to
 * exactly `total`, never above `cap`.
 *
 * Who gets a ceil: largest fractional part first, ties by id, with two refinements.
 * - When a previous table is known, nodes that already hold at least ceil(share) go first.
 *   Rounding the other way would force such a node to give a slot away only for another node
 *   to take it: a move no membership change asked for (on a join or a leave, a reshuffle among
 *   the nodes that stayed).
 * - A ceil goes to a node whose zone still has room (its nodes' quotas sum to less than `cap` =
 *   P) before one whose zone is full, since a zone can appear in a partition only once if zones
 *   are to be distinct.
 *
 * `shares`, `ids`, `held` and `zoneOf` are parallel and in canonical (id) order.
 */
export function roundShares(
  shares: readonly number[],
  ids: readonly string[],
  total: number,
  cap: number,
  held?: readonly number[],
  zoneOf?: readonly number[],
): number[] {
  const quotas = shares.map((share) => quotaBounds(share, cap).low);
  let remainder = total - quotas.reduce((sum, q) => sum + q, 0);
  const fraction = (i: number): number => shares[i] - Math.floor(shares[i]);
  const wantsCeil = (i: number): boolean => held !== undefined && held[i] >= quotas[i] + 1;
  const byClaim = (a: number, b: number): number =>
    Number(wantsCeil(b)) - Number(wantsCeil(a)) || fraction(b) - fraction(a) || compareIds(ids[a], ids[b]);

  const zoneRoom = new Map<number, number>();
  const zone = (i: number): number => (zoneOf ? zoneOf[i] : 0);
  if (zoneOf) quotas.forEach((q, i) => zoneRoom.set(zone(i), (zoneRoom.get(zone(i)) ?? cap) - q));
  const hasRoom = (i: number): boolean => !zoneOf || (zoneRoom.get(zone(i)) as number) > 0;
  const raise = (i: number): void => {
    quotas[i] += 1;
    remainder -= 1;
    if (zoneOf) zoneRoom.set(zone(i), (zoneRoom.get(zone(i)) as number) - 1);
  };

  const indices = shares.map((_, i) => i);
  const fractional = indices.filter((i) => quotas[i] < quotaBounds(shares[i], cap).high).sort(byClaim);
  const raised = new Set<number>();
  for (const i of fractional) {
    if (remainder <= 0) break;
    if (!wantsCeil(i) && !hasRoom(i)) continue;
    raise(i);
    raised.add(i);
  }
  for (const i of fractional) {
    if (remainder <= 0) break;
    if (raised.has(i)) continue;
    raise(i);
  }
  // Only reachable through floating-point drift in the shares: settle the sum exactly anyway.
  const rest = indices.filter((i) => quotas[i] < cap).sort(byClaim);
  for (const i of rest) {
    if (remainder <= 0) break;
    raise(i);
  }
  const shrink = indices.filter((i) => quotas[i] > 0).sort((a, b) => byClaim(b, a));
  for (const i of shrink) {
    if (remainder >= 0) break;
    quotas[i] -= 1;
    remainder += 1;
  }
  if (remainder !== 0) throw new Error(`cannot split ${total} slots into quotas capped at ${cap}`);
  return quotas;
}
