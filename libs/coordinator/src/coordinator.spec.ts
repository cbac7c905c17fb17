import { HybridClock } from '@fog/clock';
import type { OpsRequest, PartitionTable, WireOp } from '@fog/protocol';
import { FogError, type ErrorCode } from '@fog/protocol';
import { partitionOf } from '@fog/partitioning';
import { ReplicaEngine } from '@fog/storage-core';
import type { Version } from '@fog/protocol';
import { runBatch } from './batch';
import { Coordinator } from './coordinator';
import { NO_EVENTS, type CoordinatorEvents } from './outcomes';
import type { ReplicaReply, ReplicaTransport } from './replica-transport';

const DIGITS = 1;

/** In-process replicas behind the transport interface, with switches for failures. */
class FakeCluster implements ReplicaTransport {
  readonly engines = new Map<string, ReplicaEngine>();
  readonly down = new Set<string>();
  /** Nodes that refuse every write with this code (a full disk, a memory limit). */
  readonly refuse = new Map<string, ErrorCode>();
  /** Nodes whose requests wait (unanswered) until release(): a replica that answers late. */
  readonly holding = new Set<string>();
  private held: Array<() => void> = [];
  wallMs = 1_000_000;
  sent: Array<{ address: string; op: WireOp }> = [];

  constructor(ids: string[]) {
    for (const id of ids) this.engines.set(id, new ReplicaEngine(id));
  }

  /** Let the held requests through; they meet the node as it is now (down, refusing...). */
  release(): void {
    this.holding.clear();
    const held = this.held;
    this.held = [];
    for (const go of held) go();
  }

  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.sent.push({ address, op });
    await Promise.resolve();
    if (this.holding.has(address)) await new Promise<void>((go) => this.held.push(go));
    if (this.down.has(address)) throw new Error('ECONNREFUSED');
    const engine = this.engines.get(address)!;
    const refusal = this.refuse.get(address);
    if (refusal && op.op === 'put') return { result: { ok: false, code: refusal }, epoch: engine.epoch(), clock: { ms: this.wallMs, c: 0 } };
    const res = engine.handle({ epoch, ops: [op] } as OpsRequest, this.wallMs);
    return { result: res.results[0], epoch: res.epoch, clock: res.clock };
  }

  publish(table: PartitionTable): void {
    for (const e of this.engines.values()) e.offerTable(table);
  }
}

function tableFor(ids: string[], epoch = 1, pending: string[] = []): PartitionTable {
  const nodes: PartitionTable['nodes'] = {};
  for (const id of [...ids, ...pending]) nodes[id] = { id, address: id, zone: 'z', weight: 1, state: 'up' };
  return { epoch, digits: DIGITS, redundancy: ids.length, partitions: Array.from({ length: 16 }, () => ({ replicas: [...ids], pending: [...pending] })), nodes };
}

function makeCoordinator(
  cluster: FakeCluster, table: { current: PartitionTable }, writerId: string, skewMs = 0, refresh = async () => undefined, events: CoordinatorEvents = NO_EVENTS,
) {
  return new Coordinator({
    events,
    transport: cluster,
    clock: new HybridClock(),
    nowMs: () => cluster.wallMs + skewMs,
    random: () => 0.5,
    writerId,
    table: () => table.current,
    refreshTable: refresh,
  });
}

