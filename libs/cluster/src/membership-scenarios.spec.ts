import { computePlacement } from '@fog/partitioning';
import { ControllerCore, type ControllerConfig } from './controller-core';

/**
 * Scenario tests: a story of joins, silences and reports, driven by explicit time, with the
 * tables the controller would publish checked after each step. The same stories played by the
 * whole cluster (real copies, anti-entropy, disks and a workload) are in libs/sim
 * (controller-stories.spec.ts).
 */
// Completed copies are published at the next tick here; batching them is tested on its own.
// These stories jump seconds between ticks, which a running controller would read as its own
// stall (stallAfterMs); stall credit is switched off here and tested in its own scenarios.
const CONFIG: ControllerConfig = {
  expectedStorage: 3, redundancy: 3, digits: 2, downAfterMs: 3000, outAfterMs: 10_000, suspectAfterMs: 1500, syncPublishIntervalMs: 0, stallAfterMs: Infinity,
};
const storage = (i: number, zone = 'z') => ({ id: `s${i}`, role: 'storage', address: `127.0.0.1:${7100 + i}`, zone, weight: 1 });

function formed(n = 3, config: Partial<ControllerConfig> = {}): ControllerCore {
  const core = new ControllerCore({ ...CONFIG, ...config });
  for (let i = 1; i <= n; i++) core.register(storage(i), 0);
  // The first table forms at the tick after the last registration.
  core.tick(0);
  return core;
}

/** Heartbeat every node except `silent` at time t. */
function beat(core: ControllerCore, t: number, silent: string[] = []): void {
  for (const m of core.listMembers()) if (!silent.includes(m.id)) core.heartbeat(m.id, t);
}

/** A pending node finishes copying every partition it is pending for. */
function syncAll(core: ControllerCore, node: string, t: number): number {
  let n = 0;
  core.table()!.partitions.forEach((e, p) => {
    if (e.pending.includes(node)) {
      core.handoff(node, { partition: p, epoch: core.epoch(), keysCopied: 1, bytesCopied: 10, done: true, sources: e.replicas }, t);
      n++;
    }
  });
  return n;
}

const held = (core: ControllerCore, id: string) => core.table()!.partitions.filter((e) => e.replicas.includes(id)).length;
const pendingFor = (core: ControllerCore, id: string) => core.table()!.partitions.filter((e) => e.pending.includes(id)).length;

