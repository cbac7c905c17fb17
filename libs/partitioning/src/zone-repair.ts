import type { PlacementState } from './placement-state';

/**
 * Work budget of the zone repair: candidate swaps examined per replica slot in the table. Keeps
 * the pass O(P * K) when zones are too uneven for distinct placement and most searches fail.
 * Unit: swap probes per slot.
 */
const ZONE_REPAIR_PROBES_PER_SLOT = 8;
/**
 * Upper bound on full passes over the table. A useful pass adds at least one distinct zone; the
 * bound only guards against a bug. Unit: passes.
 */
const ZONE_REPAIR_PASSES_MAX = 64;

/**
 * Zone statistics over the whole table, kept current across swaps, so that hopeless swaps are
 * ruled out per pair of zones rather than per pair of partitions.
 */
class ZoneIndex {
  /** Partitions containing zone z. */
  readonly presence: number[];
  /** Partitions containing zone z at least twice. */
  readonly repeated: number[];
  /** Partitions containing both zones, at [a * zoneCount + b]. */
  private readonly both: number[];
  readonly partitionsOf: Set<number>[];
  total = 0;

  constructor(private readonly state: PlacementState) {
    const z = state.zoneCount;
    this.presence = new Array<number>(z).fill(0);
    this.repeated = new Array<number>(z).fill(0);
    this.both = new Array<number>(z * z).fill(0);
    this.partitionsOf = Array.from({ length: state.nodeCount }, () => new Set<number>());
    for (let p = 0; p < state.partitions; p++) {
      this.count(p, 1);
      for (const node of state.members[p]) this.partitionsOf[node].add(p);
    }
  }

  bothIn(a: number, b: number): number {
    return this.both[a * this.state.zoneCount + b];
  }

  count(p: number, sign: number): void {
    const zones = this.state.members[p].map((node) => this.state.zoneOf[node]);
    const distinct = [...new Set(zones)];
    this.total += sign * distinct.length;
    for (const zone of distinct) {
      this.presence[zone] += sign;
      if (zones.indexOf(zone) !== zones.lastIndexOf(zone)) this.repeated[zone] += sign;
      for (const other of distinct) if (other !== zone) this.both[zone * this.state.zoneCount + other] += sign;
    }
  }

  /**
   * Most (partition, zone) pairs a table with these loads can have: a zone appears in at most P
   * partitions and at most as often as its nodes hold replicas; a partition has at most
   * min(K, zones). Reaching it means no swap can help.
   */
  bound(): number {
    const { state } = this;
    const zoneLoads = new Array<number>(state.zoneCount).fill(0);
    for (let node = 0; node < state.nodeCount; node++) zoneLoads[state.zoneOf[node]] += state.load[node];
    const byZones = zoneLoads.reduce((sum, load) => sum + Math.min(load, state.partitions), 0);
    return Math.min(byZones, state.partitions * state.zoneTarget);
  }

  /**
   * Whether a swap can bring zone `incoming` into a partition that repeats zone `repeatedZone`:
   * the partition q giving it up must keep it (repeats it) or gain `repeatedZone` (lacks it).
   */
  worthTrying(repeatedZone: number, incoming: number): boolean {
    return this.repeated[incoming] > 0 || this.presence[incoming] > this.bothIn(repeatedZone, incoming);
  }
}

interface Budget {
  probes: number;
}

/**
 * Swaps two replicas between partitions: `a`, whose zone p repeats, goes to q, and `c`, from a
 * zone p lacks, comes to p. Loads are unchanged, so balance is kept; q must not lose a distinct
 * zone; and the swap must not add copies relative to the previous table, so a join or a leave
 * never moves a replica only for the sake of zones. A clash inherited from the previous table
 * is cured by shedding instead, which prefers such partitions.
 */
function trySwap(state: PlacementState, p: number, index: ZoneIndex, budget: Budget): boolean {
  const members = state.members[p];
  for (let slotA = 0; slotA < members.length; slotA++) {
    const a = members[slotA];
    const zoneA = state.zoneOf[a];
    if (!state.zoneUsed(p, zoneA, slotA)) continue;
    for (let c = 0; c < state.nodeCount; c++) {
      const zoneC = state.zoneOf[c];
      if (state.zoneUsed(p, zoneC) || !index.worthTrying(zoneA, zoneC)) continue;
      for (const q of index.partitionsOf[c]) {
        if (budget.probes <= 0) return false;
        budget.probes -= 1;
        // q keeps its zone count if it repeats zoneC, and gains one if it lacks zoneA.
        let zoneCInQ = 0;
        let zoneAInQ = 0;
        let holdsA = false;
        for (const node of state.members[q]) {
          if (node === a) holdsA = true;
          if (state.zoneOf[node] === zoneC) zoneCInQ += 1;
          else if (state.zoneOf[node] === zoneA) zoneAInQ += 1;
        }
        if (holdsA || (zoneCInQ < 2 && zoneAInQ > 0)) continue;
        const slotC = state.slotOf(q, c);
        if (state.moveCost(p, slotA, c) + state.moveCost(q, slotC, a) > 0) continue;
        index.count(p, -1);
        index.count(q, -1);
        state.replaceSlot(p, slotA, c, 'zone');
        state.replaceSlot(q, slotC, a, zoneAInQ === 0 ? 'zone' : 'fallback');
        index.count(p, 1);
        index.count(q, 1);
        index.partitionsOf[a].delete(p);
        index.partitionsOf[a].add(q);
        index.partitionsOf[c].delete(q);
        index.partitionsOf[c].add(p);
        return true;
      }
    }
  }
  return false;
}

function hasFreshReplica(state: PlacementState): boolean {
  return state.members.some((row, p) => row.some((node) => !state.heldBefore(p, node)));
}

/** Raises every partition towards min(K, zones) distinct zones by swaps that keep the balance. */
export function repairZones(state: PlacementState): void {
  // Swapping two replicas that were both there before would copy two partitions: never done.
  if (!hasFreshReplica(state)) return;
  const target = state.zoneTarget;
  const index = new ZoneIndex(state);
  const bound = index.bound();
  const budget: Budget = { probes: state.partitions * state.width * ZONE_REPAIR_PROBES_PER_SLOT };
  for (let pass = 0; pass < ZONE_REPAIR_PASSES_MAX && index.total < bound; pass++) {
    let improved = false;
    for (let p = 0; p < state.partitions && index.total < bound; p++) {
      while (state.distinctZones(p) < target && trySwap(state, p, index, budget)) improved = true;
    }
    if (!improved) return;
  }
}
