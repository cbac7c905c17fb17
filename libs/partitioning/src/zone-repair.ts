import type { PlacementState } from './placement-state';

/**
 * Work budget of the zone repair: candidate swaps examined per replica slot in the table. Keeps
 * the pass O(P * K) when the zones are so uneven that most searches fail. Unit: swap probes per
 * slot.
 */
export const ZONE_REPAIR_PROBES_PER_SLOT = 32;
/**
 * Upper bound on full passes over the table. A pass that applies nothing ends the repair; the
 * bound only guards against a bug. Unit: passes.
 */
const ZONE_REPAIR_PASSES_MAX = 16;
/**
 * Once a swap that copies data is found, further candidates examined for one that copies
 * nothing before the costly one is taken. Unit: swap probes.
 */
export const ZONE_REPAIR_FREE_SEARCH_PROBES_MAX = 64;
/**
 * Candidate swaps examined for one partition before it is left as it is for this pass. Where
 * a swap exists one is found within a few probes (the searches resume where the last one
 * stopped); a partition the loads force to repeat a zone would otherwise scan every partition
 * of every node of the zones it lacks. Unit: swap probes.
 */
export const ZONE_REPAIR_SEARCH_PROBES_MAX = 512;

interface Swap {
  q: number;
  slotA: number;
  slotC: number;
  /** Copies the swap adds relative to the previous table (may be negative). */
  cost: number;
}

/**
 * The placement rule for failure domains, CRUSH-style: the replicas of every partition span
 * t = min(K, zones) zones. Where the loads make that impossible for some partitions (a zone
 * holding more than P slots must repeat), the spread is made as even as possible: a partition
 * is worth -(t - distinct zones)^2, so 2+1 beats 3+0 even if another partition goes from
 * 1+1+1 to 2+1, and the repair raises the worst partitions first.
 *
 * It works by swaps: `a`, whose zone p repeats, goes to partition q, and `c`, from a zone p
 * lacks, comes to p. Loads do not change, so balance is kept. A swap that copies nothing is
 * preferred; one that costs copies is still made when it improves the spread (the rule wins over
 * movement). Each swap raises the total worth, so the repair ends.
 */
export function repairZones(state: PlacementState): void {
  const target = state.zoneTarget;
  if (target <= 1) return;
  // Nothing to do when every partition is within one zone of the target and the table has as
  // many (partition, zone) pairs as the loads allow: then every partition's worth is fixed.
  let pairs = 0;
  let narrowest = target;
  for (let p = 0; p < state.partitions; p++) {
    const distinct = state.distinctZones(p);
    pairs += distinct;
    if (distinct < narrowest) narrowest = distinct;
  }
  if (narrowest === target || (narrowest >= target - 1 && pairs === pairsBound(state, target))) return;
  const repair = new ZoneRepair(state, target);
  repair.run();
}

/** Most (partition, zone) pairs these loads allow: a zone is in at most P partitions and at most its load. */
function pairsBound(state: PlacementState, target: number): number {
  const zoneLoads = new Array<number>(state.zoneCount).fill(0);
  for (let node = 0; node < state.nodeCount; node++) zoneLoads[state.zoneOf[node]] += state.load[node];
  const byZones = zoneLoads.reduce((sum, load) => sum + Math.min(load, state.partitions), 0);
  return Math.min(byZones, state.partitions * target);
}

class ZoneRepair {
  /** Partitions in which zone z appears at least twice. */
  private readonly repeatedIn: Set<number>[];
  private readonly nodesOfZone: number[][];
  /** Partitions per node, built on first need: most runs find nothing hopeful and never ask. */
  private heldLists: number[][] | null = null;
  private readonly scratch = new Int32Array(64);
  /**
   * Where the next search through each node's partitions starts: just past the partner the
   * last search used. Starting at the front every time would walk past every partition already
   * swapped (quadratic in the number of repairs).
   */
  private readonly cursor: Int32Array;
  /** Partitions containing zone z. */
  private readonly presence: number[];
  /** Partitions containing both zones, at [a * zoneCount + b]. */
  private readonly both: number[];
  /** Partitions by number of distinct zones. */
  private readonly spreads: number[];
  private probes: number;
  /** Most (partition, zone) pairs these loads allow: a zone is in at most P partitions and at most its load. */
  private readonly pairsBound: number;