describe('membership scenarios', () => {
  it('a node joins: it becomes pending for its fair share, then active, and only those partitions move', () => {
    const core = formed(3);
    const before = core.table()!;
    expect(before.epoch).toBe(1);
    core.register(storage(4), 100);
    expect(core.tick(100)).toBe(true);
    const during = core.table()!;
    expect(during.epoch).toBe(2);
    // The newcomer is pending for ~1/4 of the 768 replica slots; every partition still has 3 active replicas.
    expect(pendingFor(core, 's4')).toBeGreaterThanOrEqual(190);
    expect(pendingFor(core, 's4')).toBeLessThanOrEqual(194);
    for (const e of during.partitions) expect(e.replicas).toHaveLength(3);
    // Partitions the newcomer does not take are untouched.
    during.partitions.forEach((e, p) => {
      if (!e.pending.includes('s4')) expect(e.replicas).toEqual(before.partitions[p].replicas);
    });
    expect(core.listMoves().every((m) => m.reason === 'join' && !m.done)).toBe(true);

    const synced = syncAll(core, 's4', 200);
    expect(synced).toBe(pendingFor(core, 's4'));
    expect(core.tick(200)).toBe(true);
    const after = core.table()!;
    expect(after.epoch).toBe(3);
    expect(core.listMoves()).toEqual([]);
    for (const e of after.partitions) {
      expect(e.pending).toEqual([]);
      expect(new Set(e.replicas).size).toBe(3);
    }
    for (const id of ['s1', 's2', 's3', 's4']) expect(held(core, id)).toBeGreaterThanOrEqual(191);
  });

  it('a silent node goes down (reads avoid it, nothing moves), then out (its partitions are re-replicated)', () => {
    const core = formed(4, { expectedStorage: 4 });
    const e1 = core.table()!;
    beat(core, 2000, ['s2']);
    expect(core.tick(2000)).toBe(false);
    beat(core, 3500, ['s2']);
    expect(core.tick(3500)).toBe(true);
    expect(core.member('s2')!.state).toBe('down');
    expect(core.table()!.nodes.s2.state).toBe('down');
    expect(core.table()!.partitions).toEqual(e1.partitions);

    beat(core, 10_500, ['s2']);
    expect(core.tick(10_500)).toBe(true);
    expect(core.member('s2')!.state).toBe('out');
    const t = core.table()!;
    // s2 no longer serves anything; every partition it had gets a pending replacement.
    for (const e of t.partitions) {
      expect(e.replicas).not.toContain('s2');
      expect(e.replicas.length + e.pending.length).toBe(3);
    }
    const pending = t.partitions.filter((e) => e.pending.length > 0).length;
    expect(pending).toBe(e1.partitions.filter((e) => e.replicas.includes('s2')).length);
    for (const id of ['s1', 's3', 's4']) syncAll(core, id, 11_000);
    core.tick(11_000);
    for (const e of core.table()!.partitions) {
      expect(e.pending).toEqual([]);
      expect(e.replicas).toHaveLength(3);
      expect(e.replicas).not.toContain('s2');
    }
  });

  it('a node that comes back before out returns to up without moving anything', () => {
    const core = formed(3);
    const partitions = core.table()!.partitions;
    beat(core, 3500, ['s3']);
    core.tick(3500);
    expect(core.member('s3')!.state).toBe('down');
    core.heartbeat('s3', 4000);
    expect(core.tick(4000)).toBe(true);
    expect(core.member('s3')!.state).toBe('up');
    expect(core.table()!.partitions).toEqual(partitions);
    expect(core.listMoves()).toEqual([]);
  });

  it('a flapping node costs at most one epoch per tick and never moves data', () => {
    const core = formed(3);
    const partitions = core.table()!.partitions;
    const startEpoch = core.epoch();
    let ticks = 0;
    // s1 heartbeats only every 3.2 s, just over downAfterMs: down, up, down, up...
    for (let t = 100; t <= 60_000; t += 100) {
      beat(core, t, t % 3200 === 0 ? [] : ['s1']);
      if (t % 3200 === 0) core.heartbeat('s1', t);
      core.tick(t);
      ticks++;
    }
    expect(core.epoch() - startEpoch).toBeLessThanOrEqual(ticks);
    expect(core.epoch() - startEpoch).toBeLessThan(60); // ~2 transitions per 3.2 s, not a storm
    expect(core.member('s1')!.state).not.toBe('out');
    expect(core.table()!.partitions).toEqual(partitions);
  });

  it('many events between two ticks make one new epoch', () => {
    const core = formed(3);
    core.register(storage(4), 10);
    core.register(storage(5), 10);
    core.register(storage(6), 10);
    expect(core.epoch()).toBe(1);
    expect(core.tick(10)).toBe(true);
    expect(core.epoch()).toBe(2);
    expect(core.tick(20)).toBe(false);
  });

  it('a frontend report marks a node down only when its heartbeats agree', () => {
    const core = formed(3);
    core.heartbeat('s1', 1000);
    expect(core.suspect('s1', 1200)).toBe(false);
    expect(core.member('s1')!.state).toBe('up');
    expect(core.suspect('s1', 2600)).toBe(true);
    expect(core.member('s1')!.state).toBe('down');
    expect(core.suspect('nobody', 2600)).toBe(false);
  });

  it('decommission hands every partition away, then the node has left', () => {
    const core = formed(4, { expectedStorage: 4 });
    const had = held(core, 's4');
    core.decommission('s4', 0);
    expect(core.member('s4')!.state).toBe('leaving');
    core.tick(10);
    const t = core.table()!;
    // Still serving while replacements copy: nothing is lost if it stops only when told.
    expect(held(core, 's4')).toBe(had);
    expect(core.listMoves().filter((m) => m.reason === 'decommission')).toHaveLength(had);
    for (const id of ['s1', 's2', 's3']) syncAll(core, id, 20);
    core.tick(20);
    expect(held(core, 's4')).toBe(0);
    core.tick(30);
    expect(core.member('s4')!.state).toBe('left');
    expect(core.table()!.nodes.s4).toBeUndefined();
    expect(t.epoch).toBeLessThan(core.epoch());
  });

  it('refuses to decommission below K nodes', () => {
    const core = formed(3);
    expect(() => core.decommission('s1', 0)).toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_REQUEST' }));
    expect(core.member('s1')!.state).toBe('up');
  });

  it('refuses handoff reports from nodes that are not pending', () => {
    const core = formed(3);
    expect(() => core.handoff('s1', { partition: 0, epoch: 1, keysCopied: 0, bytesCopied: 0, done: true }, 0)).toThrow(expect.objectContaining({ code: 'FOG_ERR_WRONG_NODE' }));
    expect(() => core.handoff('s1', { partition: 999, epoch: 1, keysCopied: 0, bytesCopied: 0, done: true }, 0)).toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_REQUEST' }));
  });

  it('keeps a replica pending until its copy names every active replica as a source', () => {
    const core = formed(3);
    core.register(storage(4), 0);
    core.tick(0);
    const p = core.table()!.partitions.findIndex((e) => e.pending.includes('s4'));
    const active = core.table()!.partitions[p].replicas;
    expect(active.length).toBeGreaterThanOrEqual(2);
    // Copied from one replica only: that one may have missed writes another holds.
    expect(() => core.handoff('s4', { partition: p, epoch: 2, keysCopied: 5, bytesCopied: 50, done: true, sources: [active[0]] }, 1))
      .toThrow(expect.objectContaining({ code: 'FOG_ERR_COPY_INCOMPLETE', details: { missing: active.slice(1) } }));
    expect(() => core.handoff('s4', { partition: p, epoch: 2, keysCopied: 5, bytesCopied: 50, done: true }, 1)).toThrow(expect.objectContaining({ code: 'FOG_ERR_COPY_INCOMPLETE' }));
    core.tick(2000);
    expect(core.table()!.partitions[p].pending).toEqual(['s4']);
    core.handoff('s4', { partition: p, epoch: 2, keysCopied: 5, bytesCopied: 50, done: true, sources: active }, 3);
    core.tick(5000);
    expect(core.table()!.partitions[p].pending).toEqual([]);
    expect(core.table()!.partitions[p].replicas).toContain('s4');
  });

  it('records copy progress on the move', () => {
    const core = formed(3);
    core.register(storage(4), 0);
    core.tick(0);
    const p = core.table()!.partitions.findIndex((e) => e.pending.includes('s4'));
    core.handoff('s4', { partition: p, epoch: 2, keysCopied: 50, bytesCopied: 5000, done: false }, 1);
    expect(core.listMoves().find((m) => m.partition === p)).toMatchObject({ keysCopied: 50, bytesCopied: 5000, done: false });
  });

  it('a dry-run plan shows the moves without making them', () => {
    const core = formed(4, { expectedStorage: 4 });
    const epoch = core.epoch();
    const add = core.plan({ add: { id: 's9', zone: 'z', weight: 1 } });
    expect(add.replicasMoved).toBeGreaterThanOrEqual(150);
    expect(add.replicasMoved).toBeLessThanOrEqual(Math.ceil(768 / 5 * 1.1) + 1);
    expect(add.moves.every((m) => m.added.length === 1 && m.added[0] === 's9')).toBe(true);
    const remove = core.plan({ remove: 's2' });
    expect(remove.moves.every((m) => m.removed.length === 1 && m.removed[0] === 's2')).toBe(true);
    expect(remove.replicasMoved).toBe(held(core, 's2'));
    expect(core.epoch()).toBe(epoch);
    expect(core.hasPendingChanges()).toBe(false);
    expect(() => core.plan({ remove: 'nope' })).toThrow(expect.objectContaining({ code: 'FOG_ERR_NODE_NOT_FOUND' }));
  });

  it('puts replicas in distinct zones when there are enough zones', () => {
    const core = new ControllerCore({ ...CONFIG, expectedStorage: 6 });
    for (let i = 1; i <= 6; i++) core.register(storage(i, `zone${i % 3}`), 0);
    core.tick(0);
    for (const e of core.table()!.partitions) {
      const zones = e.replicas.map((id) => core.member(id)!.zone);
      expect(new Set(zones).size).toBe(3);
    }
  });

  it.each([
    ['a join', (core: ControllerCore) => core.register(storage(5), 10), 's5', 'join'],
    ['a decommission', (core: ControllerCore) => core.decommission('s2', 10), 's2', 'decommission'],
  ] as const)('plans %s saved before its placement was computed, after a restart', (_, change, node, reason) => {
    const core = formed(4);
    change(core);
    // Saved while the plan was owed (or on the placement thread): the state does not say so.
    const again = ControllerCore.restore(JSON.parse(JSON.stringify(core.snapshot())), CONFIG, 100);
    expect(again.planning()).toBe(true);
    expect(again.tick(100)).toBe(true);
    expect(again.listMoves().length).toBeGreaterThan(0);
    expect(again.listMoves().every((m) => m.reason === reason)).toBe(true);
    if (reason === 'join') expect(pendingFor(again, node)).toBeGreaterThan(0);
    else expect(again.listMoves().some((m) => m.node === node)).toBe(false);
  });

  it('plans nothing after a restart when the saved target was up to date', () => {
    const again = ControllerCore.restore(JSON.parse(JSON.stringify(formed(4).snapshot())), CONFIG, 100);
    expect(again.planning()).toBe(false);
  });

  it('survives a restart from its saved state with the same epoch and table', () => {
    const core = formed(3);
    core.register(storage(4), 0);
    core.tick(0);
    const saved = JSON.parse(JSON.stringify(core.snapshot()));
    const again = ControllerCore.restore(saved, CONFIG, 50_000);
    expect(again.epoch()).toBe(core.epoch());
    expect(again.table()).toEqual(core.table());
    expect(again.listMoves()).toEqual(core.listMoves());
    // Nobody is declared down for the controller's own absence.
    expect(again.tick(50_001)).toBe(false);
    // The restored core carries on: the pending node syncs and the table moves on.
    syncAll(again, 's4', 50_002);
    expect(again.tick(50_002)).toBe(true);
    expect(again.epoch()).toBe(core.epoch() + 1);
    expect(() => ControllerCore.restore(saved, { ...CONFIG, redundancy: 2 }, 0)).toThrow(/K=3/);
  });

  it('a restart from state saved between a completed copy and its publication leaves no replica pending for ever', () => {
    // Completed copies wait for the sync publish interval; the state is saved meanwhile (the app
    // saves on every registration and accepted report).
    const core = formed(3, { syncPublishIntervalMs: 1000 });
    core.register(storage(4), 0);
    core.tick(0);
    expect(pendingFor(core, 's4')).toBeGreaterThan(0);
    syncAll(core, 's4', 10);
    expect(core.listMoves()).toEqual([]);
    const saved = JSON.parse(JSON.stringify(core.snapshot()));
    const again = ControllerCore.restore(saved, { ...CONFIG, syncPublishIntervalMs: 1000 }, 20);
    // The saved completion is published at the next tick: s4 is active, nothing is pending.
    expect(again.tick(30)).toBe(true);
    expect(pendingFor(again, 's4')).toBe(0);
    expect(held(again, 's4')).toBeGreaterThan(0);
    // A state file written before this field existed restores as before.
    const old = { ...saved, entries: undefined };
    expect(ControllerCore.restore(old, CONFIG, 20).table()).toEqual(core.table());
  });

  it('a restart from state saved between a node coming back up and its publication publishes it (no node left down in the table)', () => {
    const core = formed(3);
    // s3 goes down (published), then registers again: up in the membership, saved, not yet published.
    beat(core, 4_000, ['s3']);
    core.tick(4_000);
    expect(core.table()!.nodes.s3.state).toBe('down');
    core.register(storage(3), 4_100);
    expect(core.member('s3')!.state).toBe('up');
    expect(core.table()!.nodes.s3.state).toBe('down');
    const saved = JSON.parse(JSON.stringify(core.snapshot()));
    const again = ControllerCore.restore(saved, CONFIG, 4_200);
    expect(again.hasPendingChanges()).toBe(true);
    expect(again.tick(4_300)).toBe(true);
    expect(again.table()!.nodes.s3.state).toBe('up');
  });

  it('an out node that returns joins again and takes a share', () => {
    const core = formed(4, { expectedStorage: 4 });
    beat(core, 11_000, ['s4']);
    core.tick(11_000);
    expect(core.member('s4')!.state).toBe('out');
    expect(core.heartbeat('s4', 11_100)).toBe(false);
    core.register(storage(4), 11_200);
    core.tick(11_200);
    expect(core.member('s4')!.state).toBe('up');
    expect(pendingFor(core, 's4')).toBeGreaterThan(150);
  });
});

