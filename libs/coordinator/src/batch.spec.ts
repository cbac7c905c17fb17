import { HybridClock } from '@fog/clock';
import { partitionOf } from '@fog/partitioning';
import type { ErrorCode, OpsRequest, PartitionTable, Version, WireOp, WireResult } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { runBatch, type BatchOp, type BatchOutcome } from './batch';
import { COORDINATOR_DEFAULTS, Coordinator } from './coordinator';
import { NO_EVENTS, type CoordinatorEvents, type ReplicaOutcome } from './outcomes';
import type { ReplicaBatchReply, ReplicaReply, ReplicaTransport } from './replica-transport';

const DIGITS = 1;

/**
 * In-process replicas behind a transport that takes many operations at once (as the binary
 * client does), with switches for failures; records every call.
 */
class ManyCluster implements ReplicaTransport {
  readonly engines = new Map<string, ReplicaEngine>();
  readonly down = new Set<string>();
  /** Nodes that refuse every write with this code. */
  readonly refuse = new Map<string, ErrorCode>();
  /** Nodes that answer a multi-operation call with one result too few. */
  readonly truncate = new Set<string>();
  /** Nodes whose calls wait (unanswered) until release(). */
  readonly holding = new Set<string>();
  private held: Array<() => void> = [];
  wallMs = 1_000_000;
  calls: Array<{ address: string; ops: WireOp[] }> = [];
  singles: Array<{ address: string; op: WireOp }> = [];

  constructor(ids: string[]) {
    for (const id of ids) this.engines.set(id, new ReplicaEngine(id));
  }

  release(): void {
    this.holding.clear();
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.singles.push({ address, op });
    const reply = await this.answer(address, epoch, [op]);
    return { result: reply.results[0], epoch: reply.epoch, clock: reply.clock };
  }

  async sendMany(address: string, epoch: number, ops: WireOp[]): Promise<ReplicaBatchReply> {
    this.calls.push({ address, ops });
    const reply = await this.answer(address, epoch, ops);
    if (this.truncate.has(address)) reply.results.pop();
    return reply;
  }

  publish(table: PartitionTable): void {
    for (const e of this.engines.values()) e.offerTable(table);
  }

  stored(id: string, key: string): string | null | undefined {
    const e = this.engine(id).store.get(partitionOf(key, DIGITS), key);
    return e ? (e.value === null ? null : e.value.toString()) : undefined;
  }

  private engine(id: string): ReplicaEngine {
    const engine = this.engines.get(id);
    if (!engine) throw new Error(`no replica ${id}`);
    return engine;
  }

  private async answer(address: string, epoch: number, ops: WireOp[]): Promise<ReplicaBatchReply> {
    await Promise.resolve();
    if (this.holding.has(address)) await new Promise<void>((go) => this.held.push(go));
    if (this.down.has(address)) throw new Error('ECONNREFUSED');
    const engine = this.engine(address);
    const res = engine.handle({ epoch, ops } as OpsRequest, this.wallMs);
    const refusal = this.refuse.get(address);
    const results: WireResult[] = res.results.map((r, i) => (refusal && ops[i].op === 'put' ? { ok: false, code: refusal } : r));
    return { results, epoch: res.epoch, clock: res.clock };
  }
}

function tableFor(ids: string[], epoch = 1, extra: string[] = []): PartitionTable {
  const nodes: PartitionTable['nodes'] = {};
  for (const id of [...ids, ...extra]) nodes[id] = { id, address: id, zone: 'z', weight: 1, state: 'up' };
  return { epoch, digits: DIGITS, redundancy: ids.length, partitions: Array.from({ length: 16 }, () => ({ replicas: [...ids], pending: [] })), nodes };
}

interface Recorded {
  outcomes: Map<string, number>;
  missed: string[];
  restamps: number;
  unreachable: string[];
}