  constructor(private readonly state: PlacementState, private readonly target: number) {
    this.repeatedIn = Array.from({ length: state.zoneCount }, () => new Set<number>());
    this.nodesOfZone = Array.from({ length: state.zoneCount }, () => []);
    for (let node = 0; node < state.nodeCount; node++) this.nodesOfZone[state.zoneOf[node]].push(node);
    this.presence = new Array<number>(state.zoneCount).fill(0);
    this.both = new Array<number>(state.zoneCount * state.zoneCount).fill(0);
    this.spreads = new Array<number>(state.width + 2).fill(0);
    for (let p = 0; p < state.partitions; p++) this.index(p, true);
    this.pairsBound = pairsBound(state, target);
    this.probes = state.partitions * state.width * ZONE_REPAIR_PROBES_PER_SLOT;
    this.cursor = new Int32Array(state.nodeCount);
  }

  run(): void {
    const { state } = this;
    for (let pass = 0; pass < ZONE_REPAIR_PASSES_MAX; pass++) {
      let improved = false;
      // The narrowest partitions first: the budget goes where the rule is furthest from met.
      const narrow: number[] = [];
      const spread = new Uint8Array(state.partitions);
      for (let p = 0; p < state.partitions; p++) {
        const distinct = state.distinctZones(p);
        if (distinct < this.target) {
          narrow.push(p);
          spread[p] = distinct;
        }
      }
      narrow.sort((a, b) => spread[a] - spread[b] || a - b);
      for (const p of narrow) {
        if (this.probes <= 0) break;
        while (state.distinctZones(p) < this.target && this.improve(p)) improved = true;
      }
      if (!improved || this.probes <= 0) return;
    }
  }

  private held(node: number): readonly number[] {
    this.heldLists ??= this.state.partitionsByNode();
    return this.heldLists[node];
  }

  private pairs(): number {
    let total = 0;
    this.spreads.forEach((count, distinct) => (total += count * distinct));
    return total;
  }

  /**
   * Whether a swap that copies data is worth it: when it adds a (partition, zone) pair while the
   * loads allow more than the table has (the clash is not forced), or when it lifts a partition
   * out of a single zone (3+0 -> 2+1). A swap that only trades spread between two partitions
   * is made when it is free.
   */
  private copyWorthIt(dp: number, dq: number, dqAfter: number): boolean {
    if (dp === 1) return true;
    return dqAfter >= dq && this.pairs() < this.pairsBound;
  }

  private worth(distinct: number): number {
    const gap = this.target - distinct;
    return -gap * gap;
  }

  private zoneCount(p: number, zone: number): number {
    return this.state.zoneCountIn(p, zone);
  }

  private index(p: number, add: boolean): void {
    const { state } = this;
    const sign = add ? 1 : -1;
    const size = state.size(p);
    const zones = this.scratch;
    for (let s = 0; s < size; s++) zones[s] = state.zoneOf[state.at(p, s)];
    const zoneAt = (s: number): number => zones[s];
    let distinct = 0;
    for (let s = 0; s < size; s++) {
      const zone = zoneAt(s);
      let first = true;
      for (let r = 0; r < s && first; r++) first = zoneAt(r) !== zone;
      if (!first) continue;
      distinct += 1;
      this.presence[zone] += sign;
      for (let r = 0; r < size; r++) {
        const other = zoneAt(r);
        let otherFirst = true;
        for (let t = 0; t < r && otherFirst; t++) otherFirst = zoneAt(t) !== other;
        if (otherFirst && other !== zone) this.both[zone * state.zoneCount + other] += sign;
      }
      if (add && this.zoneCount(p, zone) > 1) this.repeatedIn[zone].add(p);
      else if (!add) this.repeatedIn[zone].delete(p);
    }
    this.spreads[distinct] += sign;
  }

  /**
   * Whether any partition q could take a replica of zone A for one of zone C with a gain: q
   * repeats C (keeps its spread), or holds C and lacks A (same spread), or is spread at least
   * two zones wider than p (gives one up for p's one). Rules out hopeless pairs in O(1).
   */
  private hopeful(zoneA: number, zoneC: number, dp: number): boolean {
    if (this.repeatedIn[zoneC].size > 0) return true;
    if (this.presence[zoneC] > this.both[zoneA * this.state.zoneCount + zoneC]) return true;
    for (let d = dp + 2; d < this.spreads.length; d++) if (this.spreads[d] > 0) return true;
    return false;
  }