describe('after decommission', () => {
  it('a node that left stays left when it heartbeats or registers again', () => {
    const core = formed(4, { expectedStorage: 4 });
    core.decommission('s4', 0);
    core.tick(10);
    for (const id of ['s1', 's2', 's3']) syncAll(core, id, 20);
    core.tick(20);
    core.tick(30);
    expect(core.member('s4')!.state).toBe('left');
    const epoch = core.epoch();
    expect(core.heartbeat('s4', 40)).toBe(true);
    expect(core.register(storage(4), 50).tableChanged).toBe(false);
    expect(core.tick(60)).toBe(false);
    expect(core.member('s4')!.state).toBe('left');
    expect(core.epoch()).toBe(epoch);
    expect(pendingFor(core, 's4')).toBe(0);
  });
});

describe('a replica that comes back empty', () => {
  it('copies its partitions before it serves reads again', () => {
    const core = formed(3);
    const had = held(core, 's2');
    const epoch = core.epoch();
    const r = core.register({ ...storage(2), empty: true }, 100);
    // Published at once: the registration answer already carries the table that says so.
    expect(r.tableChanged).toBe(true);
    expect(core.epoch()).toBe(epoch + 1);
    expect(held(core, 's2')).toBe(0);
    expect(pendingFor(core, 's2')).toBe(had);
    for (const e of core.table()!.partitions) expect(e.replicas.length + e.pending.length).toBe(3);
    syncAll(core, 's2', 200);
    core.tick(200);
    expect(held(core, 's2')).toBe(had);
    expect(pendingFor(core, 's2')).toBe(0);
  });

  it('demotes nothing when the same process run registers again (its answer was lost), only a new run', () => {
    const core = formed(3);
    core.register({ ...storage(2), empty: true, boot: 'run1' }, 100);
    syncAll(core, 's2', 150);
    core.tick(200);
    const epoch = core.epoch();
    expect(core.register({ ...storage(2), empty: true, boot: 'run1' }, 300).tableChanged).toBe(false);
    expect(core.epoch()).toBe(epoch);
    expect(pendingFor(core, 's2')).toBe(0);
    expect(core.register({ ...storage(2), empty: true, boot: 'run2' }, 400).tableChanged).toBe(true);
    expect(held(core, 's2')).toBe(0);
    expect(() => core.register({ ...storage(2), boot: 'not a boot id!' }, 500)).toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_REQUEST' }));
  });

  it('changes nothing for a node that kept its data, or one that was never placed', () => {
    const core = formed(3);
    const epoch = core.epoch();
    expect(core.register({ ...storage(2), empty: false }, 100).tableChanged).toBe(false);
    expect(core.epoch()).toBe(epoch);
    core.register({ ...storage(7), empty: true }, 100);
    core.tick(100);
    expect(core.listMoves().every((m) => m.reason === 'join')).toBe(true);
  });
});

