import { quotaBounds, roundShares } from './quotas';

describe('roundShares', () => {
  it.each([
    { name: 'whole shares stay as they are', shares: [4, 8, 4], ids: ['a', 'b', 'c'], total: 16, held: undefined, expected: [4, 8, 4] },
    { name: 'largest fractional part first', shares: [5.2, 5.5, 5.3], ids: ['a', 'b', 'c'], total: 16, held: undefined, expected: [5, 6, 5] },
    { name: 'ties by id', shares: [16 / 3, 16 / 3, 16 / 3], ids: ['a', 'b', 'c'], total: 16, held: undefined, expected: [6, 5, 5] },
    // c already holds 6 = ceil(5.33): rounding it down would force a move nobody asked for.
    { name: 'a node already at its ceil keeps it', shares: [16 / 3, 16 / 3, 16 / 3], ids: ['a', 'b', 'c'], total: 16, held: [5, 5, 6], expected: [5, 5, 6] },
    { name: 'the held preference never exceeds ceil(share)', shares: [4, 6, 6], ids: ['a', 'b', 'c'], total: 16, held: [9, 0, 0], expected: [4, 6, 6] },
    { name: 'capped shares', shares: [16, 8, 8], ids: ['a', 'b', 'c'], total: 32, held: undefined, expected: [16, 8, 8] },
  ])('$name', ({ shares, ids, total, held, expected }) => {
    expect(roundShares(shares, ids, total, 16, held)).toEqual(expected);
  });

  it('gives a ceil to a node whose zone has room before one whose zone would exceed P', () => {
    // Zone 0 (a, b) has 8 + 7 = 15 of its 16 slots from floors: a's ceil fits, b's would not, so
    // the second ceil goes to d in zone 1 although b's fraction is larger.
    const shares = [8.7, 7.6, 1.3, 0.4];
    expect(roundShares(shares, ['a', 'b', 'c', 'd'], 18, 16, undefined, [0, 0, 1, 1])).toEqual([9, 7, 1, 1]);
    expect(roundShares(shares, ['a', 'b', 'c', 'd'], 18, 16)).toEqual([9, 8, 1, 0]);
  });

  it('is floor or ceil of every share and sums to the total', () => {
    const shares = [10.7, 3.1, 0.4, 7.9, 1.9];
    const total = 24;
    const quotas = roundShares(shares, ['e', 'd', 'c', 'b', 'a'], total, 16);
    expect(quotas.reduce((a, b) => a + b, 0)).toBe(total);
    quotas.forEach((q, i) => expect([Math.floor(shares[i]), Math.ceil(shares[i])]).toContain(q));
  });
});

describe('quotaBounds', () => {
  it.each([
    { share: 5.25, low: 5, high: 6 },
    { share: 5, low: 5, high: 5 },
    { share: 16, low: 16, high: 16 },
    { share: 0.2, low: 0, high: 1 },
  ])('share $share -> [$low, $high]', ({ share, low, high }) => {
    expect(quotaBounds(share, 16)).toEqual({ low, high });
  });
});
