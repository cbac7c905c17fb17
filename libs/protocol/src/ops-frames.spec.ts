import {
  FrameError, FrameReader, OPS_FRAME_HEADER_BYTES, decodeOpsRequest, decodeOpsResponse, encodeOpsRefusal, encodeOpsRequest,
  encodeOpsResponse,
} from './ops-frames';
import type { OpsResponse, WireOp } from './wire';

const ver = { ms: 1_700_000_000_123, c: 7, w: 'frontend-a' };
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('ops frames', () => {
  const ops: WireOp[] = [
    { op: 'get', p: 3, key: 'k' },
    { op: 'get', p: 0, key: 'ü/ключ' },
    { op: 'put', p: 255, key: 'k', ver, val: b64('hello') },
    { op: 'put', p: 1, key: 'empty', ver, val: '' },
    { op: 'put', p: 1, key: 'all-bytes', ver, val: b64(Buffer.from(Array.from({ length: 256 }, (_, i) => i))) },
    { op: 'put', p: 1, key: 'gone', ver, val: null },
    { op: 'put', p: 2, key: 'c', ver, val: b64('x'), cas: true },
    { op: 'put', p: 2, key: 'ttl', ver, val: b64('x'), exp: ver.ms + 30_000 },
    { op: 'put', p: 2, key: 'ttl-cas', ver, val: b64('x'), cas: true, exp: ver.ms + 1000 },
    { op: 'scan', p: 4, prefix: 'b/', after: null, limit: 10 },
    { op: 'prepare', p: 5, key: 'k', ballot: ver },
  ];

  it('round-trips every kind of operation, values as raw bytes', () => {
    const frame = encodeOpsRequest(42, 9, ops);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect(decodeOpsRequest(frame)).toEqual({ id: 42, epoch: 9, ops });
    // The 256-byte value travels as 256 bytes, not as 344 base64 characters.
    const one = encodeOpsRequest(1, 1, [ops[4]]);
    expect(one.length).toBeLessThan(344);
  });

  it('writes keys and writer ids byte for byte as UTF-8 at every length and mix of ASCII', () => {
    const keys = ['', 'a', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'ascii-then-é', 'é', `${'a'.repeat(40)}😀`, '\u007f\u0080', 'k'.repeat(3000)];
    const many: WireOp[] = keys.map((key, i) => ({ op: 'put', p: i, key, ver: { ...ver, w: key || 'w' }, val: b64(key) }));
    const frame = encodeOpsRequest(7, 1, many);
    expect(decodeOpsRequest(frame)).toEqual({ id: 7, epoch: 1, ops: many });
    // Each string is its UTF-8 bytes after a u16 length: the frame is exactly that long.
    const utf8 = (s: string) => 2 + Buffer.byteLength(s);
    const expected = OPS_FRAME_HEADER_BYTES + 8 + 2 + many.reduce((n, op) => n + 1 + 4 + utf8(op.op === 'put' ? op.key : '') + 16 + utf8(op.op === 'put' ? op.ver.w : '') + 1 + 4 + Buffer.byteLength(op.op === 'put' ? op.key : ''), 0);
    expect(frame.length).toBe(expected);
  });

  it('round-trips every kind of result', () => {
    const res: OpsResponse = {
      epoch: 12, clock: { ms: 1_700_000_000_999, c: 3 },
      results: [
        { ok: true, entry: null },
        { ok: true, entry: { ver, val: b64('v') } },
        { ok: true, entry: { ver, val: null } },
        { ok: true, entry: { ver, val: '' } },
        { ok: true, entry: { ver, val: b64('lives'), exp: ver.ms + 5000 } },
        { ok: true, outcome: 'applied' },
        { ok: true, outcome: 'duplicate' },
        { ok: true, outcome: 'stale', cur: ver },
        { ok: false, code: 'FOG_ERR_WRONG_NODE' },
        { ok: false, code: 'FOG_ERR_MEMORY_LIMIT', message: 'over the limit' },
        { ok: true, items: [{ key: 'a', ver, size: 3 }], more: false },
      ],
    };
    expect(decodeOpsResponse(encodeOpsResponse(7, res))).toEqual({ id: 7, ok: true, ...res });
  });

  it('carries a refusal of the whole request', () => {
    const body = { error: { code: 'FOG_ERR_BATCH_TOO_LARGE', message: 'too many' } };
    expect(decodeOpsResponse(encodeOpsRefusal(5, 413, body))).toEqual({ id: 5, ok: false, status: 413, body });
  });

  it.each([
    ['a truncated body', (f: Buffer) => f.subarray(0, f.length - 1)],
    ['trailing bytes', (f: Buffer) => Buffer.concat([f, Buffer.from([0])])],
    ['an unknown operation kind', (f: Buffer) => {
      const g = Buffer.from(f);
      g[OPS_FRAME_HEADER_BYTES + 10] = 9;
      return g;
    }],
  ])('refuses %s with a FrameError', (_name, damage) => {
    const frame = encodeOpsRequest(1, 1, [{ op: 'get', p: 1, key: 'k' }]);
    expect(() => decodeOpsRequest(damage(frame))).toThrow(FrameError);
  });

  it('splits a stream into frames whatever the chunking, and refuses an oversized length', () => {
    const frames = [encodeOpsRequest(1, 1, ops), encodeOpsRequest(2, 1, [ops[0]]), encodeOpsRequest(3, 1, [])];
    const stream = Buffer.concat(frames);
    for (const size of [1, 3, 7, stream.length]) {
      const reader = new FrameReader(1024);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) reader.push(stream.subarray(i, i + size), out);
      expect(out.map((f) => decodeOpsRequest(f).id)).toEqual([1, 2, 3]);
      expect(reader.pending).toBe(0);
    }
    const big = Buffer.alloc(8);
    big.writeUInt32LE(2000, 0);
    expect(() => new FrameReader(1024).push(big, [])).toThrow(FrameError);
  });
});
