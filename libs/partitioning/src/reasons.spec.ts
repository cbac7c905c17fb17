import { describeReason, REPLICA_REASONS, type ReplicaReason } from './reasons';

describe('describeReason', () => {
  it.each(REPLICA_REASONS.map((reason) => [reason]))('describes %s in a sentence', (reason) => {
    const sentence = describeReason(reason);
    expect(sentence).toMatch(/^[A-Z].*\.$/);
  });

  it('gives every reason its own sentence', () => {
    expect(new Set(REPLICA_REASONS.map(describeReason)).size).toBe(REPLICA_REASONS.length);
  });

  it('throws on an unknown code', () => {
    expect(() => describeReason('bogus' as ReplicaReason)).toThrow(/unknown/);
  });
});
