import { compareEntries, goneSinceMs, type Entry } from './entry';
import { LwwStore } from './lww-store';
import { RECORD_LAYOUT_LIMITS } from './partition-records';

/** A deterministic PRNG, so that a failure replays from its seed. */
function prng(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return Math.floor((x / 2 ** 32) * n);
  };
}

/** The obvious implementation the packed store must agree with. */
class ModelStore {
  readonly parts = new Map<number, Map<string, Entry>>();
  merge(p: number, key: string, e: Entry): void {
    let m = this.parts.get(p);
    if (!m) this.parts.set(p, (m = new Map()));
    const old = m.get(key);
    if (!old || compareEntries(e, old) > 0) m.set(key, e);
  }
  purge(beforeMs: number): number {
    let n = 0;
    for (const m of this.parts.values()) {
      for (const [k, e] of m) {
        const since = goneSinceMs(e);
        if (since !== null && since < beforeMs) {
          m.delete(k);
          n++;
        }
      }
    }
    return n;
  }
  drop(p: number): number {
    const n = this.parts.get(p)?.size ?? 0;
    this.parts.delete(p);
    return n;
  }
  keysAfter(p: number, after: string | null, prefix: string, max: number): string[] {
    return [...(this.parts.get(p)?.keys() ?? [])].filter((k) => k.startsWith(prefix) && (after === null || k > after)).sort().slice(0, max);
  }
}

// Keys from every UTF-8 length class, including BMP characters above U+E000 and astral ones,
// whose UTF-8 byte order differs from JavaScript string order.
const STEMS = ['a', 'ab', 'abc', 'b', 'b/x', '\u00e9', '\ue000', '\ue000x', '\uffff', '\u{10000}', '\u{1f600}', '\u{1f600}a', 'z', 'zz'];

function plain(e: Entry | undefined): unknown {
  return e && { ver: e.ver, value: e.value?.toString('hex') ?? null, exp: e.exp, z: e.z };
}

function check(store: LwwStore, model: ModelStore, keys: string[], rand: (n: number) => number): void {
  const parts = [...model.parts.keys()].sort((a, b) => a - b);
  let values = 0;
  let tombstones = 0;
  let valueBytes = 0;
  for (const p of parts) {
    const m = model.parts.get(p)!;
    expect(store.keysIn(p)).toBe(m.size);
    for (const k of keys) expect({ p, k, e: plain(store.get(p, k)) }).toEqual({ p, k, e: plain(m.get(k)) });
    const listed = [...store.entries(p)].map(([k, e]) => [k, plain(e)] as const).sort(([a], [b]) => (a < b ? -1 : 1));
    expect(listed).toEqual([...m].map(([k, e]) => [k, plain(e)] as const).sort(([a], [b]) => (a < b ? -1 : 1)));
    for (const e of m.values()) {
      if (e.value === null) tombstones++;
      else {
        values++;
        valueBytes += e.value.length;
      }
    }
    for (let i = 0; i < 4; i++) {
      const after = rand(3) === 0 ? null : keys[rand(keys.length)];
      const prefix = rand(2) === 0 ? '' : STEMS[rand(STEMS.length)];
      const max = 1 + rand(30);
      expect(store.keysAfter(p, after, prefix, max)).toEqual(model.keysAfter(p, after, prefix, max));
    }
  }
  expect(store.stats()).toMatchObject({ keys: values, tombstones, valueBytes, plainValueBytes: valueBytes });
}