describe('a controller that lost its state', () => {
  it('recovers the table from the nodes instead of forming a new one, and carries on above their epoch', () => {
    const old = formed(3);
    old.register(storage(4), 0);
    old.tick(0);
    const held4 = pendingFor(old, 's4');
    expect(held4).toBeGreaterThan(0);
    const table = JSON.parse(JSON.stringify(old.table()));

    const fresh = new ControllerCore(CONFIG);
    // The nodes come back to a controller with no table, saying which epoch they hold.
    for (const i of [1, 2, 3]) expect(fresh.register({ ...storage(i), epoch: table.epoch }, 1000).tableChanged).toBe(false);
    expect(fresh.table()).toBeNull();
    expect(fresh.recoveryCandidate()).toMatchObject({ epoch: table.epoch });
    fresh.recoverTable(table, 1000);
    expect(fresh.recoveryCandidate()).toBeNull();
    expect(fresh.tick(1000)).toBe(true);
    const t = fresh.table()!;
    expect(t.epoch).toBe(table.epoch + 1);
    // Same placement, the move still in progress: no partition was reshuffled.
    t.partitions.forEach((e, p) => {
      expect([...e.replicas, ...e.pending].sort()).toEqual([...table.partitions[p].replicas, ...table.partitions[p].pending].sort());
    });
    // s4 has not re-registered yet but is a member, and finishes its copies.
    expect(fresh.member('s4')!.state).toBe('up');
    syncAll(fresh, 's4', 1100);
    fresh.tick(1100);
    expect(pendingFor(fresh, 's4')).toBe(0);
    expect(held(fresh, 's4')).toBe(held4);
  });

  it('refuses a table whose K or D differ from its flags', () => {
    const old = formed(3);
    const fresh = new ControllerCore({ ...CONFIG, redundancy: 2 });
    expect(() => fresh.recoverTable(old.table()!, 0)).toThrow(/K=3/);
  });

  it('forms a first table as usual when no node holds one', () => {
    const fresh = new ControllerCore(CONFIG);
    for (const i of [1, 2, 3]) fresh.register({ ...storage(i), epoch: 0 }, 0);
    expect(fresh.epoch()).toBe(0);
    expect(fresh.tick(0)).toBe(true);
    expect(fresh.epoch()).toBe(1);
    expect(fresh.recoveryCandidate()).toBeNull();
  });
});

