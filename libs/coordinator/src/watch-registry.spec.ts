import { WatchRegistry } from './watch-registry';

const v = (ms: number, c = 0, w = 'fe') => ({ ms, c, w });

describe('WatchRegistry', () => {
  it('wakes the watches of a key when a newer version is seen, and only those', () => {
    const r = new WatchRegistry<string>();
    r.add('k', v(10), 1000, 'a');
    r.add('k', v(20), 1000, 'b');
    r.add('other', v(10), 1000, 'c');
    expect(r.keys().sort()).toEqual(['k', 'other']);
    expect(r.observe('k', v(10))).toEqual([]); // the same version is no change
    expect(r.observe('k', null)).toEqual([]); // no version at all
    expect(r.observe('k', v(15))).toEqual(['a']);
    expect(r.observe('k', v(20, 0, 'fz'))).toEqual(['b']); // newer by writer id on a timestamp tie
    expect(r.watched('k')).toBe(false);
    expect(r.size).toBe(1);
  });

  it('a watch without a version wakes at the first version seen', () => {
    const r = new WatchRegistry<string>();
    r.add('k', null, 1000, 'a');
    expect(r.observe('k', null)).toEqual([]);
    expect(r.observe('k', v(1))).toEqual(['a']);
  });

  it('expires watches at their deadline and forgets removed ones', () => {
    const r = new WatchRegistry<string>();
    r.add('k', v(1), 100, 'early');
    const late = r.add('k', v(1), 200, 'late')!;
    expect(r.expire(99)).toEqual([]);
    expect(r.expire(100)).toEqual(['early']);
    r.remove(late);
    r.remove(late);
    expect(r.size).toBe(0);
    expect(r.keys()).toEqual([]);
    expect(r.expire(1000)).toEqual([]);
  });

  it('refuses a watch beyond watchersMax, and takes one again when a slot frees', () => {
    const r = new WatchRegistry<number>({ watchersMax: 2 });
    const a = r.add('k', null, 10, 1);
    expect(r.add('k2', null, 10, 2)).not.toBeNull();
    expect(r.add('k3', null, 10, 3)).toBeNull();
    r.remove(a!);
    expect(r.add('k3', null, 10, 3)).not.toBeNull();
  });
});