  /** Finds and applies one swap that raises p's spread; false if none is found. */
  private improve(p: number): boolean {
    const { state } = this;
    const searchStartsAt = this.probes;
    const dp = state.distinctZones(p);
    const gainP = this.worth(dp + 1) - this.worth(dp);
    let costly = null as Swap | null;
    let searchEndsAt = -Infinity;
    // The swap to make now, if any: a free one at once, a costly one once the search for a free
    // alternative has used its probes.
    const pick = (swap: Swap | null): Swap | null => {
      if (swap && swap.cost <= 0) return swap;
      if (swap && !costly) {
        costly = swap;
        searchEndsAt = this.probes - ZONE_REPAIR_FREE_SEARCH_PROBES_MAX;
      }
      return costly !== null && this.probes <= searchEndsAt ? costly : null;
    };
    for (let slotA = 0; slotA < state.size(p); slotA++) {
      const a = state.at(p, slotA);
      const zoneA = state.zoneOf[a];
      if (this.zoneCount(p, zoneA) < 2) continue;
      for (let zoneC = 0; zoneC < state.zoneCount; zoneC++) {
        if (state.zoneUsed(p, zoneC) || !this.hopeful(zoneA, zoneC, dp)) continue;
        // q keeps its spread when it repeats zone C: try those first.
        for (const q of this.repeatedIn[zoneC]) {
          const swap = this.consider(p, q, slotA, zoneC, gainP, searchStartsAt);
          if (swap === 'stop') return costly ? this.apply(p, costly) : false;
          const chosen = pick(swap);
          if (chosen) return this.apply(p, chosen);
        }
        const nodes = this.nodesOfZone[zoneC];
        for (let i = 0; i < nodes.length; i++) {
          // Start at a different node per partition so the swaps spread over the zone.
          const c = nodes[(p + i) % nodes.length];
          const list = this.held(c);
          for (let k = 0; k < list.length; k++) {
            const at = (this.cursor[c] + k) % list.length;
            const swap = this.consider(p, list[at], slotA, zoneC, gainP, searchStartsAt);
            if (swap === 'stop') return costly ? this.apply(p, costly) : false;
            const chosen = pick(swap);
            if (chosen) {
              this.cursor[c] = at + 1;
              return this.apply(p, chosen);
            }
          }
        }
      }
    }
    return costly ? this.apply(p, costly) : false;
  }

  private consider(p: number, q: number, slotA: number, zoneC: number, gainP: number, searchStartsAt: number): Swap | null | 'stop' {
    const { state } = this;
    if (this.probes <= 0 || searchStartsAt - this.probes >= ZONE_REPAIR_SEARCH_PROBES_MAX) return 'stop';
    this.probes -= 1;
    if (q === p) return null;
    const a = state.at(p, slotA);
    if (state.has(q, a)) return null;
    const zoneA = state.zoneOf[a];
    const dq = state.distinctZones(q);
    const dqAfter = dq - (this.zoneCount(q, zoneC) === 1 ? 1 : 0) + (this.zoneCount(q, zoneA) === 0 ? 1 : 0);
    if (gainP + this.worth(dqAfter) - this.worth(dq) <= 0) return null;
    let slotC = -1;
    let cost = Infinity;
    for (let s = 0; s < state.size(q); s++) {
      const c = state.at(q, s);
      if (state.zoneOf[c] !== zoneC) continue;
      const swapCost = state.moveCost(p, slotA, c) + state.moveCost(q, s, a);
      if (swapCost < cost) {
        cost = swapCost;
        slotC = s;
      }
    }
    if (slotC < 0 || (cost > 0 && !this.copyWorthIt(state.distinctZones(p), dq, dqAfter))) return null;
    return { q, slotA, slotC, cost };
  }

  private apply(p: number, swap: Swap): boolean {
    const { state } = this;
    const { q, slotA, slotC } = swap;
    const a = state.at(p, slotA);
    const c = state.at(q, slotC);
    const qGainsZone = this.zoneCount(q, state.zoneOf[a]) === 0;
    this.index(p, false);
    this.index(q, false);
    state.replaceSlot(p, slotA, c, 'zone');
    state.replaceSlot(q, slotC, a, qGainsZone ? 'zone' : 'fallback');
    this.index(p, true);
    this.index(q, true);
    if (this.heldLists) {
      const moveHeld = (node: number, from: number, to: number): void => {
        const list = (this.heldLists as number[][])[node];
        list[list.indexOf(from)] = to;
      };
      moveHeld(a, p, q);
      moveHeld(c, q, p);
    }
    return true;
  }
}
