/**
 * Test support only: an independent answer to "can the replicas of a removed node be handed to
 * the survivors without moving anything else and with every survivor's load within
 * [floor(share), ceil(share)]?". It is a bipartite b-matching with lower and upper bounds (each
 * hole to one survivor not already in that partition), solved by augmenting paths: first up to
 * the lower bounds, which must all be met, then up to the upper bounds, which must place every
 * hole. Augmenting never lowers a survivor's count, so the two phases are exact.
 */
import type { PlacementNode } from '../placement-types';
import { fairShares } from '../fair-share';

/** Float noise allowance when taking floor/ceil of a share. Unit: replica slots. */
const SHARE_NOISE_SLOTS = 1e-9;

export function removalOnlyFeasible(
  previous: readonly (readonly string[])[],
  survivors: readonly PlacementNode[],
  partitions: number,
  redundancy: number,
): boolean {
  const shares = fairShares([...survivors], partitions, redundancy);
  const width = Math.min(redundancy, survivors.length);
  const ids = survivors.map((node) => node.id);
  const alive = new Set(ids);
  const held = new Map(ids.map((id) => [id, 0]));
  const holes: string[][] = [];
  for (const row of previous) {
    const kept = row.filter((id) => alive.has(id));
    if (kept.length > width) return false;
    for (const id of kept) held.set(id, (held.get(id) as number) + 1);
    for (let k = kept.length; k < width; k++) holes.push(ids.filter((id) => !kept.includes(id)));
  }
  const low = new Map<string, number>();
  const high = new Map<string, number>();
  for (const id of ids) {
    const share = shares.get(id) as number;
    const h = held.get(id) as number;
    if (h > Math.ceil(share - SHARE_NOISE_SLOTS)) return false;
    low.set(id, Math.max(0, Math.floor(share + SHARE_NOISE_SLOTS) - h));
    high.set(id, Math.ceil(share - SHARE_NOISE_SLOTS) - h);
  }

  const assigned: (string | null)[] = holes.map(() => null);
  const taken = new Map(ids.map((id) => [id, 0]));
  const holesOf = new Map<string, number[]>(ids.map((id) => [id, []]));
  const augment = (start: number, cap: ReadonlyMap<string, number>): boolean => {
    const cameFrom = new Map<string, number>();
    const queue = [start];
    const seenHoles = new Set([start]);
    for (let head = 0; head < queue.length; head++) {
      for (const id of holes[queue[head]]) {
        if (cameFrom.has(id)) continue;
        cameFrom.set(id, queue[head]);
        if ((taken.get(id) as number) < (cap.get(id) as number)) {
          taken.set(id, (taken.get(id) as number) + 1);
          for (let node: string | null = id; node !== null; ) {
            const hole = cameFrom.get(node) as number;
            const previousOwner: string | null = assigned[hole];
            assigned[hole] = node;
            (holesOf.get(node) as number[]).push(hole);
            if (previousOwner !== null) {
              const list = holesOf.get(previousOwner) as number[];
              list.splice(list.indexOf(hole), 1);
            }
            node = previousOwner;
          }
          return true;
        }
        for (const next of holesOf.get(id) as number[]) {
          if (!seenHoles.has(next)) {
            seenHoles.add(next);
            queue.push(next);
          }
        }
      }
    }
    return false;
  };
  let placed = 0;
  for (let hole = 0; hole < holes.length; hole++) if (augment(hole, low)) placed += 1;
  const lowTotal = [...low.values()].reduce((sum, x) => sum + x, 0);
  if (placed < lowTotal) return false;
  for (let hole = 0; hole < holes.length; hole++) if (assigned[hole] === null && augment(hole, high)) placed += 1;
  return placed === holes.length;
}
