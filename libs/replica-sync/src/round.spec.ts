import { ContactTracker } from './round';

// Rounds between replicas are tested in libs/sim (anti-entropy-rounds.spec.ts), between real
// replica engines over the simulation's network.
describe('ContactTracker', () => {
  it('starts a rejoin after a gap longer than the grace period, and ends it per partition', () => {
    const t = new ContactTracker(1_000, 0);
    expect(t.onContact(500, [1, 2])).toBe(false);
    expect(t.rejoining(1)).toBe(false);
    expect(t.onContact(2_000, [1, 2])).toBe(true);
    expect(t.rejoiningPartitions).toBe(2);
    t.onSynced([1]);
    expect(t.rejoining(1)).toBe(false);
    expect(t.rejoining(2)).toBe(true);
    expect(new ContactTracker(1_000, null).onContact(1e12, [1])).toBe(false);
  });
});
