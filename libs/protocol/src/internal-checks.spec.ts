import type { PartitionTable } from './cluster';
import { opsRequestProblem, opsVersionAheadProblem, versionAheadProblem } from './ops-check';
import { tableProblem, type HeldTable } from './table-check';
import type { OpsRequest } from './wire';

const node = (id: string, port: number) => ({ id, address: `127.0.0.1:${port}`, zone: 'z1', weight: 1, state: 'up' });

/** A valid D=1, K=2 table over three nodes. */
function goodTable(epoch = 5): PartitionTable {
  const ids = ['a', 'b', 'c'];
  return {
    epoch,
    digits: 1,
    redundancy: 2,
    partitions: Array.from({ length: 16 }, (_, p) => ({ replicas: [ids[p % 3], ids[(p + 1) % 3]], pending: [], why: ['x', 'y'] })),
    nodes: { a: node('a', 1), b: node('b', 2), c: node('c', 3) } as PartitionTable['nodes'],
  };
}

const held: HeldTable = { epoch: 5, digits: 1, redundancy: 2 };

describe('tableProblem', () => {
  const mutate = (f: (t: Record<string, unknown>) => void) => {
    const t = JSON.parse(JSON.stringify(goodTable(6))) as Record<string, unknown>;
    f(t);
    return t;
  };
  const parts = (t: Record<string, unknown>) => t.partitions as Array<Record<string, unknown>>;

  it.each<[string, unknown, HeldTable | null, string | null]>([
    ['a good table with a newer epoch', goodTable(6), held, null],
    ['a good table as the first one', goodTable(1), null, null],
    ['the same epoch again (a resend)', goodTable(5), held, null],
    ['the hostile table: epoch 1e15, no partitions', { epoch: 1e15, partitions: [] }, held, 'malformed'],
    ['epoch 1e15 with no partitions but the right shape otherwise', mutate((t) => { t.epoch = 1e15; t.partitions = []; }), held, 'mismatch'],
    ['epoch 1e15 with no partitions, first table', mutate((t) => { t.epoch = 1e15; t.partitions = []; }), null, 'mismatch'],
    ['null', null, held, 'malformed'],
    ['an array', [], held, 'malformed'],
    ['a string', 'table', held, 'malformed'],
    ['epoch NaN', mutate((t) => { t.epoch = 'NaN'; }), held, 'malformed'],
    ['epoch above 2^53', mutate((t) => { t.epoch = 2 ** 60; }), held, 'malformed'],
    ['epoch 0', mutate((t) => { t.epoch = 0; }), null, 'malformed'],
    ['an older epoch', goodTable(4), held, 'stale_epoch'],
    ['another D', mutate((t) => { t.digits = 2; }), held, 'mismatch'],
    ['another K', mutate((t) => { t.redundancy = 3; }), held, 'mismatch'],
    ['D out of range', mutate((t) => { t.digits = 9; }), null, 'malformed'],
    ['15 partitions', mutate((t) => { parts(t).pop(); }), held, 'mismatch'],
    ['a null partition', mutate((t) => { parts(t)[3] = null as unknown as Record<string, unknown>; }), held, 'malformed'],
    ['a partition without replicas', mutate((t) => { parts(t)[3].replicas = []; }), held, 'malformed'],
    ['more than K replicas', mutate((t) => { parts(t)[3].replicas = ['a', 'b', 'c']; }), held, 'malformed'],
    ['a node twice', mutate((t) => { parts(t)[3].replicas = ['a', 'a']; }), held, 'malformed'],
    ['a node both active and pending', mutate((t) => { parts(t)[3].pending = ['a']; parts(t)[3].replicas = ['a', 'b']; }), held, 'malformed'],
    ['an unknown node', mutate((t) => { parts(t)[3].replicas = ['a', 'ghost']; }), held, 'malformed'],
    ['a null inside replicas', mutate((t) => { parts(t)[3].replicas = ['a', null]; }), held, 'malformed'],
    ['a number inside pending', mutate((t) => { parts(t)[3].pending = [7]; }), held, 'malformed'],
    ['why not a list', mutate((t) => { parts(t)[3].why = 'x'; }), held, 'malformed'],
    ['no nodes', mutate((t) => { t.nodes = {}; }), held, 'malformed'],
    ['a node with a bad address', mutate((t) => { (t.nodes as Record<string, Record<string, unknown>>).a.address = 'nowhere'; }), held, 'malformed'],
    ['a node whose id differs from its key', mutate((t) => { (t.nodes as Record<string, Record<string, unknown>>).a.id = 'b'; }), held, 'malformed'],
    ['a node with weight NaN', mutate((t) => { (t.nodes as Record<string, Record<string, unknown>>).a.weight = NaN; }), held, 'malformed'],
    ['a node with an unknown state', mutate((t) => { (t.nodes as Record<string, Record<string, unknown>>).a.state = 'zombie'; }), held, 'malformed'],
  ])('%s', (_name, table, h, want) => {
    expect(tableProblem(table, h)?.reason ?? null).toBe(want);
  });

  it('refuses more nodes than the named limit', () => {
    expect(tableProblem(goodTable(6), held, 2)?.reason).toBe('malformed');
    expect(tableProblem(goodTable(6), held, 3)).toBeNull();
  });

  it('maps a stale epoch to FOG_ERR_STALE_EPOCH and everything else to FOG_ERR_BAD_TABLE', () => {
    expect(tableProblem(goodTable(4), held)?.code).toBe('FOG_ERR_STALE_EPOCH');
    expect(tableProblem({ epoch: 1e15, partitions: [] }, held)?.code).toBe('FOG_ERR_BAD_TABLE');
  });
});