function coordinator(cluster: ManyCluster, table: { current: PartitionTable }, writerId: string, skewMs = 0, refresh = async () => undefined) {
  const seen: Recorded = { outcomes: new Map(), missed: [], restamps: 0, unreachable: [] };
  const count = (op: string, outcome: ReplicaOutcome, n: number) => seen.outcomes.set(`${op}:${outcome}`, (seen.outcomes.get(`${op}:${outcome}`) ?? 0) + n);
  const events: CoordinatorEvents = {
    ...NO_EVENTS,
    replicaOutcome: (op, outcome) => count(op, outcome, 1),
    replicaOutcomes: (op, outcome, n) => count(op, outcome, n),
    restamp: () => void seen.restamps++,
    unreachable: (id) => void seen.unreachable.push(id),
    missedWrite: (id, _p, key, _ver, val) => void seen.missed.push(`${id}:${key}=${val === null ? null : Buffer.from(val, 'base64').toString()}`),
  };
  const fe = new Coordinator({
    events, transport: cluster, clock: new HybridClock(), nowMs: () => cluster.wallMs + skewMs, random: () => 0.5, writerId, table: () => table.current, refreshTable: refresh,
  });
  return { fe, seen };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
const puts = (keys: string[], value = (k: string) => `v:${k}`): BatchOp[] => keys.map((key) => ({ op: 'put', key, value: Buffer.from(value(key)) }));
const keysN = (n: number, prefix = 'k') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const ok = (o: BatchOutcome) => (o.ok ? o : (() => { throw new Error(`${o.key}: ${o.error.code}`); })());
const ver = (o: BatchOutcome): Version => {
  const x = ok(o);
  if (x.op === 'get') throw new Error('not a write');
  return x.ver;
};
const newer = (a: Version, b: Version) => a.ms > b.ms || (a.ms === b.ms && a.c > b.c);

describe('runBatch over a transport that takes many operations at once', () => {
  const ids = ['a', 'b', 'c'];
  let cluster: ManyCluster;
  let table: { current: PartitionTable };

  beforeEach(() => {
    cluster = new ManyCluster(ids);
    table = { current: tableFor(ids) };
    cluster.publish(table.current);
  });

  it('sends the writes for each replica in one call and acknowledges every op with its own version', async () => {
    const { fe, seen } = coordinator(cluster, table, 'fe1');
    const keys = keysN(40);
    const out = await runBatch(fe, puts(keys), 2, 2);
    expect(out.map((o) => ok(o).key)).toEqual(keys);
    expect(cluster.calls.map((c) => [c.address, c.ops.length]).sort()).toEqual([['a', 40], ['b', 40], ['c', 40]]);
    expect(cluster.singles).toEqual([]);
    expect(new Set(out.map((o) => JSON.stringify(ver(o)))).size).toBe(40);
    await settle();
    for (const id of ids) for (const k of keys) expect(cluster.stored(id, k)).toBe(`v:${k}`);
    expect(seen.outcomes.get('put:ok')).toBe(120);
    expect(seen.missed).toEqual([]);
  });

  it('splits a replica\'s share above batchOpsPerReplicaCallMax into even calls, in partition order', async () => {
    const { fe } = coordinator(cluster, table, 'fe1');
    const n = COORDINATOR_DEFAULTS.batchOpsPerReplicaCallMax + 10;
    await runBatch(fe, puts(keysN(n)), 2, 2);
    const toA = cluster.calls.filter((c) => c.address === 'a');
    expect(toA.map((c) => c.ops.length)).toEqual([Math.ceil(n / 2), Math.floor(n / 2)]);
    const partitions = toA.flatMap((c) => c.ops.map((o) => o.p));
    expect(partitions).toEqual([...partitions].sort((x, y) => x - y));
  });

  it('acknowledges at quorum with a replica down, counts its operations as unreachable once per call, and hints every write it missed', async () => {
    cluster.down.add('c');
    const { fe, seen } = coordinator(cluster, table, 'fe1');
    const out = await runBatch(fe, [...puts(['k1', 'k2']), { op: 'delete', key: 'k3' }], 2, 2);
    expect(out.map((o) => ok(o).ok && (o as { acks: number }).acks)).toEqual([2, 2, 2]);
    await settle();
    expect(seen.missed.sort()).toEqual(['c:k1=v:k1', 'c:k2=v:k2', 'c:k3=null']);
    expect(seen.outcomes.get('put:unreachable')).toBe(3);
    expect(seen.unreachable).toEqual(['c']);
  });

  it('fails each op whose quorum is gone, with the replicas that answered, and hints nothing', async () => {
    cluster.down.add('b');
    cluster.down.add('c');
    const { fe, seen } = coordinator(cluster, table, 'fe1');
    const out = await runBatch(fe, puts(['k1', 'k2']), 2, 2);
    for (const o of out) expect(o).toMatchObject({ ok: false, error: { code: 'FOG_ERR_QUORUM_NOT_MET', details: { required: 2, answered: 1, replicas: 3 } } });
    await settle();
    expect(seen.missed).toEqual([]);
  });

  it('fails only the ops of the partition that lost its quorum', async () => {
    const four = new ManyCluster(['a', 'b', 'c', 'd']);
    const t = tableFor(['a', 'b', 'c'], 1, ['d']);
    const p1 = partitionOf('k1', DIGITS);
    t.partitions = t.partitions.map((e, p) => (p === p1 ? e : { ...e, replicas: ['b', 'c', 'd'] }));
    four.publish(t);
    four.down.add('a');
    four.down.add('b');
    const { fe } = coordinator(four, { current: t }, 'fe1');
    const others = keysN(30).filter((k) => partitionOf(k, DIGITS) !== p1).slice(0, 5);
    const out = await runBatch(fe, puts(['k1', ...others]), 2, 2);
    expect(out[0]).toMatchObject({ ok: false, error: { code: 'FOG_ERR_QUORUM_NOT_MET' } });
    for (const o of out.slice(1)) expect(o.ok).toBe(true);
  });

  it('tells a storage refusal when every replica refused for that reason, and counts mixed causes', async () => {
    for (const id of ids) cluster.refuse.set(id, 'FOG_ERR_INSUFFICIENT_STORAGE');
    const { fe } = coordinator(cluster, table, 'fe1');
    const [full] = await runBatch(fe, puts(['k1']), 2, 2);
    expect(full).toMatchObject({ ok: false, error: { code: 'FOG_ERR_INSUFFICIENT_STORAGE' } });
    cluster.refuse.set('a', 'FOG_ERR_MEMORY_LIMIT');
    cluster.refuse.delete('c');
    const [mixed] = await runBatch(fe, puts(['k2']), 2, 2);
    expect(mixed).toMatchObject({
      ok: false, error: { code: 'FOG_ERR_QUORUM_NOT_MET', details: { answered: 1, replicaErrors: { FOG_ERR_MEMORY_LIMIT: 1, FOG_ERR_INSUFFICIENT_STORAGE: 1 } } },
    });
  });

  it('counts a replica that answers a call with too few results as an error for every op in it', async () => {
    cluster.truncate.add('b');
    const { fe, seen } = coordinator(cluster, table, 'fe1');
    const out = await runBatch(fe, puts(['k1', 'k2']), 2, 2);
    for (const o of out) expect(o).toMatchObject({ ok: true, acks: 2 });
    await settle();
    expect(seen.outcomes.get('put:error')).toBe(2);
    expect(seen.missed.sort()).toEqual(['b:k1=v:k1', 'b:k2=v:k2']);
  });

  it('re-stamps each write a replica holds a newer version of, above that version', async () => {
    const ahead = coordinator(cluster, table, 'fe-ahead', 60_000).fe;
    const first = await runBatch(ahead, puts(['k1', 'k2', 'k3']), 2, 3);
    const behind = coordinator(cluster, table, 'fe-behind');
    const second = await runBatch(behind.fe, [...puts(['k1', 'k2'], () => 'later'), { op: 'put', key: 'fresh', value: Buffer.from('f') }], 2, 2);
    expect(newer(ver(second[0]), ver(first[0]))).toBe(true);
    expect(newer(ver(second[1]), ver(first[1]))).toBe(true);
    expect(behind.seen.restamps).toBe(2);
    const read = await runBatch(behind.fe, [{ op: 'get', key: 'k1' }, { op: 'get', key: 'k3' }], 3, 2);
    expect(read.map((o) => (o.ok && o.op === 'get' ? o.entry?.value?.toString() : null))).toEqual(['later', 'v:k3']);
  });

  it('refetches the table once when replicas fence the batch with a newer one, and writes under it', async () => {
    const four = new ManyCluster(['a', 'b', 'c', 'd']);
    const oldTable = tableFor(['a', 'b', 'c'], 1, ['d']);
    const newTable = tableFor(['b', 'c', 'd'], 2, ['a']);
    four.publish(newTable);
    const t = { current: oldTable };
    let refreshes = 0;
    const { fe } = coordinator(four, t, 'fe1', 0, async () => {
      refreshes++;
      t.current = newTable;
    });
    // Under epoch 2, a holds nothing: it refuses as the wrong node, so a quorum needs d.
    const out = await runBatch(fe, puts(['k1', 'k2']), 2, 3);
    for (const o of out) expect(o).toMatchObject({ ok: true, acks: 3 });
    expect(refreshes).toBeGreaterThanOrEqual(1);
    for (const k of ['k1', 'k2']) expect(four.stored('d', k)).toBe(`v:${k}`);
  });

  it('runs ops on one key in request order: each sees the one before, whatever else the batch holds', async () => {
    const { fe } = coordinator(cluster, table, 'fe1');
    await runBatch(fe, puts(['gone']), 2, 2);
    const out = await runBatch(fe, [
      { op: 'put', key: 'k', value: Buffer.from('1') },
      { op: 'get', key: 'k' },
      { op: 'put', key: 'other', value: Buffer.from('o') },
      { op: 'put', key: 'k', value: Buffer.from('2') },
      { op: 'get', key: 'k' },
      { op: 'delete', key: 'k' },
      { op: 'get', key: 'k' },
      { op: 'get', key: 'gone' },
      { op: 'delete', key: 'gone' },
      { op: 'get', key: 'gone' },
    ], 2, 2);
    const value = (o: BatchOutcome) => (o.ok && o.op === 'get' ? (o.entry ? o.entry.value?.toString() ?? null : 'absent') : '-');
    expect(out.map(value)).toEqual(['-', '1', '-', '-', '2', '-', null, 'v:gone', '-', null]);
    expect(newer(ver(out[3]), ver(out[0]))).toBe(true);
    expect(newer(ver(out[5]), ver(out[3]))).toBe(true);
  });

  it('lets a batch write join a write of its key already in flight at this frontend', async () => {
    const { fe } = coordinator(cluster, table, 'fe1');
    cluster.holding.add('a');
    cluster.holding.add('b');
    cluster.holding.add('c');
    const single = fe.write('k', Buffer.from('single'), 2);
    await settle();
    const batch = runBatch(fe, puts(['k', 'j'], (k) => `batch:${k}`), 2, 2);
    await settle();
    cluster.release();
    const [s, b] = await Promise.all([single, batch]);
    expect(newer(ver(b[0]), s.ver)).toBe(true);
    // k waited for the write in flight and went after it as write() sends it; j went packed.
    expect(cluster.singles.filter((m) => m.op.op === 'put' && m.op.key === 'k')).toHaveLength(6);
    expect(cluster.calls.flatMap((c) => c.ops.map((o) => (o.op === 'put' ? o.key : '')))).toEqual(['j', 'j', 'j']);
    const [read] = await runBatch(fe, [{ op: 'get', key: 'k' }], 2, 2);
    expect(read).toMatchObject({ ok: true, entry: { value: Buffer.from('batch:k') } });
  });

  it('reads with one call per replica asked, asks the next replica for the reads a failed call lost, and repairs stale replicas', async () => {
    const { fe } = coordinator(cluster, table, 'fe1');
    cluster.down.add('c');
    const keys = keysN(12);
    await runBatch(fe, puts(keys), 2, 2);
    cluster.down.clear();
    cluster.calls = [];
    // random() = 0.5 orders every partition's replicas alike: a, c first, then b.
    const out = await runBatch(fe, keys.map((key) => ({ op: 'get' as const, key })), 3, 2);
    for (const [i, o] of out.entries()) expect(o).toMatchObject({ ok: true, entry: { value: Buffer.from(`v:${keys[i]}`) } });
    const gets = cluster.calls.filter((c) => c.ops.every((o) => o.op === 'get'));
    expect(gets.map((c) => [c.address, c.ops.length]).sort()).toEqual([['a', 12], ['b', 12], ['c', 12]]);
    await settle();
    for (const k of keys) expect(cluster.stored('c', k)).toBe(`v:${k}`);

    cluster.calls = [];
    cluster.down.add(fe.readOrder(table.current, 0)[0]);
    const again = await runBatch(fe, keys.map((key) => ({ op: 'get' as const, key })), 2, 2);
    for (const o of again) expect(o.ok).toBe(true);
    // The failed first replica's call, then one call to each of the two others.
    expect(cluster.calls).toHaveLength(3);
  });

  it('reads an expired value as missing', async () => {
    const { fe } = coordinator(cluster, table, 'fe1');
    await runBatch(fe, [{ op: 'put', key: 't', value: Buffer.from('brief'), ttlMs: 1000 }], 2, 3);
    cluster.wallMs += 2000;
    const [o] = await runBatch(fe, [{ op: 'get', key: 't' }], 2, 2);
    expect(o).toMatchObject({ ok: true, entry: { value: null } });
  });
});