describe('publishing completed copies', () => {
  it('batches copies completed within the sync publish interval into one table, but never delays a failure', () => {
    const core = formed(3, { syncPublishIntervalMs: 1000 });
    core.register(storage(4), 0);
    expect(core.tick(0)).toBe(true);
    const pendingPs = core.table()!.partitions.flatMap((e, p) => (e.pending.includes('s4') ? [p] : []));
    const report = (p: number, t: number) => core.handoff('s4', { partition: p, epoch: core.epoch(), keysCopied: 0, bytesCopied: 0, done: true, sources: core.table()!.partitions[p].replicas }, t);
    report(pendingPs[0], 100);
    expect(core.tick(100)).toBe(false);
    report(pendingPs[1], 500);
    expect(core.tick(500)).toBe(false);
    expect(core.hasPendingChanges()).toBe(true);
    const epoch = core.epoch();
    expect(core.tick(1000)).toBe(true);
    expect(core.epoch()).toBe(epoch + 1);
    expect(core.table()!.partitions[pendingPs[0]].pending).toEqual([]);
    expect(core.table()!.partitions[pendingPs[1]].pending).toEqual([]);
    // A node going down is published at the next tick, even right after a publication.
    report(pendingPs[2], 2500);
    beat(core, 2500, ['s1']);
    expect(core.tick(2500)).toBe(true);
    expect(core.tick(3001)).toBe(true);
    expect(core.table()!.nodes.s1.state).toBe('down');
  });
});

