/** Test support only (not exported from the library): a seeded PRNG and random memberships. */
import type { PlacementNode } from '../placement-types';

/** mulberry32: tiny, fast, good enough to generate test cases; same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in lo..hi inclusive. */
export function randomInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

export function shuffled<T>(rng: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export interface MembershipShape {
  nodes: number;
  zones: number;
  /** Weights are drawn from 1..weightMax. */
  weightMax: number;
}

/** Nodes with ids that do not sort like their creation order, random zones and weights. */
export function randomNodes(rng: () => number, shape: MembershipShape, idPrefix = 'node'): PlacementNode[] {
  return Array.from({ length: shape.nodes }, (_, i) => ({
    id: `${idPrefix}-${randomInt(rng, 0, 0xffff).toString(16)}-${i}`,
    zone: `zone-${randomInt(rng, 1, shape.zones)}`,
    weight: randomInt(rng, 1, shape.weightMax),
  }));
}

export interface RandomCase {
  seed: number;
  nodes: PlacementNode[];
  redundancy: number;
  partitions: number;
}

/** `count` random memberships: n 1..nodesMax, K 1..5, weights 1..4, zones 1..5. */
export function randomCases(firstSeed: number, count: number, partitions: number, nodesMax = 20): RandomCase[] {
  return Array.from({ length: count }, (_, i) => {
    const seed = firstSeed + i;
    const rng = mulberry32(seed);
    const n = randomInt(rng, 1, nodesMax);
    const nodes = randomNodes(rng, { nodes: n, zones: randomInt(rng, 1, 5), weightMax: 4 });
    return { seed, nodes, redundancy: randomInt(rng, 1, 5), partitions };
  });
}
