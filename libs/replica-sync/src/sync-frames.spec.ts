import { FrameError, FrameReader, encodeOpsRefusal } from '@fog/protocol';
import {
  SYNC_FRAME_PREFACE, decodeSyncReply, decodeSyncRequest, encodeSyncReply, encodeSyncRequest, isPageReply, type SyncReply, type SyncRequest,
} from './sync-frames';
import {
  diffRequestProblem, digestRequestProblem, isDiffReply, isDigestReply, isPushReply, isSummaryReply, isTreeReply, pushRequestProblem,
  summaryRequestProblem, treeRequestProblem, type AeEntry,
} from './wire';

const ver = (ms: number, w = 'fe-1') => ({ ms, c: 3, w });
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const binaryValue = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x0d]);
const ENTRIES: AeEntry[] = [
  { key: 'a', ver: ver(1), val: b64('hello') },
  { key: 'ключ/🔑', ver: ver(2, 'fe-writer_2'), val: null },
  { key: 'b', ver: ver(3), val: b64(binaryValue), exp: 1_900_000_000_000 },
  { key: 'empty', ver: ver(4), val: '' },
];

const REQUESTS: SyncRequest[] = [
  { kind: 'tree', body: { epoch: 7, from: 's1', total: 256, groups: [[0, 1, 2, 3, 4]] } },
  { kind: 'summaries', body: { epoch: 7, from: 's1', partitions: [[5, 1, 2, 3]] } },
  { kind: 'digest', body: { epoch: 7, from: 's1', buckets: 2, partitions: [{ p: 1, digest: [1, 2, 3, 0xffffffff, 0, 6] }, { p: 9, digest: [0, 0, 0, 0, 0, 0] }] } },
  {
    kind: 'diff',
    body: { epoch: 7, from: 's1', p: 12, buckets: 128, ids: [0, 5, 127], horizonMs: -1, keysMax: 500, versions: [['a', 1, 0, 'fe', 0], ['ключ', 2.5e12, 9, 'fe-2', 1]] },
  },
  { kind: 'push', body: { epoch: 8, from: 's2', p: 65535, entries: ENTRIES } },
  { kind: 'page', body: { epoch: 8, p: 3, after: null, limit: 1000, bytesMax: 1 << 20 } },
];

const REPLIES: SyncReply[] = [
  { kind: 'tree', body: { epoch: 7, groups: [1, 2] } },
  { kind: 'summaries', body: { epoch: 7, partitions: [{ p: 1, held: true }] } },
  { kind: 'digest', body: { epoch: 7, partitions: [{ p: 1, held: true, horizonMs: -1, diff: [[3, 4]] }] } },
  { kind: 'diff', body: { epoch: 9, held: true, horizonMs: 1234, entries: ENTRIES, want: ['x', 'ÿ'], covered: ['c'], truncated: true } },
  { kind: 'diff', body: { epoch: 9, held: false, horizonMs: -1, entries: [], want: [], covered: [], truncated: false } },
  { kind: 'push', body: { epoch: 9, held: true, applied: 3, refused: 1 } },
  { kind: 'page', body: { entries: ENTRIES, next: 'empty', partitionBytes: 12345 } },
  { kind: 'page', body: { entries: [], next: null } },
];

