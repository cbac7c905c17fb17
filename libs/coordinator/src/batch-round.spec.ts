import type { WireResult } from '@fog/protocol';
import { PUT_ACKED, PUT_ENDED, PUT_MISSED_KNOWN, PutRoundTally, READ_DONE, ReadRoundTally } from './batch-round';

const applied: WireResult = { ok: true, outcome: 'applied' };
const duplicate: WireResult = { ok: true, outcome: 'duplicate' };
const stale = (ms: number, c: number, w = 'fe'): WireResult => ({ ok: true, outcome: 'stale', cur: { ms, c, w } });
const refused = (code: 'FOG_ERR_WRONG_NODE' | 'FOG_ERR_INSUFFICIENT_STORAGE' | 'FOG_ERR_MEMORY_LIMIT'): WireResult => ({ ok: false, code });

/** One reply: [replica, active, result (null: none came), the replica's table is newer]. */
type Reply = [string, boolean, WireResult | null, boolean];

describe('PutRoundTally', () => {
  it.each<[string, number, Reply[], number[], unknown, string[]]>([
    // [what, w, replies in arrival order, bits after each reply, round, missed]
    ['acknowledged at the w-th apply, the last reply closes it', 2,
      [['a', true, applied, false], ['b', true, duplicate, false], ['c', true, applied, false]],
      [0, PUT_ACKED, 0], { kind: 'acked', acks: 3, newerEpoch: false }, []],
    ['a replica without an answer is missed, told once every reply is in', 2,
      [['a', true, applied, false], ['c', true, null, false], ['b', true, applied, false]],
      [0, 0, PUT_ACKED | PUT_MISSED_KNOWN], { kind: 'acked', acks: 2, newerEpoch: false }, ['c']],
    ['a late refusal after the acknowledgement is missed too', 1,
      [['a', true, applied, false], ['b', true, refused('FOG_ERR_INSUFFICIENT_STORAGE'), false]],
      [PUT_ACKED, PUT_MISSED_KNOWN], { kind: 'acked', acks: 1, newerEpoch: false }, ['b']],
    ['a pending replica\'s apply does not count for the quorum', 2,
      [['d', false, applied, false], ['a', true, applied, false], ['b', true, null, false]],
      [0, 0, PUT_ENDED], { kind: 'failed', acks: 1, errors: {} }, ['b']],
    ['a stale reply holds the acknowledgement back until every reply is in: re-stamp above the newest', 2,
      [['a', true, stale(5, 1), false], ['b', true, applied, false], ['c', true, stale(5, 3, 'x'), false]],
      [0, 0, PUT_ENDED], { kind: 'stale', newest: { ms: 5, c: 3, w: 'x' }, acks: 1 }, []],
    ['the newest stale version is by stamp, not by arrival', 1,
      [['a', true, stale(9, 0), false], ['b', true, stale(7, 5), false]],
      [0, PUT_ENDED], { kind: 'stale', newest: { ms: 9, c: 0, w: 'fe' }, acks: 0 }, []],
    ['the wrong node under a newer table fences the round and needs no hint', 2,
      [['a', true, applied, false], ['b', true, refused('FOG_ERR_WRONG_NODE'), true], ['c', true, refused('FOG_ERR_WRONG_NODE'), true]],
      [0, 0, PUT_ENDED], { kind: 'fenced', acks: 1, errors: { FOG_ERR_WRONG_NODE: 2 } }, []],
    ['the wrong node under an older table is an error and is missed', 1,
      [['a', true, refused('FOG_ERR_WRONG_NODE'), false], ['b', true, applied, false]],
      [0, PUT_ACKED | PUT_MISSED_KNOWN], { kind: 'acked', acks: 1, newerEpoch: false }, ['a']],
    ['errors are counted by code when the quorum fails', 2,
      [['a', true, refused('FOG_ERR_MEMORY_LIMIT'), false], ['b', true, refused('FOG_ERR_MEMORY_LIMIT'), false], ['c', true, applied, false]],
      [0, 0, PUT_ENDED], { kind: 'failed', acks: 1, errors: { FOG_ERR_MEMORY_LIMIT: 2 } }, ['a', 'b']],
    ['a reply from a replica with a newer table marks the acknowledgement for forwarding', 2,
      [['a', true, applied, true], ['b', true, applied, false]],
      [0, PUT_ACKED], { kind: 'acked', acks: 2, newerEpoch: true }, []],
  ])('%s', (_what, w, replies, bits, round, missed) => {
    // Operation 1 of 3 so that neighbours in the flat arrays are seen to stay apart.
    const tally = new PutRoundTally(3, w);
    expect(tally.open(0, 3)).toBe(0);
    expect(tally.open(1, replies.length)).toBe(0);
    expect(tally.open(2, 1)).toBe(0);
    expect(replies.map(([id, active, res, newer]) => tally.reply(1, id, active, res, newer))).toEqual(bits);
    expect(tally.round(1)).toEqual(round);
    expect(tally.missed(1)).toEqual(missed);
    expect(tally.reply(0, 'a', true, null, false)).toBe(0);
    expect(tally.reply(2, 'a', true, null, false)).toBe(PUT_ENDED);
    expect(tally.round(2)).toEqual({ kind: 'failed', acks: 0, errors: {} });
  });
});

