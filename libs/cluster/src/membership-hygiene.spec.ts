import { ControllerCore, type ControllerConfig } from './controller-core';

/** Registration checks, copy reports from the pending replica only, forgetting nodes. */
const CONFIG: ControllerConfig = {
  expectedStorage: 3, redundancy: 3, digits: 1, downAfterMs: 3000, outAfterMs: 10_000, suspectAfterMs: 1500, syncPublishIntervalMs: 0, frontendForgetAfterMs: 60_000,
};
const storage = (i: number, port = 7100 + i) => ({ id: `s${i}`, role: 'storage', address: `127.0.0.1:${port}`, zone: 'z', weight: 1 });
const frontend = (i: number) => ({ id: `f${i}`, role: 'frontend', address: `127.0.0.1:${8000 + i}`, zone: 'z', weight: 1 });

function formed(n = 3): ControllerCore {
  const core = new ControllerCore(CONFIG);
  for (let i = 1; i <= n; i++) core.register(storage(i), 0);
  core.tick(0);
  return core;
}

function beat(core: ControllerCore, t: number, silent: string[] = []): void {
  for (const m of core.listMembers()) if (!silent.includes(m.id)) core.heartbeat(m.id, t);
}

/** Let `id` fall silent until it is out; everyone else heartbeats. */
function goOut(core: ControllerCore, id: string, from: number): number {
  let t = from;
  for (; t <= from + CONFIG.outAfterMs + 1000; t += 500) {
    beat(core, t, [id]);
    core.tick(t);
  }
  return t;
}

describe('registration of an id already registered', () => {
  it('refuses another address while the registered node is up, and changes nothing', () => {
    const core = formed();
    const table = JSON.stringify(core.table());
    expect(() => core.register(storage(1, 9999), 100)).toThrow(expect.objectContaining({ code: 'FOG_ERR_CLUSTER_MISMATCH', details: expect.objectContaining({ reason: 'id_taken' }) }));
    expect(core.member('s1')!.address).toBe('127.0.0.1:7101');
    expect(JSON.stringify(core.table())).toBe(table);
  });

  it('accepts the same address again (a restart)', () => {
    const core = formed();
    expect(core.register(storage(1), 100).previousAddress).toBeUndefined();
  });

  it.each(['down', 'out'] as const)('lets the id move to another address once its node is %s, and says where it was', (state) => {
    const core = formed(4);
    let t = 0;
    if (state === 'down') {
      for (t = 500; t <= 3500; t += 500) {
        beat(core, t, ['s1']);
        core.tick(t);
      }
    } else t = goOut(core, 's1', 0);
    expect(core.member('s1')!.state).toBe(state);
    const r = core.register(storage(1, 9999), t);
    expect(r.previousAddress).toBe('127.0.0.1:7101');
    expect(core.member('s1')!.address).toBe('127.0.0.1:9999');
  });

  it('refuses another address while the node is leaving', () => {
    const core = formed(4);
    core.decommission('s1', 0);
    expect(() => core.register(storage(1, 9999), 1)).toThrow(expect.objectContaining({ code: 'FOG_ERR_CLUSTER_MISMATCH' }));
  });
});

describe('copy reports', () => {
  function joining(): { core: ControllerCore; p: number } {
    const core = formed();
    core.register(storage(4), 100);
    core.tick(100);
    const p = core.table()!.partitions.findIndex((e) => e.pending.includes('s4'));
    expect(p).toBeGreaterThanOrEqual(0);
    return { core, p };
  }
  const report = (p: number, epoch: number, core?: ControllerCore) => ({ partition: p, epoch, keysCopied: 1, bytesCopied: 1, done: true, sources: core?.table()!.partitions[p].replicas ?? [] });

  it.each<[string, string, (core: ControllerCore, p: number) => number, string]>([
    ['an active replica claims the copy of a partition it is not pending for', 's1', (core) => core.epoch(), 'FOG_ERR_WRONG_NODE'],
    ['a made-up node id', 'ghost', (core) => core.epoch(), 'FOG_ERR_NODE_NOT_FOUND'],
    ['a frontend id', 'f1', (core) => core.epoch(), 'FOG_ERR_NODE_NOT_FOUND'],
  ])('refuses %s', (_name, id, epoch, code) => {
    const { core, p } = joining();
    core.register(frontend(1), 100);
    expect(() => core.handoff(id, report(p, epoch(core, p)), 200)).toThrow(expect.objectContaining({ code }));
    expect(core.listMoves().every((m) => !m.done)).toBe(true);
    expect(core.tick(200)).toBe(false);
  });

  it('accepts a report from the pending node while it is down (it is evidently alive)', () => {
    const { core, p } = joining();
    for (let t = 500; t <= 4000; t += 500) {
      beat(core, t, ['s4']);
      core.tick(t);
    }
    expect(core.member('s4')!.state).toBe('down');
    expect(core.handoff('s4', report(p, core.epoch(), core), 4000).done).toBe(true);
  });

  it('refuses a report from a node that went out', () => {
    const { core, p } = joining();
    let t = 500;
    for (; core.member('s4')!.state !== 'out'; t += 500) {
      beat(core, t, ['s4']);
      core.tick(t);
    }
    expect(() => core.handoff('s4', report(p, core.epoch(), core), t)).toThrow(expect.objectContaining({ code: 'FOG_ERR_WRONG_NODE' }));
  });

  it('accepts the pending replica itself', () => {
    const { core, p } = joining();
    expect(core.handoff('s4', report(p, core.epoch(), core), 200).done).toBe(true);
  });
});