describe('Coordinator', () => {
  const ids = ['a', 'b', 'c'];
  let cluster: FakeCluster;
  let table: { current: PartitionTable };

  beforeEach(() => {
    cluster = new FakeCluster(ids);
    table = { current: tableFor(ids) };
    cluster.publish(table.current);
  });

  it('writes to every replica and reads the value back', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    const w = await fe.write('k', Buffer.from('v1'), 2);
    expect(w.acks).toBeGreaterThanOrEqual(2);
    await new Promise((r) => setImmediate(r));
    for (const e of cluster.engines.values()) expect(e.store.get(partitionOf('k', DIGITS), 'k')?.value?.toString()).toBe('v1');
    const r = await fe.read('k', 2);
    expect(r.entry?.value?.toString()).toBe('v1');
    expect(r.entry?.ver).toEqual(w.ver);
  });

  it('stamps an expiry from the write\'s own stamp on every replica, and reads an expired value as missing', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    const w = await fe.write('t', Buffer.from('brief'), 3, {}, 30_000);
    expect(w.exp).toBe(w.ver.ms + 30_000);
    for (const e of cluster.engines.values()) expect(e.store.get(partitionOf('t', DIGITS), 't')?.exp).toBe(w.exp);
    const live = await fe.read('t', 2);
    expect(live.entry?.value?.toString()).toBe('brief');
    expect(live.entry?.exp).toBe(w.exp);
    cluster.wallMs = w.exp!;
    const gone = await fe.read('t', 2);
    expect(gone.entry).toEqual({ ver: w.ver, value: null });
    // A write without a ttl clears the expiry.
    const plain = await fe.write('t', Buffer.from('kept'), 3);
    expect(plain.exp).toBeUndefined();
    cluster.wallMs += 1_000_000;
    expect((await fe.read('t', 2)).entry?.value?.toString()).toBe('kept');
  });

  it('moves the expiry with a re-stamp, and an append decides on an expired value as on no value', async () => {
    const ahead = makeCoordinator(cluster, table, 'fe-ahead', 5000);
    const behind = makeCoordinator(cluster, table, 'fe-behind');
    const first = await ahead.write('r', Buffer.from('a'), 3);
    const second = await behind.write('r', Buffer.from('b'), 3, {}, 10_000);
    expect(second.ver.ms).toBeGreaterThanOrEqual(first.ver.ms);
    expect(second.exp).toBe(second.ver.ms + 10_000);
    cluster.wallMs = second.exp! + 1;
    const r = await behind.conditionalWrite('r', (cur) => Buffer.concat([cur?.value ?? Buffer.alloc(0), Buffer.from('+')]), 2);
    expect(r.entry.value?.toString()).toBe('+');
  });

  it('a read with a receipt asks more replicas until one holds that version, or says none does', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    await fe.write('rc', Buffer.from('old'), 3);
    // Only replica a takes the new write (w=1): b and c lag.
    cluster.down.add('b');
    cluster.down.add('c');
    const w = await fe.write('rc', Buffer.from('new'), 1);
    cluster.down.clear();
    let extra = 0;
    const counting = makeCoordinator(cluster, table, 'fe2', 0, async () => undefined, { ...NO_EVENTS, receiptRead: (n) => { extra += n; } });
    // Without the receipt an r=1 read that asks a lagging replica first answers the old value ...
    const laggingFirst = () => ['b', 'c', 'a'];
    expect((await counting.read('rc', 1, {}, laggingFirst)).entry?.value?.toString()).toBe('old');
    // ... with it, the read asks on and answers the write.
    const r = await counting.read('rc', 1, {}, laggingFirst, w.ver);
    expect(r.entry?.value?.toString()).toBe('new');
    expect(extra).toBe(2);
    // A receipt no reachable replica can meet.
    cluster.down.add('a');
    await expect(counting.read('rc', 1, {}, undefined, { ...w.ver, ms: w.ver.ms + 60_000 })).rejects.toMatchObject({ code: 'FOG_ERR_RECEIPT_NOT_MET' });
  });

  it('restores an entry with its own version; a newer version written since stays, and later writes stamp above the restored one', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    const old: Version = { ms: cluster.wallMs - 5000, c: 3, w: 'fe-old' };
    expect(await fe.restore('k', old, Buffer.from('backed up'), 2)).toMatchObject({ outcome: 'restored' });
    expect((await fe.read('k', 3)).entry).toEqual({ ver: old, value: Buffer.from('backed up') });
    // Restoring the same entry again changes nothing and is not an error.
    expect(await fe.restore('k', old, Buffer.from('backed up'), 2)).toMatchObject({ outcome: 'restored' });
    const newer = await fe.write('k2', Buffer.from('written since'), 2);
    expect(await fe.restore('k2', old, Buffer.from('backed up'), 2)).toMatchObject({ outcome: 'newer' });
    expect((await fe.read('k2', 3)).entry).toEqual({ ver: newer.ver, value: Buffer.from('written since') });
    // A restored version ahead of this frontend's clock is observed: the next write orders after it.
    const ahead: Version = { ms: cluster.wallMs + 2000, c: 0, w: 'fe-other' };
    await fe.restore('k3', ahead, Buffer.from('from a clock ahead'), 2);
    const after = await fe.write('k3', Buffer.from('later'), 2);
    expect(after.ver.ms).toBeGreaterThanOrEqual(ahead.ms);
    expect((await fe.read('k3', 3)).entry?.value?.toString()).toBe('later');
  });

  it('returns null for a key nobody holds', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    expect((await fe.read('missing', 2)).entry).toBeNull();
  });

  it('keeps serving at quorum with one replica down', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    cluster.down.add('b');
    await fe.write('k', Buffer.from('x'), 2);
    expect((await fe.read('k', 2)).entry?.value?.toString()).toBe('x');
  });

  it('fails with the number of replicas that answered when a quorum is gone', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    cluster.down.add('b');
    cluster.down.add('c');
    await expect(fe.write('k', Buffer.from('x'), 2)).rejects.toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET', details: { required: 2, answered: 1, replicas: 3 } });
    await expect(fe.read('k', 2)).rejects.toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET', details: { required: 2, answered: 1 } });
    // w=1 still works, and reads it back at r=1.
    await fe.write('k', Buffer.from('y'), 1);
    expect((await fe.read('k', 1)).entry?.value?.toString()).toBe('y');
  });

  it('orders a write after one acknowledged earlier even when its clock is far behind', async () => {
    const ahead = makeCoordinator(cluster, table, 'fe-ahead', +30_000);
    const behind = makeCoordinator(cluster, table, 'fe-behind', -30_000);
    const first = await ahead.write('k', Buffer.from('first'), 2);
    const second = await behind.write('k', Buffer.from('second'), 2);
    expect(second.ver.ms > first.ver.ms || (second.ver.ms === first.ver.ms && second.ver.c > first.ver.c)).toBe(true);
    expect((await ahead.read('k', 2)).entry?.value?.toString()).toBe('second');
    expect((await behind.read('k', 3)).entry?.value?.toString()).toBe('second');
  });

  it('counts a resend of the same version as an acknowledgement, not a conflict', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    await fe.write('k', Buffer.from('v'), 3);
    const stored = cluster.engines.get('a')!.store.get(partitionOf('k', DIGITS), 'k')!;
    const again = await cluster.send('a', 1, { op: 'put', p: partitionOf('k', DIGITS), key: 'k', ver: stored.ver, val: Buffer.from('v').toString('base64') });
    expect(again.result).toEqual({ ok: true, outcome: 'duplicate' });
  });

  it('repairs a stale replica after a read', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    cluster.down.add('c');
    await fe.write('k', Buffer.from('new'), 2);
    cluster.down.delete('c');
    const p = partitionOf('k', DIGITS);
    expect(cluster.engines.get('c')!.store.get(p, 'k')).toBeUndefined();
    await fe.read('k', 3);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(cluster.engines.get('c')!.store.get(p, 'k')?.value?.toString()).toBe('new');
  });

  it('writes a tombstone that hides the value', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    await fe.write('k', Buffer.from('v'), 2);
    await fe.write('k', null, 2);
    const r = await fe.read('k', 2);
    expect(r.entry).not.toBeNull();
    expect(r.entry!.value).toBeNull();
  });

  it('sends writes to pending replicas without counting them for the quorum', async () => {
    const withPending = new FakeCluster(['a', 'b', 'c', 'd']);
    const t = { current: tableFor(['a', 'b', 'c'], 1, ['d']) };
    withPending.publish(t.current);
    const fe = makeCoordinator(withPending, t, 'fe1');
    withPending.down.add('b');
    withPending.down.add('c');
    await expect(fe.write('k', Buffer.from('v'), 2)).rejects.toBeInstanceOf(FogError);
    expect(withPending.engines.get('d')!.store.get(partitionOf('k', DIGITS), 'k')?.value?.toString()).toBe('v');
  });

  it('refetches the table and retries when a replica fences it with a newer epoch', async () => {
    // The cluster moved to epoch 2 where the replicas are b, c, d; this frontend still has epoch 1 (a, b, c).
    const moved = new FakeCluster(['a', 'b', 'c', 'd']);
    const newTable = tableFor(['b', 'c', 'd'], 2);
    moved.publish(newTable);
    const t = { current: tableFor(['a', 'b', 'c'], 1) };
    t.current.nodes.d = { id: 'd', address: 'd', zone: 'z', weight: 1, state: 'up' };
    let refreshes = 0;
    const fe = makeCoordinator(moved, t, 'fe1', 0, async () => {
      refreshes++;
      t.current = newTable;
    });
    // Only b and c accept at epoch 1's replica set minus a: the fenced reply from a is what triggers the refresh.
    moved.down.add('c');
    await fe.write('k', Buffer.from('v'), 2);
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(t.current.epoch).toBe(2);
    expect(moved.engines.get('d')!.store.get(partitionOf('k', DIGITS), 'k')?.value?.toString()).toBe('v');
  });

  it('refuses without a table', async () => {
    const fe = makeCoordinator(cluster, { current: null as unknown as PartitionTable }, 'fe1');
    await expect(fe.read('k', 1)).rejects.toMatchObject({ code: 'FOG_ERR_NO_TABLE' });
  });

  it('tells the client a storage refusal when every replica refused for that reason', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    for (const id of ids) cluster.refuse.set(id, 'FOG_ERR_INSUFFICIENT_STORAGE');
    await expect(fe.write('k', Buffer.from('v'), 2)).rejects.toMatchObject({ code: 'FOG_ERR_INSUFFICIENT_STORAGE', status: 507 });
  });

  it('counts the replicas\' error codes in a quorum failure with mixed causes', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1');
    cluster.refuse.set('a', 'FOG_ERR_MEMORY_LIMIT');
    cluster.refuse.set('b', 'FOG_ERR_INSUFFICIENT_STORAGE');
    await expect(fe.write('k', Buffer.from('v'), 2)).rejects.toMatchObject({
      code: 'FOG_ERR_QUORUM_NOT_MET',
      details: { required: 2, answered: 1, replicaErrors: { FOG_ERR_MEMORY_LIMIT: 1, FOG_ERR_INSUFFICIENT_STORAGE: 1 } },
    });
  });

  it('forwards a write acknowledged under an old table to the replicas the new table added', async () => {
    // Epoch 2 moved the partition from c to d; this frontend still holds epoch 1 (a, b, c).
    const moved = new FakeCluster(['a', 'b', 'c', 'd']);
    const newTable = tableFor(['a', 'b', 'd'], 2);
    moved.publish(newTable);
    const t = { current: tableFor(['a', 'b', 'c'], 1) };
    const fe = makeCoordinator(moved, t, 'fe1', 0, async () => {
      t.current = newTable;
    });
    const w = await fe.write('k', Buffer.from('v'), 2);
    expect(w.acks).toBe(2);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const p = partitionOf('k', DIGITS);
    for (const id of ['a', 'b', 'd']) expect(moved.engines.get(id)!.store.get(p, 'k')?.value?.toString()).toBe('v');
  });

  describe('hot keys', () => {
    const puts = () => cluster.sent.filter((x) => x.op.op === 'put').length;
    const gets = () => cluster.sent.filter((x) => x.op.op === 'get').length;
    const newer = (a: { ms: number; c: number }, b: { ms: number; c: number }) => a.ms > b.ms || (a.ms === b.ms && a.c > b.c);

    it('coalesces concurrent writes to one key: only the newest reaches the replicas, all are acknowledged in order', async () => {
      const fe = makeCoordinator(cluster, table, 'fe1');
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => fe.write('hot', Buffer.from(`v${i}`), 2)));
      // The first went alone; the nine that arrived meanwhile went as one write of the newest value.
      expect(puts()).toBe(2 * 3);
      for (let i = 1; i < results.length; i++) expect(newer(results[i].ver, results[i - 1].ver)).toBe(true);
      const read = await fe.read('hot', 3);
      expect(read.entry?.value?.toString()).toBe('v9');
      expect(read.entry?.ver).toEqual(results[9].ver);
      const p = partitionOf('hot', DIGITS);
      for (const e of cluster.engines.values()) expect(e.store.get(p, 'hot')?.value?.toString()).toBe('v9');
    });

    it('keeps writes to different keys apart', async () => {
      const fe = makeCoordinator(cluster, table, 'fe1');
      await Promise.all(['x', 'y', 'z'].map((k) => fe.write(k, Buffer.from(k), 2)));
      expect(puts()).toBe(3 * 3);
      for (const k of ['x', 'y', 'z']) expect((await fe.read(k, 2)).entry?.value?.toString()).toBe(k);
    });

    it('fails the superseded writes with the write that carried them', async () => {
      const fe = makeCoordinator(cluster, table, 'fe1');
      const first = fe.write('hot', Buffer.from('a'), 2);
      const later = [fe.write('hot', Buffer.from('b'), 2), fe.write('hot', Buffer.from('c'), 2)];
      cluster.down.add('b');
      cluster.down.add('c');
      await first.catch(() => undefined);
      for (const p of later) await expect(p).rejects.toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET' });
      // The key is free again afterwards.
      cluster.down.clear();
      await expect(fe.write('hot', Buffer.from('d'), 2)).resolves.toMatchObject({ acks: expect.any(Number) });
    });

    it('shares one quorum read among the reads that arrive while one is in flight', async () => {
      const fe = makeCoordinator(cluster, table, 'fe1');
      await fe.write('hot', Buffer.from('v'), 3);
      const before = gets();
      const reads = await Promise.all(Array.from({ length: 8 }, () => fe.read('hot', 2)));
      // One read went alone, the seven that arrived meanwhile shared the next: two rounds of r=2.
      expect(gets() - before).toBe(2 * 2);
      for (const r of reads) expect(r.entry?.value?.toString()).toBe('v');
    });

    it('never lets a read join a read that started before it: it sees a write acknowledged before it began', async () => {
      // Hold every get's reply (the replica has answered) until released.
      const held: Array<() => void> = [];
      const send = cluster.send.bind(cluster);
      cluster.send = async (address, epoch, op) => {
        const reply = await send(address, epoch, op);
        if (op.op === 'get') await new Promise<void>((r) => held.push(r));
        return reply;
      };
      const fe = makeCoordinator(cluster, table, 'fe1');
      await fe.write('k', Buffer.from('old'), 3);
      const early = fe.read('k', 2); // answered 'old' by the replicas, replies held
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await fe.write('k', Buffer.from('new'), 3);
      const late = fe.read('k', 2); // starts after the write was acknowledged
      while (held.length) held.shift()!();
      expect((await early).entry?.value?.toString()).toBe('old');
      for (let i = 0; i < 5 && held.length === 0; i++) await new Promise((r) => setImmediate(r));
      while (held.length) held.shift()!();
      expect((await late).entry?.value?.toString()).toBe('new');
    });
  });
});

