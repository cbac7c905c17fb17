import { fairShares, totalSlots, waterFill } from './fair-share';
import type { PlacementNode } from './placement-types';

const node = (id: string, weight = 1, zone = 'z1'): PlacementNode => ({ id, zone, weight });

describe('fairShares', () => {
  it.each([
    { name: 'equal weights', nodes: [node('a'), node('b'), node('c')], P: 256, K: 3, expected: { a: 256, b: 256, c: 256 } },
    { name: 'equal weights, K < n', nodes: [node('a'), node('b'), node('c'), node('d')], P: 16, K: 2, expected: { a: 8, b: 8, c: 8, d: 8 } },
    { name: 'weight 2 gets twice weight 1', nodes: [node('a', 2), node('b', 1), node('c', 1)], P: 16, K: 1, expected: { a: 8, b: 4, c: 4 } },
    { name: 'fractional', nodes: [node('a'), node('b'), node('c')], P: 16, K: 1, expected: { a: 16 / 3, b: 16 / 3, c: 16 / 3 } },
    // a would get 4/6 of 32 = 21.3 > 16: it is capped at P and the rest is split by weight.
    { name: 'capped at P', nodes: [node('a', 4), node('b', 1), node('c', 1)], P: 16, K: 2, expected: { a: 16, b: 8, c: 8 } },
    { name: 'fewer nodes than K', nodes: [node('a', 1), node('b', 3)], P: 16, K: 3, expected: { a: 16, b: 16 } },
    { name: 'no nodes', nodes: [], P: 16, K: 3, expected: {} },
  ])('$name', ({ nodes, P, K, expected }) => {
    const shares = fairShares(nodes, P, K);
    expect(Object.fromEntries(shares)).toEqual(
      Object.fromEntries(Object.entries(expected).map(([id, share]) => [id, expect.closeTo(share, 9)])),
    );
  });

  it('always sums to P * min(K, n) and never exceeds P', () => {
    const nodes = [node('a', 4), node('b', 4), node('c', 1), node('d', 0.5), node('e', 2.5)];
    for (const K of [1, 2, 3, 4, 5, 6]) {
      const shares = [...fairShares(nodes, 256, K).values()];
      expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(totalSlots(nodes.length, 256, K), 6);
      for (const share of shares) expect(share).toBeLessThanOrEqual(256);
    }
  });

  it('does not depend on node order', () => {
    const nodes = [node('x', 3), node('a', 1), node('m', 2.5)];
    expect([...fairShares(nodes, 256, 2)].sort()).toEqual([...fairShares([...nodes].reverse(), 256, 2)].sort());
  });

  it.each([
    { name: 'K < 1', nodes: [node('a')], P: 16, K: 0 },
    { name: 'P < 1', nodes: [node('a')], P: 0, K: 1 },
    { name: 'duplicate ids', nodes: [node('a'), node('a')], P: 16, K: 1 },
    { name: 'weight 0', nodes: [node('a', 0)], P: 16, K: 1 },
  ])('throws on $name', ({ nodes, P, K }) => {
    expect(() => fairShares(nodes, P, K)).toThrow();
  });
});

describe('waterFill', () => {
  it('caps repeatedly until nobody is over the cap', () => {
    // 10 slots, cap 4: weights 8:4:1:1 would give 5.7, 2.9, ... -> 4, then 6 left over 4:1:1 -> 4, 1, 1.
    expect(waterFill([8, 4, 1, 1], 10, 4)).toEqual([4, 4, 1, 1]);
  });
});
