import type { Entry } from '@fog/lww';
import { RECORD_HEADER_BYTES, RECORD_PAYLOAD_BYTES_MAX, encodeRecord, frameCrc, type LogRecord } from './record';
import { scanRecords } from './scan';
import { SNAPSHOT_FORMAT_VERSION, readSnapshot, parseSegmentFileName, segmentFileName } from './index';

const entry = (ms: number, value: string | null, w = 'fe-1', c = 0): Entry => ({ ver: { ms, c, w }, value: value === null ? null : Buffer.from(value) });
const rec = (partition: number, key: string, e: Entry): LogRecord => ({ kind: 'entry', partition, key, entry: e });

function log(n: number): { buf: Buffer; offsets: number[]; records: LogRecord[] } {
  const records = Array.from({ length: n }, (_, i) => rec(i % 16, `key-${i}`, entry(1_700_000_000_000 + i, `value-${i}`)));
  const frames = records.map(encodeRecord);
  const offsets: number[] = [];
  let o = 0;
  for (const f of frames) {
    offsets.push(o);
    o += f.length;
  }
  return { buf: Buffer.concat(frames), offsets, records };
}

describe('record encoding', () => {
  it.each<[string, LogRecord]>([
    ['a value', rec(3, 'k', entry(12, 'hello'))],
    ['an empty value (not a tombstone)', rec(0, 'empty', entry(1, ''))],
    ['a tombstone', rec(255, 'gone', entry(99, null, 'fe-2', 7))],
    ['a binary value and a non-ASCII key', rec(65535, 'clé-ключ-🔑', { ver: { ms: 2 ** 52, c: 2 ** 40, w: 'w:x@y' }, value: Buffer.from([0, 255, 1, 254]) })],
    ['a value with an expiry', rec(4, 'ttl', { ver: { ms: 1_700_000_000_000, c: 3, w: 'fe-1' }, value: Buffer.from('soon'), exp: 1_700_000_030_000 })],
    ['a compressed value with an expiry', rec(4, 'z', { ver: { ms: 1_700_000_000_000, c: 0, w: 'fe-1' }, value: Buffer.from([1, 2, 3]), exp: 1_700_000_030_000, z: 4096 })],
    ['a horizon', { kind: 'horizon', partition: 7, ms: 1_700_000_000_123 }],
    ['a partition drop', { kind: 'drop', partition: 9 }],
    ['a snapshot header', { kind: 'snap-begin', formatVersion: SNAPSHOT_FORMAT_VERSION, createdAtMs: 5, firstSegment: 42 }],
    ['a snapshot trailer', { kind: 'snap-end', entries: 3, horizons: 1 }],
  ])('round-trips %s', (_name, r) => {
    const scan = scanRecords(encodeRecord(r));
    expect(scan.corrupt).toEqual([]);
    expect(scan.tornBytes).toBe(0);
    expect(scan.records).toEqual([r]);
  });

  it('tells a tombstone from an empty value', () => {
    const [a, b] = scanRecords(Buffer.concat([encodeRecord(rec(1, 'a', entry(1, ''))), encodeRecord(rec(1, 'b', entry(1, null)))])).records;
    expect(a.kind === 'entry' && a.entry.value).toEqual(Buffer.alloc(0));
    expect(b.kind === 'entry' && b.entry.value).toBeNull();
  });

  it('reads an entry record laid out as before expiries existed', () => {
    // Built by hand in the pre-ttl layout: kind, partition, key, ms, c, writer, flags, value.
    const key = Buffer.from('old');
    const writer = Buffer.from('fe-9');
    const value = Buffer.from('kept');
    const payload = Buffer.alloc(1 + 4 + 4 + key.length + 8 + 8 + 2 + writer.length + 1 + 4 + value.length);
    let o = payload.writeUInt8(0x01, 0);
    o = payload.writeUInt32LE(5, o);
    o = payload.writeUInt32LE(key.length, o);
    o += key.copy(payload, o);
    o = payload.writeDoubleLE(1_600_000_000_000, o);
    o = payload.writeDoubleLE(2, o);
    o = payload.writeUInt16LE(writer.length, o);
    o += writer.copy(payload, o);
    o = payload.writeUInt8(0, o);
    o = payload.writeUInt32LE(value.length, o);
    value.copy(payload, o);
    const frame = Buffer.alloc(RECORD_HEADER_BYTES + payload.length);
    frame.writeUInt32LE(payload.length, 0);
    payload.copy(frame, RECORD_HEADER_BYTES);
    frame.writeUInt32LE(frameCrc(frame, 0, payload.length), 4);
    expect(scanRecords(frame).records).toEqual([rec(5, 'old', { ver: { ms: 1_600_000_000_000, c: 2, w: 'fe-9' }, value })]);
    // And a record without an expiry is still written in that layout, byte for byte.
    expect(encodeRecord(rec(5, 'old', { ver: { ms: 1_600_000_000_000, c: 2, w: 'fe-9' }, value }))).toEqual(frame);
  });

  it('refuses to encode an expiry that is not a safe integer', () => {
    expect(() => encodeRecord(rec(1, 'k', { ver: { ms: 1, c: 0, w: 'w' }, value: Buffer.from('v'), exp: 1.5 }))).toThrow(RangeError);
  });

  it.each<[string, LogRecord]>([
    ['a negative ms', rec(1, 'k', entry(-1, 'v'))],
    ['a fractional counter', rec(1, 'k', { ver: { ms: 1, c: 0.5, w: 'w' }, value: null })],
    ['a counter beyond safe integers', rec(1, 'k', { ver: { ms: 1, c: 2 ** 53, w: 'w' }, value: null })],
    ['a partition beyond u32', { kind: 'drop', partition: 2 ** 32 }],
  ])('refuses to encode %s', (_name, r) => {
    expect(() => encodeRecord(r)).toThrow(RangeError);
  });

  it('refuses a payload over the record limit', () => {
    expect(() => encodeRecord(rec(1, 'k', { ver: { ms: 1, c: 0, w: 'w' }, value: Buffer.alloc(RECORD_PAYLOAD_BYTES_MAX) }))).toThrow(/exceeds/);
  });
});