/** A missed write as the coordinator tells it, with the value decoded. */
interface Missed {
  node: string;
  partition: number;
  key: string;
  ver: Version;
  value: string | null;
}

/** Lets every pending promise callback and transport turn run. */
const settleTurns = async (n = 10) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('Coordinator: writes acknowledged without some replica are reported as missed', () => {
  const ids = ['a', 'b', 'c'];
  let cluster: FakeCluster;
  let table: { current: PartitionTable };
  let missed: Missed[];
  const events: CoordinatorEvents = {
    ...NO_EVENTS,
    missedWrite: (node, partition, key, ver, val) => missed.push({ node, partition, key, ver, value: val === null ? null : Buffer.from(val, 'base64').toString() }),
  };

  beforeEach(() => {
    cluster = new FakeCluster(ids);
    table = { current: tableFor(ids) };
    cluster.publish(table.current);
    missed = [];
  });

  it.each([
    // [what, how replica c fails, w]
    ['unreachable', (c: FakeCluster) => c.down.add('c'), 2],
    ['disk full', (c: FakeCluster) => c.refuse.set('c', 'FOG_ERR_INSUFFICIENT_STORAGE'), 2],
    ['memory limit', (c: FakeCluster) => c.refuse.set('c', 'FOG_ERR_MEMORY_LIMIT'), 1],
  ] as Array<[string, (c: FakeCluster) => void, number]>)('reports the replica that failed (%s) with the acknowledged version and value', async (_what, fail, w) => {
    fail(cluster);
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    const res = await fe.write('k', Buffer.from('v1'), w);
    await settleTurns();
    expect(missed).toEqual([{ node: 'c', partition: partitionOf('k', DIGITS), key: 'k', ver: res.ver, value: 'v1' }]);
  });

  it('reports nothing when every replica took the write', async () => {
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    await fe.write('k', Buffer.from('v'), 2);
    await settleTurns();
    expect(missed).toEqual([]);
  });

  it('reports a tombstone as a missed write with no value', async () => {
    cluster.down.add('b');
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    const res = await fe.write('k', null, 2);
    await settleTurns();
    expect(missed).toEqual([{ node: 'b', partition: partitionOf('k', DIGITS), key: 'k', ver: res.ver, value: null }]);
  });

  it.each([
    // [what, how the late reply turns out, reported]
    ['fails', (c: FakeCluster) => c.down.add('c'), ['c']],
    ['refuses', (c: FakeCluster) => c.refuse.set('c', 'FOG_ERR_INSUFFICIENT_STORAGE'), ['c']],
    ['succeeds', () => undefined, []],
  ] as Array<[string, (c: FakeCluster) => void, string[]]>)('waits for a late reply of an acknowledged round, and reports it if it %s', async (_what, turn, reported) => {
    cluster.holding.add('c');
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    await fe.write('k', Buffer.from('v'), 2);
    await settleTurns();
    expect(missed).toEqual([]);
    turn(cluster);
    cluster.release();
    await settleTurns();
    expect(missed.map((m) => m.node)).toEqual(reported);
  });

  it('reports each replica once when several answer late with failures', async () => {
    cluster.holding.add('b');
    cluster.holding.add('c');
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    await fe.write('k', Buffer.from('v'), 1);
    cluster.down.add('b');
    cluster.down.add('c');
    cluster.release();
    await settleTurns();
    expect(missed.map((m) => m.node).sort()).toEqual(['b', 'c']);
  });

  it('reports nothing for a write that was not acknowledged', async () => {
    cluster.down.add('b');
    cluster.down.add('c');
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    await expect(fe.write('k', Buffer.from('v'), 2)).rejects.toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET' });
    await settleTurns();
    expect(missed).toEqual([]);
  });

  it('reports only the version that was acknowledged, not the one a re-stamp superseded', async () => {
    const ahead = makeCoordinator(cluster, table, 'fe-ahead', +30_000);
    await ahead.write('k', Buffer.from('first'), 3);
    cluster.down.add('c');
    const behind = makeCoordinator(cluster, table, 'fe-behind', -30_000, undefined, events);
    const res = await behind.write('k', Buffer.from('second'), 2);
    await settleTurns();
    // The first round (stale at a and b, c unreachable) was re-stamped: only the second counts.
    expect(cluster.sent.filter((m) => m.address === 'c' && m.op.op === 'put' && m.op.key === 'k').length).toBe(3);
    expect(missed).toEqual([{ node: 'c', partition: partitionOf('k', DIGITS), key: 'k', ver: res.ver, value: 'second' }]);
  });

  it('reports a pending replica that missed the write', async () => {
    const withPending = new FakeCluster(['a', 'b', 'c', 'd']);
    const t = { current: tableFor(['a', 'b', 'c'], 1, ['d']) };
    withPending.publish(t.current);
    withPending.down.add('d');
    const fe = makeCoordinator(withPending, t, 'fe1', 0, undefined, events);
    await fe.write('k', Buffer.from('v'), 3);
    await settleTurns();
    expect(missed.map((m) => m.node)).toEqual(['d']);
  });

  it('reports a replica that refused as the wrong node under an older table, not one whose newer table moved the partition', async () => {
    // Epoch 2 moved the partition from c to b. b has not adopted epoch 2 yet (it refuses under
    // epoch 1, which does not list it); c has adopted it and no longer holds the partition.
    const moved = new FakeCluster(['a', 'b', 'c', 'd']);
    const oldTable = tableFor(['a', 'c', 'd'], 1);
    const newTable = tableFor(['a', 'b', 'd'], 2);
    for (const t of [oldTable, newTable]) for (const id of ['a', 'b', 'c', 'd']) t.nodes[id] = { id, address: id, zone: 'z', weight: 1, state: 'up' };
    for (const id of ['a', 'c', 'd']) moved.engines.get(id)!.offerTable(newTable);
    moved.engines.get('b')!.offerTable(oldTable);
    // A frontend holding epoch 2 writes to a, b, d: b is behind, so it may take the write later.
    await makeCoordinator(moved, { current: newTable }, 'fe-new', 0, undefined, events).write('k', Buffer.from('v'), 2);
    await settleTurns();
    expect(missed.map((m) => m.node)).toEqual(['b']);
    // A frontend still holding epoch 1 writes to a, c, d: c's table is newer and moved the partition away.
    missed = [];
    await makeCoordinator(moved, { current: oldTable }, 'fe-old', 0, undefined, events).write('k2', Buffer.from('v'), 2);
    await settleTurns();
    expect(missed).toEqual([]);
    expect(moved.sent.some((m) => m.address === 'c' && m.op.op === 'put' && m.op.key === 'k2')).toBe(true);
  });

  it('reports nothing for conditional writes', async () => {
    cluster.down.add('c');
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    await fe.conditionalWrite('k', () => Buffer.from('v'), 2);
    await settleTurns();
    expect(missed).toEqual([]);
  });

  it('reports every write of a batch that missed a replica, and no read', async () => {
    cluster.down.add('c');
    const fe = makeCoordinator(cluster, table, 'fe1', 0, undefined, events);
    const outcomes = await runBatch(fe, [
      { op: 'put', key: 'k1', value: Buffer.from('one') },
      { op: 'get', key: 'k1' },
      { op: 'put', key: 'k2', value: Buffer.from('two') },
      { op: 'delete', key: 'k3' },
    ], 2, 2);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    await settleTurns();
    const versions = outcomes.flatMap((o) => (o.ok && o.op !== 'get' ? [[o.key, o.ver]] : []));
    expect(missed.map((m) => [m.key, m.ver]).sort()).toEqual(versions.sort());
    expect(missed.map((m) => `${m.node}:${m.key}=${m.value}`).sort()).toEqual(['c:k1=one', 'c:k2=two', 'c:k3=null']);
  });
});
