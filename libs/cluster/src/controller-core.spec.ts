import { ControllerCore, assertTable, type ControllerConfig } from './controller-core';

const cfg = (c: Pick<ControllerConfig, 'expectedStorage' | 'redundancy' | 'digits'>): ControllerConfig => ({ downAfterMs: 3000, outAfterMs: 10_000, suspectAfterMs: 1500, ...c });

const storage = (i: number, extra: Record<string, unknown> = {}) => ({ id: `s${i}`, role: 'storage', address: `127.0.0.1:${7100 + i}`, zone: 'z', weight: 1, ...extra });

describe('ControllerCore', () => {
  it('forms the first table once the expected storage nodes registered', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 3, redundancy: 3, digits: 2 }));
    expect(core.register(storage(1), 0).tableChanged).toBe(false);
    expect(core.register({ id: 'f1', role: 'frontend', address: '127.0.0.1:8001' }, 0).tableChanged).toBe(false);
    expect(core.register(storage(2), 0).tableChanged).toBe(false);
    expect(core.table()).toBeNull();
    // The last one makes the table due; it forms at the next tick, not inside the registration.
    expect(core.register(storage(3), 0).tableChanged).toBe(false);
    expect(core.table()).toBeNull();
    expect(core.hasPendingChanges()).toBe(true);
    expect(core.tick(0)).toBe(true);
    const t = core.table()!;
    expect(t.epoch).toBe(1);
    expect(t.partitions).toHaveLength(256);
    expect(Object.keys(t.nodes).sort()).toEqual(['s1', 's2', 's3']);
    for (const e of t.partitions) expect(new Set(e.replicas).size).toBe(3);
  });

  it('is deterministic for the same membership, whatever the registration order', () => {
    const a = new ControllerCore(cfg({ expectedStorage: 5, redundancy: 3, digits: 2 }));
    const b = new ControllerCore(cfg({ expectedStorage: 5, redundancy: 3, digits: 2 }));
    for (const i of [1, 2, 3, 4, 5]) a.register(storage(i), 0);
    for (const i of [4, 2, 5, 1, 3]) b.register(storage(i), 0);
    for (const core of [a, b]) expect(core.tick(0)).toBe(true);
    expect(a.table()).toEqual(b.table());
  });

  it('balances partitions across nodes', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 4, redundancy: 3, digits: 2 }));
    for (const i of [1, 2, 3, 4]) core.register(storage(i), 0);
    core.tick(0);
    const counts = new Map<string, number>();
    for (const e of core.table()!.partitions) for (const id of e.replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const n of counts.values()) expect(n).toBe(192);
  });

  it('gives every move its start time, its size at the source, and a rate and ETA from the reports', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 3, redundancy: 3, digits: 1 }));
    for (const i of [1, 2, 3]) core.register(storage(i), 0);
    core.tick(0);
    core.register(storage(4), 5000);
    core.tick(5000);
    const moves = core.moveViews();
    expect(moves.length).toBeGreaterThan(0);
    for (const m of moves) expect(m).toMatchObject({ startedAtMs: 5000, bytesCopied: 0, bytesTotal: null, rateBytesPerSec: null, etaMs: null, done: false });
    expect(core.movesProgress(5000)).toMatchObject({ startedAtMs: 5000, movesTotal: moves.length, movesDone: 0, bytesTotal: null, etaMs: null });
    const [a, b] = moves;
    core.handoff('s4', { partition: a.partition, epoch: 2, keysCopied: 10, bytesCopied: 1000, bytesTotal: 4000, done: false }, 6000);
    core.tick(6000);
    core.handoff('s4', { partition: a.partition, epoch: 2, keysCopied: 30, bytesCopied: 3000, bytesTotal: 4000, done: false }, 8000);
    core.tick(8000);
    expect(core.moveViews().find((m) => m.partition === a.partition)).toMatchObject({ keysCopied: 30, bytesCopied: 3000, bytesTotal: 4000, rateBytesPerSec: 1000, etaMs: 1000 });
    const p = core.movesProgress(8000);
    // 3000 bytes in the 3 s since the moves started; every move assumed as large as the one that said.
    expect(p.rateBytesPerSec).toBe(1000);
    expect(p.bytesTotal).toBe(4000 * moves.length);
    expect(p.etaMs).toBe((4000 * moves.length - 3000) * 1000 / 1000);
    // A completed move leaves the list but stays in the totals.
    core.handoff('s4', { partition: b.partition, epoch: 2, keysCopied: 40, bytesCopied: 4000, bytesTotal: 4000, done: true, sources: core.table()!.partitions[b.partition].replicas }, 9000);
    core.tick(9000);
    expect(core.moveViews().some((m) => m.partition === b.partition)).toBe(false);
    expect(core.movesProgress(9000)).toMatchObject({ movesTotal: moves.length, movesDone: 1, bytesCopied: 7000 });
    expect(() => core.handoff('s4', { partition: a.partition, epoch: 2, keysCopied: 1, bytesCopied: 1, bytesTotal: -5, done: false }, 9000))
      .toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_REQUEST' }));
  });

  it('gives a late node the existing table without a new epoch', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 1, redundancy: 1, digits: 1 }));
    core.register(storage(1), 0);
    core.tick(0);
    const r = core.register({ id: 'f1', role: 'frontend', address: '127.0.0.1:8001' }, 5);
    expect(r.tableChanged).toBe(false);
    expect(core.epoch()).toBe(1);
  });

  it('refuses a second node on the same address, and an id with another role', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 2, redundancy: 1, digits: 1 }));
    core.register(storage(1), 0);
    expect(() => core.register({ ...storage(1), id: 'other' }, 0)).toThrow(expect.objectContaining({ code: 'FOG_ERR_CLUSTER_MISMATCH' }));
    expect(() => core.register({ ...storage(1), role: 'frontend' }, 0)).toThrow(expect.objectContaining({ code: 'FOG_ERR_CLUSTER_MISMATCH' }));
  });

  it('lets a node re-register (restart) without changing the table', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 1, redundancy: 1, digits: 1 }));
    core.register(storage(1), 0);
    core.tick(0);
    expect(core.register(storage(1), 10).tableChanged).toBe(false);
    expect(core.epoch()).toBe(1);
  });

  it.each([
    [{}, 'id'],
    [{ id: 'bad id' }, 'id'],
    [{ id: 'x', role: 'admin' }, 'role'],
    [{ id: 'x', role: 'storage', address: 'nope' }, 'address'],
    [{ id: 'x', role: 'storage', address: '1.2.3.4:5', zone: 'bad zone' }, 'zone'],
    [{ id: 'x', role: 'storage', address: '1.2.3.4:5', weight: 0 }, 'weight'],
    [{ id: 'x', role: 'storage', address: '1.2.3.4:5', weight: 1000 }, 'weight'],
  ])('rejects registration %j (field %s)', (reg, field) => {
    const core = new ControllerCore(cfg({ expectedStorage: 1, redundancy: 1, digits: 1 }));
    expect(() => core.register(reg, 0)).toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_REQUEST', details: { field } }));
    expect(core.listMembers()).toEqual([]);
  });

  it('refuses an impossible configuration', () => {
    expect(() => new ControllerCore(cfg({ expectedStorage: 2, redundancy: 3, digits: 2 }))).toThrow(/needs at least/);
  });

  it('asserts on a table that names too few replicas', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 2, redundancy: 2, digits: 1 }));
    core.register(storage(1), 0);
    core.register(storage(2), 0);
    core.tick(0);
    const t = structuredClone(core.table()!);
    t.partitions[3].replicas = ['s1'];
    expect(() => assertTable(t)).toThrow(/partition 3 has 1 replicas/);
  });
});