describe('forgetting nodes', () => {
  it('refuses an up, down or leaving node with FOG_ERR_NODE_NOT_REMOVABLE, and an unknown one with 404', () => {
    const core = formed(4);
    expect(() => core.forget('s1')).toThrow(expect.objectContaining({ code: 'FOG_ERR_NODE_NOT_REMOVABLE', status: 409 }));
    core.decommission('s2', 0);
    expect(() => core.forget('s2')).toThrow(expect.objectContaining({ code: 'FOG_ERR_NODE_NOT_REMOVABLE' }));
    expect(() => core.forget('nobody')).toThrow(expect.objectContaining({ code: 'FOG_ERR_NODE_NOT_FOUND' }));
    expect(core.member('s1')).toBeDefined();
  });

  it('forgets a left node, and the next table no longer lists it', () => {
    const core = formed(4);
    core.decommission('s4', 0);
    core.tick(1);
    for (const [p, e] of core.table()!.partitions.entries()) {
      for (const id of e.pending) core.handoff(id, { partition: p, epoch: core.epoch(), keysCopied: 0, bytesCopied: 0, done: true, sources: e.replicas }, 2);
    }
    core.tick(3);
    core.tick(4);
    expect(core.member('s4')!.state).toBe('left');
    expect(core.forget('s4').id).toBe('s4');
    expect(core.member('s4')).toBeUndefined();
  });

  it('forgets an out storage node once its partitions are replaced, and publishes a table without it', () => {
    const core = formed(4);
    const t = goOut(core, 's4', 0);
    expect(core.member('s4')!.state).toBe('out');
    for (const [p, e] of core.table()!.partitions.entries()) {
      for (const id of e.pending) core.handoff(id, { partition: p, epoch: core.epoch(), keysCopied: 0, bytesCopied: 0, done: true, sources: e.replicas }, t);
    }
    core.tick(t + 1);
    expect(core.table()!.partitions.some((e) => e.replicas.includes('s4') || e.pending.includes('s4'))).toBe(false);
    expect(core.table()!.nodes.s4?.state).toBe('out');
    const epoch = core.epoch();
    core.forget('s4');
    expect(core.tick(t + 2)).toBe(true);
    expect(core.epoch()).toBe(epoch + 1);
    expect(core.table()!.nodes.s4).toBeUndefined();
  });

  it('forgets an out frontend on request, and on its own after frontendForgetAfterMs', () => {
    const core = formed();
    core.register(frontend(1), 0);
    core.register(frontend(2), 0);
    let t = goOut(core, 'f1', 0);
    expect(core.member('f1')!.state).toBe('out');
    // f2 keeps heartbeating through goOut; now let it go out too.
    expect(core.forget('f1').id).toBe('f1');
    // Ticks as often as the controller's (a longer gap would count as its own stall).
    for (const end = t + CONFIG.frontendForgetAfterMs! + 1000; t <= end; t += 200) {
      beat(core, t, ['f2']);
      core.tick(t);
    }
    expect(core.member('f2')).toBeUndefined();
    expect(core.member('s1')!.state).toBe('up');
  });

  it('keeps a frontend that is out for less than frontendForgetAfterMs', () => {
    const core = formed();
    core.register(frontend(1), 0);
    const t = goOut(core, 'f1', 0);
    expect(core.member('f1')!.state).toBe('out');
    core.tick(t + 1000);
    expect(core.member('f1')).toBeDefined();
  });

  it('refuses a forget period not longer than outAfterMs', () => {
    expect(() => new ControllerCore({ ...CONFIG, frontendForgetAfterMs: CONFIG.outAfterMs })).toThrow(/frontendForgetAfterMs/);
  });
});