describe('ReadRoundTally', () => {
  const entry = (v: string) => ({ v });

  function run(r: number, order: string[], answers: Record<string, { v: string } | null | 'fail' | 'newer'>) {
    const asked: string[] = [];
    const tally = new ReadRoundTally<{ v: string }>(2, r, (i, id) => {
      expect(i).toBe(1);
      asked.push(id);
    });
    let done = tally.open(1, order) === READ_DONE;
    // Answer in the order asked, asking further as the tally says.
    for (let j = 0; j < asked.length && !done; j++) {
      const a = answers[asked[j]];
      const bits = a === 'fail' || a === 'newer' ? tally.reply(1, asked[j], undefined, a === 'newer', order) : tally.reply(1, asked[j], a, false, order);
      done = bits === READ_DONE;
    }
    return { asked, done, result: done ? tally.result(1) : null };
  }

  it('asks the first r replicas of the order and ends with their answers', () => {
    expect(run(2, ['a', 'b', 'c'], { a: entry('1'), b: null, c: entry('3') })).toEqual({
      asked: ['a', 'b'], done: true, result: { kind: 'ok', replies: [{ id: 'a', entry: { v: '1' } }, { id: 'b', entry: null }] },
    });
  });

  it('asks the next replica in order for each that fails', () => {
    expect(run(2, ['a', 'b', 'c'], { a: 'fail', b: entry('2'), c: entry('3') })).toEqual({
      asked: ['a', 'b', 'c'], done: true, result: { kind: 'ok', replies: [{ id: 'b', entry: { v: '2' } }, { id: 'c', entry: { v: '3' } }] },
    });
  });

  it.each<[string, Record<string, 'fail' | 'newer' | null>, string]>([
    ['failed when too few answer', { a: 'fail', b: null, c: 'fail' }, 'failed'],
    ['fenced when a replica refused under a newer table', { a: 'newer', b: null, c: 'fail' }, 'fenced'],
  ])('ends %s', (_what, answers, kind) => {
    const out = run(2, ['a', 'b', 'c'], answers);
    expect(out.asked).toEqual(['a', 'b', 'c']);
    expect(out.result).toEqual({ kind, replies: [{ id: 'b', entry: null }] });
  });

  it('ends at once, failed, with nobody to ask', () => {
    const tally = new ReadRoundTally<unknown>(1, 1, () => {
      throw new Error('nobody to ask');
    });
    expect(tally.open(0, [])).toBe(READ_DONE);
    expect(tally.result(0)).toEqual({ kind: 'failed', replies: [] });
  });

  it('ignores what comes after the end', () => {
    const asked: string[] = [];
    const tally = new ReadRoundTally<string>(1, 1, (_i, id) => asked.push(id));
    tally.open(0, ['a', 'b']);
    expect(tally.reply(0, 'a', 'x', false, ['a', 'b'])).toBe(READ_DONE);
    expect(asked).toEqual(['a']);
    expect(tally.result(0)).toEqual({ kind: 'ok', replies: [{ id: 'a', entry: 'x' }] });
  });
});