describe('scanRecords', () => {
  it('reads an empty file as no records', () => {
    expect(scanRecords(Buffer.alloc(0))).toEqual({ records: [], validBytes: 0, tornBytes: 0, tornReason: null, corrupt: [] });
  });

  it('reads every record of an intact log', () => {
    const { buf, records } = log(50);
    const scan = scanRecords(buf);
    expect(scan.records).toEqual(records);
    expect(scan.validBytes).toBe(buf.length);
  });

  it.each([1, 4, RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + 3])('cuts a last record torn after %d bytes', (keep) => {
    const { buf, offsets, records } = log(10);
    const torn = buf.subarray(0, offsets[9] + keep);
    const scan = scanRecords(torn);
    expect(scan.records).toEqual(records.slice(0, 9));
    expect(scan.validBytes).toBe(offsets[9]);
    expect(scan.tornBytes).toBe(keep);
    expect(scan.corrupt).toEqual([]);
  });

  it('cuts a complete last record whose checksum fails (a torn write that left zeros)', () => {
    const { buf, offsets } = log(5);
    const damaged = Buffer.from(buf);
    damaged.fill(0, offsets[4] + RECORD_HEADER_BYTES + 2);
    const scan = scanRecords(damaged);
    expect(scan.records).toHaveLength(4);
    expect(scan.tornReason).toBe('bad-checksum');
    expect(scan.validBytes).toBe(offsets[4]);
  });

  it('skips and counts a corrupt record in the middle, keeping every record after it', () => {
    const { buf, offsets, records } = log(20);
    const damaged = Buffer.from(buf);
    damaged[offsets[7] + RECORD_HEADER_BYTES + 5] ^= 0x40;
    const scan = scanRecords(damaged);
    expect(scan.corrupt).toEqual([{ offset: offsets[7], bytes: offsets[8] - offsets[7], reason: 'bad-checksum' }]);
    expect(scan.records).toEqual([...records.slice(0, 7), ...records.slice(8)]);
    expect(scan.tornBytes).toBe(0);
  });

  it('resynchronises after a damaged length field', () => {
    const { buf, offsets, records } = log(20);
    const damaged = Buffer.from(buf);
    damaged.writeUInt32LE(0xfffffff0, offsets[3]);
    const scan = scanRecords(damaged);
    expect(scan.corrupt).toEqual([{ offset: offsets[3], bytes: offsets[4] - offsets[3], reason: 'bad-length' }]);
    expect(scan.records).toEqual([...records.slice(0, 3), ...records.slice(4)]);
  });

  it.each([2, 4])('keeps the intact records after a length field damaged to point %d records further', (skip) => {
    const { buf, offsets, records } = log(20);
    const damaged = Buffer.from(buf);
    damaged.writeUInt32LE(offsets[5 + skip] - offsets[5] - RECORD_HEADER_BYTES, offsets[5]);
    const scan = scanRecords(damaged);
    expect(scan.corrupt).toEqual([{ offset: offsets[5], bytes: offsets[6] - offsets[5], reason: 'bad-checksum' }]);
    expect(scan.records).toEqual([...records.slice(0, 5), ...records.slice(6)]);
  });

  it('loses exactly the damaged record, whichever byte of it is damaged and however', () => {
    const { buf, offsets, records } = log(12);
    const i = 6;
    for (let byte = offsets[i]; byte < offsets[i + 1]; byte++) {
      for (let mask = 1; mask <= 0xff; mask++) {
        const damaged = Buffer.from(buf);
        damaged[byte] ^= mask;
        const scan = scanRecords(damaged);
        expect({ byte: byte - offsets[i], mask, corrupt: scan.corrupt, records: scan.records.length }).toEqual({
          byte: byte - offsets[i], mask, corrupt: [{ offset: offsets[i], bytes: offsets[i + 1] - offsets[i], reason: expect.any(String) }], records: records.length - 1,
        });
      }
    }
  });

  it('skips one whole record whose key length is damaged (its structure no longer says where it ends)', () => {
    const { buf, offsets, records } = log(20);
    const damaged = Buffer.from(buf);
    damaged[offsets[9] + RECORD_HEADER_BYTES + 5] ^= 0x08;
    const scan = scanRecords(damaged);
    expect(scan.corrupt).toEqual([{ offset: offsets[9], bytes: offsets[10] - offsets[9], reason: 'bad-checksum' }]);
    expect(scan.records).toEqual([...records.slice(0, 9), ...records.slice(10)]);
  });

  it('counts garbage spliced between records as one corrupt region', () => {
    const { buf, offsets, records } = log(6);
    const garbage = Buffer.from('this is not a record, not even close; '.repeat(3));
    const spliced = Buffer.concat([buf.subarray(0, offsets[2]), garbage, buf.subarray(offsets[2])]);
    const scan = scanRecords(spliced);
    expect(scan.corrupt).toHaveLength(1);
    expect(scan.corrupt[0]).toMatchObject({ offset: offsets[2], bytes: garbage.length });
    expect(scan.records).toEqual(records);
  });

  it('reports several corrupt records and a torn tail together', () => {
    const { buf, offsets } = log(30);
    const damaged = Buffer.from(buf.subarray(0, offsets[29] + 3));
    for (const i of [2, 10, 20]) damaged[offsets[i] + RECORD_HEADER_BYTES + 1] ^= 0xff;
    const scan = scanRecords(damaged);
    expect(scan.corrupt.map((c) => c.offset)).toEqual([offsets[2], offsets[10], offsets[20]]);
    expect(scan.records).toHaveLength(26);
    expect(scan.tornBytes).toBe(3);
  });

  it('flags a record whose checksum matches but whose structure is impossible', () => {
    const good = encodeRecord({ kind: 'drop', partition: 1 });
    const bogus = Buffer.from(good);
    bogus[RECORD_HEADER_BYTES] = 0x7f; // unknown kind
    // Re-checksum so that only the structure is wrong.
    const { frameCrc } = jest.requireActual<typeof import('./record')>('./record');
    bogus.writeUInt32LE(frameCrc(bogus, 0, bogus.readUInt32LE(0)), 4);
    const scan = scanRecords(Buffer.concat([bogus, good]));
    expect(scan.corrupt).toEqual([{ offset: 0, bytes: bogus.length, reason: 'bad-payload' }]);
    expect(scan.records).toEqual([{ kind: 'drop', partition: 1 }]);
  });
});