describe('LwwStore against a Map model', () => {
  it.each([1, 2, 3, 4, 5])('agrees after random merges, deletes, purges, drops and compactions (seed %d)', (seed) => {
    const rand = prng(seed);
    const keys = Array.from({ length: 60 }, (_, i) => `${STEMS[i % STEMS.length]}${i % 3 === 0 ? '' : i}`);
    const store = new LwwStore();
    const model = new ModelStore();
    for (let step = 0; step < 1500; step++) {
      const r = rand(100);
      if (r < 85) {
        const p = rand(3);
        const key = keys[rand(keys.length)];
        const ver = { ms: 1 + rand(400), c: rand(3) === 0 ? rand(100_000) : rand(3), w: `w${rand(3)}` };
        const len = rand(4) === 0 ? rand(3000) : rand(40);
        const e: Entry = rand(5) === 0 ? { ver, value: null } : rand(6) === 0 ? { ver, value: Buffer.alloc(len, rand(256)), exp: ver.ms + rand(100) } : { ver, value: Buffer.alloc(len, rand(256)) };
        expect(store.merge(p, key, e).outcome === 'applied').toBe(!model.parts.get(p)?.get(key) || compareEntries(e, model.parts.get(p)!.get(key)!) > 0);
        model.merge(p, key, e);
      } else if (r < 92) {
        const before = rand(450);
        expect(store.purgeTombstones(before)).toBe(model.purge(before));
      } else if (r < 95) {
        const p = rand(3);
        expect(store.dropPartition(p)).toBe(model.drop(p));
      } else {
        store.reclaim();
        expect(store.deadBytes()).toBe(0);
      }
      if (step % 50 === 0) check(store, model, keys, rand);
    }
    check(store, model, keys, rand);
  });

  it('keeps key order through batched merges of the ordered index, purges and compaction', () => {
    const rand = prng(9);
    const n = RECORD_LAYOUT_LIMITS.orderPendingMax * 3 + 17;
    const keys = Array.from({ length: n }, (_, i) => `${STEMS[rand(STEMS.length)]}${rand(1_000_000)}-${i}`);
    const store = new LwwStore();
    const model = new ModelStore();
    keys.forEach((k, i) => {
      const e: Entry = { ver: { ms: 1 + (i % 500), c: 0, w: 'w' }, value: i % 4 === 0 ? null : Buffer.from(k) };
      store.merge(0, k, e);
      model.merge(0, k, e);
      if (i % 700 === 0) expect(store.keysAfter(0, null, '', n)).toEqual(model.keysAfter(0, null, '', n));
    });
    expect(store.keysAfter(0, null, '', n)).toEqual(model.keysAfter(0, null, '', n));
    expect(store.purgeTombstones(250)).toBe(model.purge(250));
    store.reclaim();
    for (const prefix of ['', 'a', '\ue000', '\u{1f600}']) expect(store.keysAfter(0, keys[5], prefix, 500)).toEqual(model.keysAfter(0, keys[5], prefix, 500));
    check(store, model, keys.slice(0, 200), rand);
  });
});

describe('values read from the store', () => {
  it('never change, whatever happens to the store after they were read', () => {
    const rand = prng(77);
    const store = new LwwStore();
    const held: Array<[Buffer, string]> = [];
    const hold = (v: Buffer | null | undefined) => {
      if (v) held.push([v, v.toString('hex')]);
    };
    let ms = 1;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 50; i++) {
        const key = `k${rand(30)}`;
        store.merge(round % 2, key, { ver: { ms: ms++, c: 0, w: 'w' }, value: rand(6) === 0 ? null : Buffer.alloc(1 + rand(900), rand(256)) });
        hold(store.get(round % 2, key)?.value);
      }
      for (const [, e] of store.entries(round % 2)) hold(e.value);
      // Overwrite and delete everything held so far, purge, compact, drop.
      for (let i = 0; i < 30; i++) store.merge(round % 2, `k${i}`, { ver: { ms: ms++, c: 0, w: 'w' }, value: Buffer.alloc(rand(500), 0xee) });
      for (let i = 0; i < 30; i++) store.merge(round % 2, `k${i}`, { ver: { ms: ms++, c: 0, w: 'w' }, value: null });
      store.purgeTombstones(ms);
      store.reclaim();
      if (round % 5 === 4) store.dropPartition(round % 2);
    }
    expect(held.length).toBeGreaterThan(1000);
    for (const [v, hex] of held) expect(v.toString('hex')).toBe(hex);
  });

  it('is a copy of what was merged: changing the merged buffer afterwards changes nothing stored', () => {
    const store = new LwwStore();
    const value = Buffer.from('original');
    store.merge(0, 'k', { ver: { ms: 1, c: 0, w: 'w' }, value });
    value.fill(0);
    expect(store.get(0, 'k')?.value?.toString()).toBe('original');
  });
});