describe('a controller that was itself stalled', () => {
  /** Ticks every 200 ms from `from` to `to`, every node heartbeating at each tick except `silent`. */
  function run(core: ControllerCore, from: number, to: number, silent: string[] = []): void {
    for (let t = from; t <= to; t += 200) {
      beat(core, t, silent);
      core.tick(t);
    }
  }

  it('does not declare heartbeating nodes down after a stall longer than down-after', () => {
    const core = formed(4, { expectedStorage: 4, stallAfterMs: 1000 });
    run(core, 0, 2000);
    // Nothing ran for 5 s (a long computation, a pause): heartbeats waited in the sockets.
    expect(core.tick(7000)).toBe(false);
    for (const m of core.listMembers()) expect(m.state).toBe('up');
    run(core, 7000, 9000);
    for (const m of core.listMembers()) expect(m.state).toBe('up');
  });

  it('still declares a node down that was silent before the stall and stays silent after it', () => {
    const core = formed(4, { expectedStorage: 4, stallAfterMs: 1000 });
    run(core, 0, 2000, ['s2']);
    core.tick(7000);
    expect(core.member('s2')!.state).toBe('up');
    // Its silence before the stall (2 s) counts, and of the stall (5 s) only the first second.
    run(core, 7200, 8200, ['s2']);
    expect(core.member('s2')!.state).toBe('down');
    for (const id of ['s1', 's3', 's4']) expect(core.member(id)!.state).toBe('up');
  });

  it('without stall credit the same pause would have marked every node down', () => {
    const core = formed(4, { expectedStorage: 4, stallAfterMs: Infinity });
    run(core, 0, 2000);
    core.tick(7000);
    expect(core.listMembers().filter((m) => m.state === 'down')).toHaveLength(4);
  });
});