describe('snapshots', () => {
  const body: LogRecord[] = [
    { kind: 'snap-begin', formatVersion: SNAPSHOT_FORMAT_VERSION, createdAtMs: 1000, firstSegment: 4 },
    { kind: 'horizon', partition: 2, ms: 900 },
    rec(2, 'a', entry(950, 'x')),
    rec(3, 'b', entry(960, null)),
    { kind: 'snap-end', entries: 2, horizons: 1 },
  ];

  it('reads a complete snapshot', () => {
    const snap = readSnapshot(scanRecords(Buffer.concat(body.map(encodeRecord))));
    expect(snap.problems).toEqual([]);
    expect(snap.firstSegment).toBe(4);
    expect(snap.entries.map((e) => e.key)).toEqual(['a', 'b']);
    expect(snap.horizons).toEqual([{ partition: 2, ms: 900 }]);
  });

  it('reports a snapshot without its trailer as incomplete', () => {
    const snap = readSnapshot(scanRecords(Buffer.concat(body.slice(0, 4).map(encodeRecord))));
    expect(snap.problems.join()).toMatch(/trailer is missing/);
  });

  it('reports counts that do not match', () => {
    const wrong = [...body.slice(0, 4), { kind: 'snap-end', entries: 3, horizons: 1 } as LogRecord];
    expect(readSnapshot(scanRecords(Buffer.concat(wrong.map(encodeRecord)))).problems.join()).toMatch(/counts 3 entries/);
  });

  it('names log segments so that name order is number order', () => {
    expect(segmentFileName(7)).toBe('log-0000000007.fog');
    expect(parseSegmentFileName(segmentFileName(123456))).toBe(123456);
    expect(parseSegmentFileName('log-7.fog')).toBeNull();
    expect(parseSegmentFileName('snapshot.fog')).toBeNull();
    expect([segmentFileName(10), segmentFileName(9)].sort()).toEqual([segmentFileName(9), segmentFileName(10)]);
  });
});
