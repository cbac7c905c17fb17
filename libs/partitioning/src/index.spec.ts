import * as partitioning from './index';

describe('public API', () => {
  it.each([
    'partitionOf',
    'partitionOfBytes',
    'computePlacement',
    'fairShares',
    'diffPlacement',
    'movedReplicaCount',
    'describeReason',
  ])('exports %s', (name) => {
    expect(typeof (partitioning as Record<string, unknown>)[name]).toBe('function');
  });
});