describe('placement off the request path', () => {
  it('a join is placed at the next tick, and joins between two ticks make one placement and one epoch', () => {
    const core = formed(3);
    const epoch = core.epoch();
    core.register(storage(4), 10);
    core.register(storage(5), 20);
    // Registering changed nothing published yet: no placement ran in the request.
    expect(core.epoch()).toBe(epoch);
    expect(core.listMoves()).toEqual([]);
    expect(core.hasPendingChanges()).toBe(true);
    expect(core.tick(100)).toBe(true);
    expect(core.epoch()).toBe(epoch + 1);
    expect(pendingFor(core, 's4')).toBeGreaterThan(100);
    expect(pendingFor(core, 's5')).toBeGreaterThan(100);
    expect(core.listMoves().every((m) => m.reason === 'join')).toBe(true);
  });
});

describe('forming the first table', () => {
  it('forms it at a tick once enough nodes are up again, not only on a registration', () => {
    const core = new ControllerCore({ ...CONFIG, expectedStorage: 3 });
    core.register(storage(1), 0);
    core.register(storage(2), 0);
    // s1 and s2 fall silent before the third node registers: no table yet.
    core.tick(4000);
    expect(core.member('s1')!.state).toBe('down');
    core.register(storage(3), 4000);
    expect(core.table()).toBeNull();
    // They come back: the next tick forms the table.
    core.heartbeat('s1', 4100);
    core.heartbeat('s2', 4100);
    expect(core.tick(4100)).toBe(true);
    expect(core.epoch()).toBe(1);
  });
});

