import { rendezvousScore, rendezvousUniform } from './rendezvous';

/** Partitions sampled to measure win rates. */
const SAMPLE_PARTITIONS = 4096;
/** Allowed gap between a measured and the expected win rate (about 4 standard deviations at this sample size). */
const WIN_RATE_TOLERANCE = 0.03;

describe('rendezvous', () => {
  it('draws u strictly inside (0, 1), reproducibly', () => {
    for (let p = 0; p < 1000; p++) {
      const u = rendezvousUniform(p, 'node-a');
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
      expect(rendezvousUniform(p, 'node-a')).toBe(u);
    }
  });

  it('scales the score linearly with weight', () => {
    expect(rendezvousScore(7, 'n', 3)).toBeCloseTo(3 * rendezvousScore(7, 'n', 1), 12);
  });

  it.each([
    { weights: [1, 1], expected: 0.5 },
    { weights: [1, 3], expected: 0.25 },
    { weights: [2, 1, 1], expected: 0.5 },
  ])('a node wins in proportion to its weight: $weights', ({ weights, expected }) => {
    let wins = 0;
    for (let p = 0; p < SAMPLE_PARTITIONS; p++) {
      const scores = weights.map((w, i) => rendezvousScore(p, `node-${i}`, w));
      if (scores.indexOf(Math.max(...scores)) === 0) wins += 1;
    }
    expect(Math.abs(wins / SAMPLE_PARTITIONS - expected)).toBeLessThan(WIN_RATE_TOLERANCE);
  });
});
