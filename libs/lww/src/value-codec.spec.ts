import { randomBytes } from 'node:crypto';
import { compareEntries } from './entry';
import { LwwStore } from './lww-store';
import { RECORD_LAYOUT_LIMITS } from './partition-records';
import { compressEntry, plainBytes, plainEntry } from './value-codec';

const ver = { ms: 1, c: 0, w: 'fe' };
const cfg = { compressMinBytes: 1024, compressLevel: 1 };

describe('compressEntry / plainEntry', () => {
  it('stores a compressible value deflated, with its plain length, and gives it back byte for byte', () => {
    const value = Buffer.alloc(100 * 1024, 'velour fog ');
    const stored = compressEntry({ ver, value, exp: 99 }, cfg);
    expect(stored.z).toBe(value.length);
    expect(stored.value!.length).toBeLessThan(value.length / 20);
    expect(stored.exp).toBe(99);
    expect(plainBytes(stored)).toBe(value.length);
    expect(plainEntry(stored)).toEqual({ ver, value, exp: 99 });
  });

  it.each([
    ['a value below the threshold', Buffer.alloc(1023, 'a')],
    ['an incompressible value', randomBytes(8192)],
  ])('keeps %s plain', (_name, value) => {
    const e = { ver, value };
    expect(compressEntry(e, cfg)).toBe(e);
  });

  it('leaves tombstones and already-compressed entries alone', () => {
    const tomb = { ver, value: null };
    expect(compressEntry(tomb, cfg)).toBe(tomb);
    const once = compressEntry({ ver, value: Buffer.alloc(4096, 'x') }, cfg);
    expect(compressEntry(once, cfg)).toBe(once);
    expect(plainEntry(tomb)).toBe(tomb);
  });

  it('orders a compressed and a plain entry of the same version by their plain values', () => {
    const a = Buffer.alloc(4096, 'a');
    const b = Buffer.concat([Buffer.alloc(4095, 'a'), Buffer.from('b')]);
    const za = compressEntry({ ver, value: a }, cfg);
    const zb = compressEntry({ ver, value: b }, cfg);
    expect(compareEntries(za, { ver, value: a })).toBe(0);
    expect(Math.sign(compareEntries(za, { ver, value: b }))).toBe(-1);
    expect(Math.sign(compareEntries(zb, za))).toBe(1);
    expect(Math.sign(compareEntries({ ver, value: b }, za))).toBe(1);
  });

  it('counts stored and plain value bytes in the store', () => {
    const s = new LwwStore();
    const value = Buffer.alloc(10_000, 'z');
    s.merge(1, 'k', compressEntry({ ver, value }, cfg));
    const st = s.stats();
    expect(st.plainValueBytes).toBe(10_000);
    expect(st.valueBytes).toBeLessThan(500);
    // What the store holds is the compressed record (plus the partition's fixed overhead).
    expect(st.bytes).toBeLessThan(1000 + RECORD_LAYOUT_LIMITS.partitionOverheadBytes);
    expect(s.get(1, 'k')?.z).toBe(10_000);
  });
});
