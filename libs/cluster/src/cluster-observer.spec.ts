import type { NodeState, PartitionTable } from '@fog/protocol';
import { ClusterObserver } from './cluster-observer';
import type { Member } from './member';

const member = (id: string, state: NodeState): Member => ({ id, role: 'storage', address: `h:${id}`, zone: 'z', weight: 1, state, registeredAtMs: 0, lastHeartbeatMs: 0 });

function table(epoch: number, states: Record<string, NodeState>): PartitionTable {
  const nodes = Object.fromEntries(Object.entries(states).map(([id, state]) => [id, { id, address: `h:${id}`, zone: 'z', weight: 1, state }]));
  return { epoch, digits: 1, redundancy: 3, nodes, partitions: Array.from({ length: 16 }, () => ({ replicas: ['a', 'b', 'c'], pending: [] })) };
}

describe('cluster observer', () => {
  it('tells a story: registrations, a table, a node going down and the health it costs, then recovery', () => {
    const o = new ClusterObserver();
    const up = { a: 'up', b: 'up', c: 'up' } as const;
    let obs = o.observe(0, { members: [member('a', 'up'), member('b', 'up'), member('c', 'up')], table: table(1, up), movesPending: 0 });
    expect(obs.events.map((e) => e.kind)).toEqual(['node', 'node', 'node', 'epoch']);
    expect(obs.healthChange).toBeNull(); // a first table with every partition healthy is no change
    obs = o.observe(100, { members: [member('a', 'down'), member('b', 'up'), member('c', 'up')], table: table(2, { ...up, a: 'down' }), movesPending: 0 });
    expect(obs.events.map((e) => e.message)).toEqual(['a: up → down', 'table published: epoch 2', 'partitions: 0 healthy, 16 under-replicated, 0 unavailable']);
    expect(obs.healthChange).toEqual({ from: { healthy: 16, underReplicated: 0, unavailable: 0 }, to: { healthy: 0, underReplicated: 16, unavailable: 0 }, noneUp: 0 });
    // Nothing changed: nothing recorded.
    expect(o.observe(150, { members: [member('a', 'down'), member('b', 'up'), member('c', 'up')], table: table(2, { ...up, a: 'down' }), movesPending: 0 })).toEqual({ events: [], healthChange: null });
    obs = o.observe(200, { members: [member('a', 'up'), member('b', 'up'), member('c', 'up')], table: table(3, up), movesPending: 0 });
    expect(obs.healthChange?.to).toEqual({ healthy: 16, underReplicated: 0, unavailable: 0 });
    expect(o.events().map((e) => e.kind)).toEqual(['node', 'node', 'node', 'epoch', 'node', 'epoch', 'health', 'node', 'epoch', 'health']);
  });

  it('folds a run of tables with nothing else between into one event', () => {
    const o = new ClusterObserver();
    for (let e = 1; e <= 5; e++) o.observe(e * 10, { members: [], table: table(e, { a: 'up', b: 'up', c: 'up' }), movesPending: 0 });
    expect(o.events()).toEqual([{ atMs: 50, kind: 'epoch', epoch: 5, message: 'tables published: epoch 1 → 5' }]);
  });

  it('says when the first table is already unhealthy', () => {
    const o = new ClusterObserver();
    const obs = o.observe(0, { members: [], table: table(1, { a: 'up', b: 'up', c: 'down' }), movesPending: 0 });
    expect(obs.healthChange?.from).toBeNull();
    expect(obs.healthChange?.to.underReplicated).toBe(16);
  });

  it('marks decommissions and moves starting and ending', () => {
    const o = new ClusterObserver();
    o.observe(0, { members: [member('a', 'up')], table: null, movesPending: 0 });
    let obs = o.observe(1, { members: [member('a', 'leaving')], table: null, movesPending: 12 });
    expect(obs.events.map((e) => [e.kind, e.message])).toEqual([['decommission', 'a: up → leaving'], ['moves', 'moves started: 12 replicas to copy']]);
    obs = o.observe(2, { members: [member('a', 'left')], table: null, movesPending: 0 });
    expect(obs.events.map((e) => [e.kind, e.message])).toEqual([['decommission', 'a: leaving → left'], ['moves', 'all moves complete']]);
  });

  it('keeps at most eventsMax events, the newest', () => {
    const o = new ClusterObserver(3);
    for (let i = 0; i < 10; i++) o.observe(i, { members: [member('a', i % 2 ? 'up' : 'down')], table: null, movesPending: 0 });
    const ev = o.events();
    expect(ev).toHaveLength(3);
    expect(ev.map((e) => e.atMs)).toEqual([7, 8, 9]);
  });

  it('computes health once per epoch', () => {
    const o = new ClusterObserver();
    const t = table(5, { a: 'up', b: 'up', c: 'up' });
    expect(o.health(t)).toBe(o.health(t));
    expect(o.health(null)).toBeNull();
  });
});
