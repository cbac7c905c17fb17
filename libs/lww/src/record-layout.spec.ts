import type { Entry } from './entry';
import { readRecord, recordBytes, recordGoneSinceMs, recordKeyBytes, recordKeyStart, recordLength, RECORD_HEADER_BYTES, writeRecord } from './record-layout';

const writers = Array.from({ length: 300 }, (_, i) => `fe-${i}`);

describe('record layout', () => {
  it.each<[string, Entry, number]>([
    ['a plain value', { ver: { ms: 1_700_000_000_000, c: 3, w: 'fe-0' }, value: Buffer.from('hello') }, 0],
    ['a tombstone', { ver: { ms: 5, c: 0, w: 'fe-1' }, value: null }, 1],
    ['an empty value', { ver: { ms: 0, c: 0, w: 'fe-2' }, value: Buffer.alloc(0) }, 2],
    ['an expiring compressed value', { ver: { ms: 10, c: 1, w: 'fe-3' }, value: Buffer.from([1, 2, 3]), exp: 9_000, z: 4096 }, 3],
    ['a counter past 16 bits', { ver: { ms: 10, c: 70_000, w: 'fe-4' }, value: Buffer.from('x') }, 4],
    ['a counter past 32 bits', { ver: { ms: 10, c: 2 ** 40, w: 'fe-5' }, value: Buffer.from('x') }, 5],
    ['a stamp past 48 bits', { ver: { ms: Number.MAX_SAFE_INTEGER, c: 0, w: 'fe-6' }, value: null }, 6],
    ['a writer past the narrow index', { ver: { ms: 10, c: 0, w: 'fe-299' }, value: Buffer.from('y'), exp: 11 }, 299],
  ])('round-trips %s', (_name, e, writer) => {
    const key = Buffer.from('k\u00e9y');
    const slab = Buffer.alloc(200, 0xaa);
    const n = writeRecord(slab, 7, key, key.length, e, writer);
    expect(n).toBe(recordBytes(key.length, e, writer));
    expect(recordLength(slab, 7)).toBe(n);
    expect(n).toBeGreaterThanOrEqual(RECORD_HEADER_BYTES + key.length);
    expect(slab.subarray(recordKeyStart(slab, 7), recordKeyStart(slab, 7) + recordKeyBytes(slab, 7)).toString()).toBe('k\u00e9y');
    expect(readRecord(slab, 7, writers)).toEqual(e);
    expect(recordGoneSinceMs(slab, 7)).toBe(e.value === null ? e.ver.ms : e.exp ?? null);
    // Nothing written outside the record.
    expect(slab[6]).toBe(0xaa);
    expect(slab[7 + n]).toBe(0xaa);
  });
});
