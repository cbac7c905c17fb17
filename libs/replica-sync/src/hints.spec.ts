import type { Version, WireResult } from '@fog/protocol';
import { HINT_LIMITS, HintQueue, hintOutcomeOf, type HintLimits, type HintOutcome } from './hints';

const v = (ms: number, c = 0, w = 'fe-1'): Version => ({ ms, c, w });
const up = () => true;
const keysOf = (q: HintQueue, node: string) => q.pending(node).map((h) => h.key);
/** The keys of each batch nextBatch gives, by node. */
const batchKeys = (q: HintQueue, nowMs: number, isUp: (n: string) => boolean = up) =>
  Object.fromEntries(q.nextBatch(nowMs, isUp).map((b) => [b.node, b.hints.map((h) => h.key)]));
/** A value of n base64 characters. */
const val = (n: number) => 'A'.repeat(n);
/** Bytes a hint of this key, value and writer is charged for. */
const cost = (key: string, valChars: number, w = 'fe-1') => HINT_LIMITS.hintOverheadBytes + Buffer.byteLength(key) + valChars + w.length;

function queue(limits: Partial<HintLimits> = {}): HintQueue {
  return new HintQueue({ deliveryBytesPerSecMax: 1 << 30, ...limits });
}

describe('HintQueue: order', () => {
  it('delivers a node\'s hints in the order they were queued, partitions mixed', () => {
    const q = queue();
    q.add('n1', 3, 'c', v(1), val(4), 0);
    q.add('n1', 1, 'a', v(2), val(4), 0);
    q.add('n1', 2, 'b', v(3), null, 0);
    expect(batchKeys(q, 0)).toEqual({ n1: ['c', 'a', 'b'] });
  });

  it('keeps one batch in flight per node: the next starts after the result', () => {
    const q = queue({ deliveryBatchOpsMax: 2 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) q.add('n1', 0, k, v(1), val(1), 0);
    expect(batchKeys(q, 0)).toEqual({ n1: ['a', 'b'] });
    expect(batchKeys(q, 1)).toEqual({});
    q.onResult('n1', ['delivered', 'delivered'], 1);
    expect(batchKeys(q, 2)).toEqual({ n1: ['c', 'd'] });
    q.onResult('n1', ['delivered', 'delivered'], 2);
    expect(batchKeys(q, 3)).toEqual({ n1: ['e'] });
    q.onResult('n1', ['delivered'], 3);
    expect(q.stats()).toMatchObject({ queued: 5, delivered: 5, hints: 0, bytes: 0, nodes: 0 });
  });

  it('serves every node that is up, and none that is not', () => {
    const q = queue();
    q.add('n1', 0, 'a', v(1), val(1), 0);
    q.add('n2', 0, 'b', v(1), val(1), 0);
    q.add('n3', 0, 'c', v(1), val(1), 0);
    expect(batchKeys(q, 0, (n) => n !== 'n2')).toEqual({ n1: ['a'], n3: ['c'] });
  });
});

describe('HintQueue: a newer version of a key replaces the queued one', () => {
  it.each([
    // [what, first version, second version, add result, version kept]
    ['a newer timestamp replaces', v(10), v(20), 'replaced', v(20)],
    ['a newer counter replaces', v(10, 1), v(10, 2), 'replaced', v(10, 2)],
    ['an older version is ignored', v(20), v(10), 'older', v(20)],
    ['the same version is ignored', v(20), v(20), 'older', v(20)],
  ] as const)('%s', (_what, first, second, result, kept) => {
    const q = queue();
    q.add('n1', 5, 'k', first, val(8), 0);
    expect(q.add('n1', 5, 'k', second, val(8), 1)).toBe(result);
    expect(q.pending('n1').map((h) => h.ver)).toEqual([kept]);
    expect(q.stats()).toMatchObject({ queued: 2, replaced: 1, hints: 1, bytes: cost('k', 8) });
  });

  it('moves the replacement to the back (the queue stays in write order) and charges its own size', () => {
    const q = queue();
    q.add('n1', 0, 'a', v(1), val(10), 0);
    q.add('n1', 0, 'b', v(2), val(10), 0);
    q.add('n1', 0, 'a', v(3), null, 0);
    expect(keysOf(q, 'n1')).toEqual(['b', 'a']);
    expect(q.pending('n1')[1].val).toBeNull();
    expect(q.stats().bytes).toBe(cost('b', 10) + cost('a', 0));
  });

  it('treats the same key in another partition or for another node as another hint', () => {
    const q = queue();
    q.add('n1', 0, 'k', v(1), val(1), 0);
    q.add('n1', 1, 'k', v(2), val(1), 0);
    q.add('n2', 0, 'k', v(3), val(1), 0);
    expect(q.stats()).toMatchObject({ hints: 3, replaced: 0, nodes: 2 });
  });

  it('does not count a hint replaced while in flight as delivered twice', () => {
    const q = queue();
    q.add('n1', 0, 'k', v(1), val(1), 0);
    expect(batchKeys(q, 0)).toEqual({ n1: ['k'] });
    q.add('n1', 0, 'k', v(2), val(1), 1);
    q.onResult('n1', ['delivered'], 2);
    // The newer version is still owed to the node.
    expect(q.pending('n1').map((h) => h.ver)).toEqual([v(2)]);
    expect(q.stats()).toMatchObject({ delivered: 0, replaced: 1, hints: 1 });
  });
});

describe('HintQueue: limits per node', () => {
  it.each([
    // [what, limits, hints to add as [key, value chars], expected results, kept keys]
    ['the count limit refuses the newest', { hintsPerNodeMax: 2 }, [['a', 1], ['b', 1], ['c', 1]], ['queued', 'queued', 'dropped'], ['a', 'b']],
    ['the byte limit refuses the newest', { hintBytesPerNodeMax: cost('a', 100) + cost('b', 100) }, [['a', 100], ['b', 100], ['c', 1]], ['queued', 'queued', 'dropped'], ['a', 'b']],
    ['a hint larger than the byte limit alone is refused', { hintBytesPerNodeMax: 500 }, [['big', 1000], ['a', 1]], ['dropped', 'queued'], ['a']],
    ['replacing a key at the count limit is allowed', { hintsPerNodeMax: 2 }, [['a', 1], ['b', 1], ['a', 1]], ['queued', 'queued', 'replaced'], ['b', 'a']],
    ['replacing with a smaller value at the byte limit is allowed', { hintBytesPerNodeMax: cost('a', 100) + cost('b', 100) }, [['a', 100], ['b', 100], ['a', 50]], ['queued', 'queued', 'replaced'], ['b', 'a']],
  ] as Array<[string, Partial<HintLimits>, Array<[string, number]>, string[], string[]]>)('%s', (_what, limits, adds, results, kept) => {
    const q = queue(limits);
    expect(adds.map(([k, n], i) => q.add('n1', 0, k, v(i + 1), val(n), 0))).toEqual(results);
    expect(keysOf(q, 'n1')).toEqual(kept);
    const dropped = results.filter((r) => r === 'dropped').length;
    expect(q.stats()).toMatchObject({ queued: adds.length, dropped, hints: kept.length });
  });

  it('bounds each node on its own', () => {
    const q = queue({ hintsPerNodeMax: 1 });
    expect(q.add('n1', 0, 'a', v(1), null, 0)).toBe('queued');
    expect(q.add('n1', 0, 'b', v(1), null, 0)).toBe('dropped');
    expect(q.add('n2', 0, 'b', v(1), null, 0)).toBe('queued');
  });

  it('refuses invalid limits when built', () => {
    expect(() => new HintQueue({ hintsPerNodeMax: 0 })).toThrow(/hintsPerNodeMax/);
    expect(() => new HintQueue({ retryBackoffMinMs: 5_000, retryBackoffMaxMs: 1_000 })).toThrow(/retryBackoffMinMs/);
    expect(() => new HintQueue({ deliveryBatchOpsMax: 100_000 })).toThrow(/deliveryBatchOpsMax/);
  });
});

describe('HintQueue: expiry', () => {
  const AGE = 1_000;

  it.each([
    // [what, queued at ms, expire at ms, expired]
    ['younger than the age limit stays', 0, AGE - 1, 0],
    ['exactly at the age limit stays', 0, AGE, 0],
    ['older than the age limit expires', 0, AGE + 1, 1],
  ])('%s', (_what, queuedMs, nowMs, expired) => {
    const q = queue({ hintAgeMaxMs: AGE });
    q.add('n1', 0, 'k', v(1), val(1), queuedMs);
    expect(q.expire(nowMs)).toBe(expired);
    expect(q.stats()).toMatchObject({ expired, hints: 1 - expired, bytes: expired ? 0 : cost('k', 1) });
  });

  it('expires the oldest of every node and keeps the rest in order', () => {
    const q = queue({ hintAgeMaxMs: AGE });
    q.add('n1', 0, 'old-1', v(1), val(1), 0);
    q.add('n2', 0, 'old-2', v(1), val(1), 100);
    q.add('n1', 0, 'new-1', v(2), val(1), 600);
    q.add('n1', 0, 'newer-1', v(3), val(1), 700);
    expect(q.expire(1_200)).toBe(2);
    expect(keysOf(q, 'n1')).toEqual(['new-1', 'newer-1']);
    expect(keysOf(q, 'n2')).toEqual([]);
    expect(q.stats()).toMatchObject({ expired: 2, hints: 2, nodes: 1 });
  });

  it('gives a replaced hint the age of its newest version', () => {
    const q = queue({ hintAgeMaxMs: AGE });
    q.add('n1', 0, 'k', v(1), val(1), 0);
    q.add('n1', 0, 'k', v(2), val(1), 800);
    expect(q.expire(1_500)).toBe(0);
    expect(q.expire(1_801)).toBe(1);
  });

  it('does not count a hint that expired in flight again when its result arrives', () => {
    const q = queue({ hintAgeMaxMs: AGE });
    q.add('n1', 0, 'k', v(1), val(1), 0);
    expect(batchKeys(q, 0)).toEqual({ n1: ['k'] });
    expect(q.expire(AGE + 1)).toBe(1);
    q.onResult('n1', ['delivered'], AGE + 2);
    expect(q.stats()).toMatchObject({ expired: 1, delivered: 0, hints: 0 });
  });
});

describe('HintQueue: retries back off', () => {
  const MIN = 100;
  const MAX = 700;

  it('waits min, then doubles up to max, and a success resets the pause', () => {
    const q = queue({ retryBackoffMinMs: MIN, retryBackoffMaxMs: MAX });
    q.add('n1', 0, 'k', v(1), val(1), 0);
    // [time of the failure, pause it sets]
    const failures: Array<[number, number]> = [[0, 100], [100, 200], [300, 400], [700, 700], [1_400, 700]];
    for (const [at, pause] of failures) {
      expect(batchKeys(q, at)).toEqual({ n1: ['k'] });
      q.onResult('n1', ['retry'], at);
      expect(batchKeys(q, at + pause - 1)).toEqual({});
    }
    expect(batchKeys(q, 2_100)).toEqual({ n1: ['k'] });
    q.onResult('n1', ['delivered'], 2_100);
    q.add('n1', 0, 'k2', v(2), val(1), 2_100);
    expect(batchKeys(q, 2_100)).toEqual({ n1: ['k2'] });
    q.onResult('n1', ['retry'], 2_100);
    expect(batchKeys(q, 2_100 + MIN - 1)).toEqual({});
    expect(batchKeys(q, 2_100 + MIN)).toEqual({ n1: ['k2'] });
  });

  it('keeps the hints that failed and removes those delivered in the same batch', () => {
    const q = queue({ retryBackoffMinMs: MIN, retryBackoffMaxMs: MAX });
    for (const k of ['a', 'b', 'c']) q.add('n1', 0, k, v(1), val(1), 0);
    q.nextBatch(0, up);
    q.onResult('n1', ['delivered', 'retry', 'delivered'], 0);
    expect(keysOf(q, 'n1')).toEqual(['b']);
    expect(batchKeys(q, MIN)).toEqual({ n1: ['b'] });
  });

  it('retries at once a node that comes back up, whatever the pause', () => {
    const q = queue({ retryBackoffMinMs: MIN, retryBackoffMaxMs: MAX });
    q.add('n1', 0, 'k', v(1), val(1), 0);
    for (let t = 0; t < 5; t++) {
      q.nextBatch(t * MAX, up);
      q.onResult('n1', ['retry'], t * MAX);
    }
    expect(batchKeys(q, 4 * MAX + 1, () => false)).toEqual({});
    expect(batchKeys(q, 4 * MAX + 2)).toEqual({ n1: ['k'] });
  });
});

describe('HintQueue: delivery is throttled by a byte budget per second', () => {
  it('sends about deliveryBytesPerSecMax bytes per second over all nodes', () => {
    const hintBytes = cost('k00', 236);
    expect(hintBytes).toBe(307);
    const q = new HintQueue({ deliveryBytesPerSecMax: 1_000 });
    for (let i = 0; i < 50; i++) q.add(i % 2 ? 'n1' : 'n2', 0, `k${String(i).padStart(2, '0')}`, v(1), val(236), 0);
    // [time, hints that may leave]: the bucket starts full (1000 bytes) and a hint may leave
    // while any budget is left, so 4 go first (1000 - 3 x 307 > 0) and the budget is 228 in debt.
    const steps: Array<[number, number]> = [[0, 4], [0, 0], [200, 0], [300, 1], [600, 1], [1_000, 1]];
    let sent = 0;
    for (const [t, n] of steps) {
      const batches = q.nextBatch(t, up);
      const count = batches.reduce((a, b) => a + b.hints.length, 0);
      expect([t, count]).toEqual([t, n]);
      for (const b of batches) q.onResult(b.node, b.hints.map((): HintOutcome => 'delivered'), t);
      sent += count;
    }
    // Over one second: the first second's budget plus one hint of debt.
    expect(sent * hintBytes).toBeLessThanOrEqual(2 * 1_000 + hintBytes);
    expect(q.stats().delivered).toBe(sent);
  });

  it('does not let an idle spell buy more than one second of budget', () => {
    const q = new HintQueue({ deliveryBytesPerSecMax: 1_000 });
    for (let i = 0; i < 20; i++) q.add('n1', 0, `k${String(i).padStart(2, '0')}`, v(1), val(236), 0);
    q.nextBatch(0, () => false);
    const batch = q.nextBatch(60_000, up);
    expect(batch[0].hints).toHaveLength(4);
  });

  it('always lets one hint larger than the whole budget through, in debt', () => {
    const q = new HintQueue({ deliveryBytesPerSecMax: 100 });
    q.add('n1', 0, 'big', v(1), val(1_000), 0);
    q.add('n1', 0, 'next', v(2), val(1), 0);
    expect(batchKeys(q, 0)).toEqual({ n1: ['big'] });
    q.onResult('n1', ['delivered'], 0);
    expect(batchKeys(q, 5_000)).toEqual({});
    expect(batchKeys(q, 11_000)).toEqual({ n1: ['next'] });
  });

  it('takes turns among nodes when the budget is short', () => {
    const q = new HintQueue({ deliveryBytesPerSecMax: 1 });
    for (const n of ['n1', 'n2', 'n3']) for (const k of ['a', 'b']) q.add(n, 0, k, v(1), val(1), 0);
    const served: string[] = [];
    for (let t = 0; t < 3; t++) {
      const batches = q.nextBatch(t * 1_000_000, up);
      expect(batches).toHaveLength(1);
      served.push(batches[0].node);
      q.onResult(batches[0].node, ['delivered'], t * 1_000_000);
    }
    expect(served.sort()).toEqual(['n1', 'n2', 'n3']);
  });
});

describe('HintQueue: a node that no longer holds the partition drops the hint', () => {
  const ok: WireResult = { ok: true, outcome: 'applied' };
  it.each([
    // [what, reply (null: no answer), epoch the hint was sent under, outcome]
    ['applied', { result: ok, epoch: 5 }, 5, 'delivered'],
    ['duplicate', { result: { ok: true, outcome: 'duplicate' }, epoch: 5 }, 5, 'delivered'],
    ['stale: the node holds a newer version', { result: { ok: true, outcome: 'stale', cur: v(9) }, epoch: 5 }, 5, 'delivered'],
    ['no answer (unreachable, timed out)', null, 5, 'retry'],
    ['wrong node with a newer epoch', { result: { ok: false, code: 'FOG_ERR_WRONG_NODE' }, epoch: 6 }, 5, 'drop'],
    ['wrong node with the same epoch', { result: { ok: false, code: 'FOG_ERR_WRONG_NODE' }, epoch: 5 }, 5, 'drop'],
    ['wrong node with an older epoch (its table is behind)', { result: { ok: false, code: 'FOG_ERR_WRONG_NODE' }, epoch: 4 }, 5, 'retry'],
    ['disk full', { result: { ok: false, code: 'FOG_ERR_INSUFFICIENT_STORAGE' }, epoch: 5 }, 5, 'retry'],
    ['memory limit', { result: { ok: false, code: 'FOG_ERR_MEMORY_LIMIT' }, epoch: 5 }, 5, 'retry'],
    ['no table yet', { result: { ok: false, code: 'FOG_ERR_NO_TABLE' }, epoch: 0 }, 5, 'retry'],
    ['malformed', { result: { ok: false, code: 'FOG_ERR_BAD_REQUEST' }, epoch: 5 }, 5, 'drop'],
  ] as Array<[string, { result: WireResult; epoch: number } | null, number, HintOutcome]>)('%s', (_what, reply, sentEpoch, outcome) => {
    expect(hintOutcomeOf(reply, sentEpoch)).toBe(outcome);
  });

  it('removes and counts a dropped hint, delivers the rest, and does not pause the node', () => {
    const q = queue({ retryBackoffMinMs: 1_000 });
    q.add('n1', 1, 'moved', v(1), val(1), 0);
    q.add('n1', 2, 'kept', v(2), val(1), 0);
    q.add('n1', 2, 'later', v(3), val(1), 0);
    expect(batchKeys(q, 0, up)).toEqual({ n1: ['moved', 'kept', 'later'] });
    q.onResult('n1', [hintOutcomeOf({ result: { ok: false, code: 'FOG_ERR_WRONG_NODE' }, epoch: 7 }, 6), 'delivered', 'retry'], 0);
    expect(q.stats()).toMatchObject({ dropped: 1, delivered: 1, hints: 1 });
    expect(keysOf(q, 'n1')).toEqual(['later']);
  });
});
