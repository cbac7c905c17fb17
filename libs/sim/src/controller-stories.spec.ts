// The controller's membership stories (libs/cluster's membership-scenarios.spec.ts tells them to
// the core alone, with copies and heartbeats scripted) played by the whole cluster: real storage
// nodes copy, run anti-entropy and persist, frontends serve a recorded workload, and every
// invariant of the simulation is checked while the story happens.
import { formatFailure, runSimulation, type FaultKind, type SimResult } from './simulation';

/** Long enough for a copy or a decommission to finish under load, short enough for a unit test. */
const FAULT_PHASE_MS = 20_000;

async function story(kind: FaultKind, seed = 1): Promise<SimResult> {
  const r = await runSimulation({ seed, faultPhaseMs: FAULT_PHASE_MS, faultKinds: [kind] });
  if (r.failure) throw new Error(formatFailure(r));
  expect(r.faults).toBeGreaterThan(0);
  expect(r.convergenceMs).not.toBeNull();
  expect(r.ops.writesAcked).toBeGreaterThan(100);
  return r;
}

const storageNodes = (r: SimResult) => r.finalMembers.filter((m) => m.role === 'storage');

describe('controller stories on the whole cluster', () => {
  jest.setTimeout(60_000);

  it('a node joins under load: it copies its share and ends an active replica, no write lost', async () => {
    const r = await story('join');
    const nodes = storageNodes(r);
    expect(nodes).toHaveLength(6);
    for (const n of nodes) expect({ id: n.id, state: n.state, holds: n.activePartitions > 0 }).toEqual({ id: n.id, state: 'up', holds: true });
  });

  it('a decommissioned node hands every partition away and leaves; the others keep K replicas', async () => {
    const r = await story('decommission');
    const left = storageNodes(r).filter((n) => n.state === 'left');
    expect(left).toHaveLength(1);
    expect(left[0].activePartitions).toBe(0);
    const held = storageNodes(r).reduce((sum, n) => sum + n.activePartitions, 0);
    expect(held).toBe(16 * 3);
  });

  it('a node silent past out-after is re-replicated and, back, holds a share again', async () => {
    const r = await story('long-crash');
    expect(r.nodesEverOut).toHaveLength(1);
    for (const n of storageNodes(r)) expect({ id: n.id, state: n.state, holds: n.activePartitions > 0 }).toEqual({ id: n.id, state: 'up', holds: true });
  });

  it('the controller restarts from its state under load: epochs only grow, nothing pending for ever', async () => {
    const r = await story('controller-restart');
    expect(r.nodesEverOut).toEqual([]);
    expect(storageNodes(r).every((n) => n.state === 'up')).toBe(true);
  });

  it('a replica whose disk was lost copies its partitions back before it serves reads', async () => {
    const r = await story('disk-loss');
    expect(storageNodes(r).every((n) => n.state === 'up' && n.activePartitions > 0)).toBe(true);
  });
});