describe('sync frames', () => {
  it.each(REQUESTS.map((r) => [r.kind, r] as const))('a %s request decodes to what was encoded, with its id', (_kind, req) => {
    const frame = encodeSyncRequest(42, req);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect(decodeSyncRequest(frame)).toEqual({ id: 42, kind: req.kind, body: req.body });
  });

  it.each(REPLIES.map((r, i) => [`${r.kind} #${i}`, r] as const))('a %s reply decodes to what was encoded', (_name, reply) => {
    expect(decodeSyncReply(encodeSyncReply(0xfffffffe, reply))).toEqual({ id: 0xfffffffe, ok: true, kind: reply.kind, body: reply.body });
  });

  it('decoded messages pass the same checks as JSON bodies', () => {
    const diff = decodeSyncRequest(encodeSyncRequest(1, REQUESTS[3])).body;
    expect(diffRequestProblem(diff, 128, 1000)).toBeNull();
    const push = decodeSyncRequest(encodeSyncRequest(1, REQUESTS[4])).body;
    expect(pushRequestProblem(push, 1000)).toBeNull();
    expect(isDiffReply(decodeSyncReply(encodeSyncReply(1, REPLIES[3])).body)).toBe(true);
    expect(isPushReply(decodeSyncReply(encodeSyncReply(1, REPLIES[5])).body)).toBe(true);
    expect(isPageReply(decodeSyncReply(encodeSyncReply(1, REPLIES[6])).body)).toBe(true);
    expect(treeRequestProblem(decodeSyncRequest(encodeSyncRequest(1, REQUESTS[0])).body, 256, 65536)).toBeNull();
    expect(summaryRequestProblem(decodeSyncRequest(encodeSyncRequest(1, REQUESTS[1])).body, 10)).toBeNull();
    expect(digestRequestProblem(decodeSyncRequest(encodeSyncRequest(1, REQUESTS[2])).body, 2, 10)).toBeNull();
    expect(isTreeReply(decodeSyncReply(encodeSyncReply(1, REPLIES[0])).body)).toBe(true);
    expect(isSummaryReply(decodeSyncReply(encodeSyncReply(1, REPLIES[1])).body)).toBe(true);
    expect(isDigestReply(decodeSyncReply(encodeSyncReply(1, REPLIES[2])).body)).toBe(true);
  });

  it('carries hash sums as binary: a dense digest request is well under half its JSON size', () => {
    let seed = 1;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0);
    const body = { epoch: 7, from: 'storage-1', buckets: 128, partitions: Array.from({ length: 16 }, (_, p) => ({ p, digest: Array.from({ length: 384 }, (_, i) => (i % 3 === 2 ? rand() % 50 : rand())) })) };
    const frame = encodeSyncRequest(1, { kind: 'digest', body });
    expect(decodeSyncRequest(frame).body).toEqual(body);
    expect(frame.length).toBeLessThan(JSON.stringify(body).length / 2);
  });

  it('a sparse digest (most buckets empty) is well under its JSON size too', () => {
    const digest = new Array<number>(384).fill(0);
    for (let b = 0; b < 128; b += 8) [digest[b * 3], digest[b * 3 + 1], digest[b * 3 + 2]] = [0xfedcba98, 123456789, 1];
    const body = { epoch: 7, from: 'storage-1', buckets: 128, partitions: Array.from({ length: 64 }, (_, p) => ({ p, digest })) };
    const frame = encodeSyncRequest(1, { kind: 'digest', body });
    expect(decodeSyncRequest(frame).body).toEqual(body);
    expect(frame.length).toBeLessThan(JSON.stringify(body).length * 0.6);
  });

  it('a varint over 5 bytes or over u32 is a FrameError', () => {
    const one = encodeSyncRequest(1, { kind: 'digest', body: { epoch: 1, from: 'a', buckets: 1, partitions: [{ p: 0, digest: [0xffffffff, 0, 0] }] } });
    // The first number's 5 bytes end 2 bytes (the two zeros) before the frame's end.
    const last = one.length - 3;
    expect(one[last]).toBe(0x0f);
    const over = Buffer.from(one);
    over[last] = 0x1f;
    expect(() => decodeSyncRequest(over)).toThrow(FrameError);
    const longer = Buffer.from(one);
    longer[last] = 0x8f;
    expect(() => decodeSyncRequest(longer)).toThrow(FrameError);
  });

  it('a field bound to u32 that is not one is refused at encoding', () => {
    expect(() => encodeSyncRequest(1, { kind: 'tree', body: { epoch: 1, from: 'a', total: 16, groups: [[0, -1, 0, 0, 1]] } })).toThrow(FrameError);
    expect(() => encodeSyncReply(1, { kind: 'tree', body: { epoch: 1, groups: [1.5] } })).toThrow(FrameError);
  });

  it('carries values as raw bytes: no base64 on the wire, and the frame is smaller than the JSON body', () => {
    const big = Buffer.alloc(3000, 0xab);
    const e: AeEntry = { key: 'k', ver: ver(1), val: big.toString('base64') };
    const frame = encodeSyncReply(1, { kind: 'diff', body: { epoch: 1, held: true, horizonMs: -1, entries: [e], want: [], covered: [], truncated: false } });
    expect(frame.includes(big)).toBe(true);
    expect(frame.includes(Buffer.from(big.toString('base64').slice(0, 64)))).toBe(false);
    expect(frame.length).toBeLessThan(big.length + 100);
    expect(frame.length).toBeLessThan(JSON.stringify({ entries: [e] }).length * 0.8);
  });

  it('names each writer id once per message', () => {
    const many: AeEntry[] = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, ver: ver(i, i % 2 ? 'frontend-127.0.0.1-40001' : 'frontend-127.0.0.1-40002'), val: null }));
    const frame = encodeSyncRequest(1, { kind: 'push', body: { epoch: 1, from: 'a', p: 0, entries: many } });
    expect(frame.toString('latin1').split('frontend-127.0.0.1-4000').length - 1).toBe(2);
    expect((decodeSyncRequest(frame).body as { entries: AeEntry[] }).entries).toEqual(many);
  });

  it('a refusal (the ops refusal layout) decodes as a refusal', () => {
    expect(decodeSyncReply(encodeOpsRefusal(9, 409, { error: { code: 'FOG_ERR_WRONG_NODE' } }))).toEqual({ id: 9, ok: false, status: 409, body: { error: { code: 'FOG_ERR_WRONG_NODE' } } });
  });

  it('the preface is not an HTTP method and has the ops preface length', () => {
    expect(SYNC_FRAME_PREFACE.toString('latin1')).toMatch(/^FOGS1\r\n\r\n$/);
  });

  describe('malformed input is a FrameError, never another exception', () => {
    const push = encodeSyncRequest(3, REQUESTS[4]);
    const diffReply = encodeSyncReply(3, REPLIES[3]);
    const withLength = (b: Buffer) => {
      b.writeUInt32LE(b.length - 4, 0);
      return b;
    };
    const cases: Array<[string, () => unknown]> = [
      ['a frame shorter than its header', () => decodeSyncRequest(Buffer.from([1, 0, 0]))],
      ['an unknown request kind', () => decodeSyncRequest(withLength(Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 99])))],
      ['an unknown reply tag', () => decodeSyncReply(withLength(Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 7, 1])))],
      ['an unknown reply kind', () => decodeSyncReply(withLength(Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 0])))],
      ...Array.from({ length: 12 }, (_, i): [string, () => unknown] => {
        const cut = Math.floor(((i + 1) * (push.length - 9)) / 13) + 9;
        return [`a push cut at byte ${cut}`, () => decodeSyncRequest(withLength(Buffer.from(push.subarray(0, cut))))];
      }),
      ...Array.from({ length: 12 }, (_, i): [string, () => unknown] => {
        const cut = Math.floor(((i + 1) * (diffReply.length - 10)) / 13) + 10;
        return [`a diff reply cut at byte ${cut}`, () => decodeSyncReply(withLength(Buffer.from(diffReply.subarray(0, cut))))];
      }),
      ['trailing bytes', () => decodeSyncRequest(withLength(Buffer.concat([push, Buffer.from([0])])))],
      ['an entry count larger than the frame', () => {
        const b = Buffer.from(push);
        // kind, epoch, from ("s2"), p: the count follows.
        b.writeUInt32LE(0xffffffff, 8 + 1 + 8 + 2 + 2 + 4);
        return decodeSyncRequest(b);
      }],
      ['unknown entry flags', () => {
        const one = encodeSyncRequest(1, { kind: 'push', body: { epoch: 1, from: 'a', p: 0, entries: [{ key: 'k', ver: ver(1), val: null }] } });
        one[one.length - 1] = 0x80;
        return decodeSyncRequest(one);
      }],
      ['a writer index outside the message\'s writers', () => {
        const one = encodeSyncRequest(1, { kind: 'push', body: { epoch: 1, from: 'a', p: 0, entries: [{ key: 'k', ver: ver(1), val: null }] } });
        one.writeUInt16LE(1, one.length - 3);
        return decodeSyncRequest(one);
      }],
      ['a tombstone mark other than 0 or 1', () => {
        const d = encodeSyncRequest(1, { kind: 'diff', body: { epoch: 1, from: 'a', p: 0, buckets: 2, ids: [], horizonMs: -1, keysMax: 1, versions: [['k', 1, 0, 'w', 1]] } });
        d[d.length - 1] = 2;
        return decodeSyncRequest(d);
      }],
      ['embedded JSON that does not parse', () => {
        const t = encodeSyncRequest(1, REQUESTS[5]);
        t[t.length - 1] = 0x7b;
        return decodeSyncRequest(t);
      }],
    ];
    it.each(cases)('%s', (_name, decode) => {
      expect(decode).toThrow(FrameError);
    });

    it('random bytes never throw anything but a FrameError', () => {
      let seed = 7;
      const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
      for (let i = 0; i < 2000; i++) {
        const body = Buffer.from(Array.from({ length: 1 + (rand() % 64) }, rand));
        const frame = withLength(Buffer.concat([Buffer.alloc(8), body]));
        for (const decode of [decodeSyncRequest, decodeSyncReply]) {
          try {
            decode(frame);
          } catch (err) {
            expect(err).toBeInstanceOf(FrameError);
          }
        }
      }
    });
  });

  it('a key longer than a string field holds is refused at encoding', () => {
    const key = 'k'.repeat(70_000);
    expect(() => encodeSyncRequest(1, { kind: 'push', body: { epoch: 1, from: 'a', p: 0, entries: [{ key, ver: ver(1), val: null }] } })).toThrow(FrameError);
  });

  it('frames split anywhere in the stream come out whole through the frame reader', () => {
    const stream = Buffer.concat(REPLIES.map((r, i) => encodeSyncReply(i + 1, r)));
    const reader = new FrameReader(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 5) reader.push(stream.subarray(i, i + 5), out);
    expect(out.map((f) => decodeSyncReply(f))).toEqual(REPLIES.map((r, i) => ({ id: i + 1, ok: true, kind: r.kind, body: r.body })));
  });
});