describe('opsRequestProblem', () => {
  const ver = { ms: 1000, c: 0, w: 'fe-1' };
  const limits = { batchOpsMax: 4, partitions: 16 };
  const req = (...ops: unknown[]) => ({ epoch: 3, ops });

  it.each<[string, unknown, string | null]>([
    ['a get', req({ op: 'get', p: 1, key: 'k' }), null],
    ['a put', req({ op: 'put', p: 1, key: 'k', ver, val: 'aGk=' }), null],
    ['a tombstone put with cas', req({ op: 'put', p: 1, key: 'k', ver, val: null, cas: true }), null],
    ['a scan', req({ op: 'scan', p: 0, prefix: 'b/', after: null, limit: 10 }), null],
    ['a prepare', req({ op: 'prepare', p: 0, key: 'k', ballot: ver }), null],
    ['a propose', req({ op: 'propose', p: 0, key: 'k', ballot: ver, entry: { ver, val: 'eA==' }, base: null }), null],
    ['no ops', req(), null],
    ['null body', null, 'malformed'],
    ['ops missing', { epoch: 1 }, 'malformed'],
    ['ops not an array', { epoch: 1, ops: {} }, 'malformed'],
    ['epoch a string', { epoch: '1', ops: [] }, 'malformed'],
    ['epoch negative', { epoch: -1, ops: [] }, 'malformed'],
    ['epoch NaN-like huge', { epoch: 1e300, ops: [] }, 'malformed'],
    ['null op', req(null), 'malformed'],
    ['null op after a good one', req({ op: 'get', p: 1, key: 'k' }, null), 'malformed'],
    ['an array op', req([]), 'malformed'],
    ['a number op', req(42), 'malformed'],
    ['unknown op', req({ op: 'drop', p: 1, key: 'k' }), 'malformed'],
    ['partition out of range', req({ op: 'get', p: 16, key: 'k' }), 'malformed'],
    ['partition fractional', req({ op: 'get', p: 1.5, key: 'k' }), 'malformed'],
    ['partition huge', req({ op: 'get', p: 1e300, key: 'k' }), 'malformed'],
    ['key null', req({ op: 'get', p: 1, key: null }), 'malformed'],
    ['key a number', req({ op: 'get', p: 1, key: 7 }), 'malformed'],
    ['put without version', req({ op: 'put', p: 1, key: 'k', val: 'x' }), 'malformed'],
    ['put with version ms above 2^53', req({ op: 'put', p: 1, key: 'k', ver: { ms: 2 ** 60, c: 0, w: 'f' }, val: 'x' }), 'malformed'],
    ['put with a negative counter', req({ op: 'put', p: 1, key: 'k', ver: { ms: 1, c: -1, w: 'f' }, val: 'x' }), 'malformed'],
    ['put with a bad writer id', req({ op: 'put', p: 1, key: 'k', ver: { ms: 1, c: 0, w: 'a b' }, val: 'x' }), 'malformed'],
    ['put with a numeric value', req({ op: 'put', p: 1, key: 'k', ver, val: 5 }), 'malformed'],
    ['a read repair put', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', via: 'repair' }), null],
    ['a hint put', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', via: 'hint' }), null],
    ['put with an unknown via', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', via: 'gossip' }), 'malformed'],
    ['put with cas false', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', cas: false }), 'malformed'],
    ['a put with an expiry', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', exp: 1_700_000_030_000 }), null],
    ['put with a string expiry', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', exp: '5' }), 'malformed'],
    ['put with a zero expiry', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', exp: 0 }), 'malformed'],
    ['put with an expiry beyond safe integers', req({ op: 'put', p: 1, key: 'k', ver, val: 'x', exp: 2 ** 60 }), 'malformed'],
    ['propose with an expiring entry', req({ op: 'propose', p: 0, key: 'k', ballot: ver, entry: { ver, val: 'eA==', exp: 9 }, base: null }), null],
    ['propose with a fractional expiry', req({ op: 'propose', p: 0, key: 'k', ballot: ver, entry: { ver, val: 'eA==', exp: 9.5 }, base: null }), 'malformed'],
    ['scan with limit 0', req({ op: 'scan', p: 0, prefix: '', after: null, limit: 0 }), 'malformed'],
    ['scan with a numeric cursor', req({ op: 'scan', p: 0, prefix: '', after: 3, limit: 1 }), 'malformed'],
    ['prepare without a ballot', req({ op: 'prepare', p: 0, key: 'k' }), 'malformed'],
    ['propose with a null entry', req({ op: 'propose', p: 0, key: 'k', ballot: ver, entry: null, base: null }), 'malformed'],
    ['propose with a bad base', req({ op: 'propose', p: 0, key: 'k', ballot: ver, entry: { ver, val: null }, base: 3 }), 'malformed'],
    ['too many ops', req(...Array.from({ length: 5 }, () => ({ op: 'get', p: 1, key: 'k' }))), 'too_many_ops'],
  ])('%s', (_name, body, want) => {
    expect(opsRequestProblem(body, limits)?.reason ?? null).toBe(want);
  });

  it('checks partition numbers against the table only when one is held', () => {
    expect(opsRequestProblem(req({ op: 'get', p: 300, key: 'k' }), { batchOpsMax: 4, partitions: null })).toBeNull();
  });
});

describe('version ahead of the clock', () => {
  const now = 1_000_000;
  const aheadMax = 60_000;
  const put = (ms: number) => ({ op: 'put' as const, p: 0, key: 'k', ver: { ms, c: 0, w: 'f' }, val: null });

  it.each<[string, OpsRequest, boolean]>([
    ['a stamp from the past', { epoch: 1, ops: [put(5)] }, false],
    ['a stamp exactly at the limit', { epoch: 1, ops: [put(now + aheadMax)] }, false],
    ['a stamp 1 ms beyond the limit', { epoch: 1, ops: [put(now + aheadMax + 1)] }, true],
    ['the hostile stamp 2^53-1', { epoch: 1, ops: [put(Number.MAX_SAFE_INTEGER)] }, true],
    ['a far ballot in prepare', { epoch: 1, ops: [{ op: 'prepare', p: 0, key: 'k', ballot: { ms: now * 10, c: 0, w: 'f' } }] }, true],
    ['a far entry inside propose', { epoch: 1, ops: [{ op: 'propose', p: 0, key: 'k', ballot: { ms: now, c: 0, w: 'f' }, entry: { ver: { ms: now * 10, c: 0, w: 'f' }, val: null }, base: null }] }, true],
    ['gets carry no versions', { epoch: 1, ops: [{ op: 'get', p: 0, key: 'k' }] }, false],
  ])('%s', (_name, body, refused) => {
    const problem = opsVersionAheadProblem(body, now, aheadMax);
    expect(problem?.code ?? null).toBe(refused ? 'FOG_ERR_VERSION_AHEAD' : null);
  });

  it('checks any list of versions (anti-entropy entries)', () => {
    expect(versionAheadProblem([{ ms: 1 }, { ms: now + aheadMax + 1 }], now, aheadMax)?.reason).toBe('version_ahead');
    expect(versionAheadProblem([{ ms: 1 }, null, 'x'], now, aheadMax)).toBeNull();
  });
});
