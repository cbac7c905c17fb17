import { diffPlacement, movedReplicaCount } from './table-diff';

describe('diffPlacement', () => {
  it.each([
    { name: 'identical', before: [['a', 'b'], ['b', 'c']], after: [['a', 'b'], ['b', 'c']], moves: [] },
    { name: 'order-only change is not a move', before: [['a', 'b', 'c']], after: [['c', 'a', 'b']], moves: [] },
    {
      name: 'one replica replaced',
      before: [['a', 'b'], ['b', 'c']],
      after: [['a', 'b'], ['b', 'd']],
      moves: [{ partition: 1, added: ['d'], removed: ['c'] }],
    },
    {
      name: 'replica added (K grew) and one dropped (K shrank)',
      before: [['a'], ['a', 'b', 'c']],
      after: [['a', 'b'], ['a', 'b']],
      moves: [
        { partition: 0, added: ['b'], removed: [] },
        { partition: 1, added: [], removed: ['c'] },
      ],
    },
    {
      name: 'whole set replaced, with reorder',
      before: [['a', 'b'], ['x']],
      after: [['c', 'd'], ['x']],
      moves: [{ partition: 0, added: ['c', 'd'], removed: ['a', 'b'] }],
    },
    { name: 'missing partitions count as empty', before: [['a']], after: [['a'], ['b']], moves: [{ partition: 1, added: ['b'], removed: [] }] },
  ])('$name', ({ before, after, moves }) => {
    expect(diffPlacement(before, after)).toEqual(moves);
    expect(movedReplicaCount(before, after)).toBe(moves.reduce((sum, m) => sum + m.added.length, 0));
  });

  it('counts moved slots', () => {
    expect(movedReplicaCount([['a', 'b'], ['a', 'c'], ['b', 'c']], [['a', 'd'], ['d', 'c'], ['c', 'b']])).toBe(2);
  });
});
