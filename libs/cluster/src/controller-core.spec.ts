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
    expect(core.register(storage(3), 0).tableChanged).toBe(true);
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
    expect(a.table()).toEqual(b.table());
  });

  it('balances partitions across nodes', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 4, redundancy: 3, digits: 2 }));
    for (const i of [1, 2, 3, 4]) core.register(storage(i), 0);
    const counts = new Map<string, number>();
    for (const e of core.table()!.partitions) for (const id of e.replicas) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const n of counts.values()) expect(n).toBe(192);
  });

  it('gives a late node the existing table without a new epoch', () => {
    const core = new ControllerCore(cfg({ expectedStorage: 1, redundancy: 1, digits: 1 }));
    core.register(storage(1), 0);
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
    const t = structuredClone(core.table()!);
    t.partitions[3].replicas = ['s1'];
    expect(() => assertTable(t)).toThrow(/partition 3 has 1 replicas/);
  });
});