describe('placement computed elsewhere (deferPlacement)', () => {
  /** The app's part: compute a request's placement as the worker thread would. */
  function compute(core: ControllerCore, t: number) {
    const req = core.takePlanRequest();
    if (!req) throw new Error('no plan request');
    return { req, outcome: core.completePlan(req.id, computePlacement(req.input), t) };
  }

  it('forms the first table from a request taken at a tick, the same table as in place', () => {
    const core = new ControllerCore({ ...CONFIG, deferPlacement: true });
    for (const i of [1, 2, 3]) core.register(storage(i), 0);
    expect(core.hasPendingChanges()).toBe(true);
    expect(core.tick(10)).toBe(false);
    expect(core.table()).toBeNull();
    expect(core.planInFlight()).toBe(true);
    // One request at a time: the next tick asks for nothing more while it is computed.
    const { req, outcome } = (() => {
      core.tick(20);
      return compute(core, 30);
    })();
    expect(req.first).toBe(true);
    expect(core.takePlanRequest()).toBeNull();
    expect(outcome).toEqual({ outcome: 'applied', published: true, replanOwed: false });
    expect(core.epoch()).toBe(1);
    expect(core.table()!.partitions).toEqual(formed(3).table()!.partitions);
  });

  it('a node joining while a plan is computed is placed by the next plan; the first is applied meanwhile', () => {
    const core = new ControllerCore({ ...CONFIG, deferPlacement: true });
    for (const i of [1, 2, 3]) core.register(storage(i), 0);
    core.tick(0);
    compute(core, 0);
    expect(core.planning()).toBe(false);
    core.register(storage(4), 100);
    // Owed, then being computed: a view shows the moves are about to change.
    expect(core.planning()).toBe(true);
    core.tick(100);
    expect(core.planning()).toBe(true);
    const req = core.takePlanRequest()!;
    core.register(storage(5), 150);
    expect(core.completePlan(req.id, computePlacement(req.input), 200)).toEqual({ outcome: 'applied', published: false, replanOwed: true });
    expect(core.planning()).toBe(true);
    expect(core.tick(300)).toBe(true);
    expect(pendingFor(core, 's4')).toBeGreaterThan(0);
    expect(pendingFor(core, 's5')).toBe(0);
    // The next tick asks for the plan that places s5 too.
    core.tick(400);
    expect(compute(core, 400).outcome).toEqual({ outcome: 'applied', published: false, replanOwed: false });
    expect(core.planning()).toBe(false);
    expect(core.tick(500)).toBe(true);
    expect(pendingFor(core, 's5')).toBeGreaterThan(0);
  });

  it('drops a plan that names a node decommissioned while it was computed, and plans again without it', () => {
    const core = new ControllerCore({ ...CONFIG, expectedStorage: 4, deferPlacement: true });
    for (const i of [1, 2, 3, 4]) core.register(storage(i), 0);
    core.tick(0);
    compute(core, 0);
    core.register(storage(5), 100);
    core.tick(100);
    const stale = core.takePlanRequest()!;
    core.decommission('s2', 150);
    expect(core.completePlan(stale.id, computePlacement(stale.input), 200)).toEqual({ outcome: 'stale' });
    expect(core.listMoves()).toEqual([]);
    // A result nobody asked for (or asked for before) changes nothing.
    expect(core.completePlan(stale.id, computePlacement(stale.input), 200)).toEqual({ outcome: 'unknown' });
    core.tick(300);
    const { req } = compute(core, 300);
    expect(req.input.nodes.map((n) => n.id)).toEqual(['s1', 's3', 's4', 's5']);
    core.tick(400);
    expect(pendingFor(core, 's2')).toBe(0);
    expect(pendingFor(core, 's5')).toBeGreaterThan(0);
    expect(core.listMoves().filter((m) => m.node === 's2')).toEqual([]);
  });

  it('publishes other changes (a node down) while a plan is being computed', () => {
    const core = new ControllerCore({ ...CONFIG, deferPlacement: true });
    for (const i of [1, 2, 3]) core.register(storage(i), 0);
    core.tick(0);
    compute(core, 0);
    core.register(storage(4), 100);
    core.tick(100);
    expect(core.planInFlight()).toBe(true);
    beat(core, 3000, ['s3']);
    expect(core.tick(3500)).toBe(true);
    expect(core.table()!.nodes.s3.state).toBe('down');
  });
});

describe('a controller that runs late', () => {
  it('gives a heartbeating node more time in proportion to its own loop delay, not a dead one for ever', () => {
    const late = formed(3);
    const onTime = formed(3);
    for (const core of [late, onTime]) beat(core, 0);
    // Heartbeats were read 400 ms late: a 3.5 s gap is not yet a verdict for the late controller.
    late.tick(1000, 400);
    onTime.tick(1000, 0);
    expect(late.latenessCreditMs(3500)).toBe(800);
    for (const core of [late, onTime]) core.tick(3500);
    expect(late.member('s1')!.state).toBe('up');
    expect(onTime.member('s1')!.state).toBe('down');
    // Silent beyond down-after plus the credit: down all the same.
    late.tick(3900);
    expect(late.member('s1')!.state).toBe('down');
  });

  it('gives more time while its loop is saturated, though its timers run on time', () => {
    const core = formed(3, { latenessCreditMsMax: 2000 });
    beat(core, 0);
    core.tick(1000, 0, 1);
    core.tick(4500);
    expect(core.member('s1')!.state).toBe('up');
    core.tick(5001);
    expect(core.member('s1')!.state).toBe('down');
  });

  it('caps the credit at latenessCreditMsMax however late it runs', () => {
    const core = formed(3, { latenessCreditMsMax: 1000 });
    beat(core, 0);
    core.tick(100, 60_000);
    core.tick(4001);
    expect(core.member('s1')!.state).toBe('down');
  });
});
