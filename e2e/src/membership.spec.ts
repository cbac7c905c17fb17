import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionOf } from '@fog/partitioning';
import type { ClusterView, PartitionTable } from '@fog/protocol';
import { AppProcess, freePort, getJson, hostPort, installProcessSafetyNet, makeTempDir, removeTempDir, request, useCluster, waitFor, type Cluster } from './harness';

installProcessSafetyNet();

// Fast failure detection so that down/out happen within seconds, with margins wide enough for
// a busy 2-core machine.
const HEARTBEAT_MS = 200;
const DOWN_AFTER_MS = 1500;
const OUT_AFTER_MS = 4000;
const CONTROLLER_FLAGS = [
  '--heartbeat-interval-ms', String(HEARTBEAT_MS), '--down-after-ms', String(DOWN_AFTER_MS),
  '--out-after-ms', String(OUT_AFTER_MS), '--tick-interval-ms', '100',
];
const NODE_FLAGS = ['--heartbeat-interval-ms', String(HEARTBEAT_MS)];
const K = 3;
const D = 2;

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;


/**
 * Writes distinct keys in a loop through the given frontends until stopped, and remembers
 * which writes were acknowledged (200). What was acknowledged must never be lost.
 */
class Writer {
  readonly acked = new Map<string, string>();
  readonly refused: string[] = [];
  private stopped = false;
  private loop: Promise<void> | null = null;
  private n = 0;

  constructor(private readonly prefix: string, private readonly frontends: () => string[]) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const i = this.n++;
        const k = `${run}/${this.prefix}/${i}`;
        const v = `value-${i}-${randomBytes(3).toString('hex')}`;
        const fes = this.frontends();
        const res = await request('PUT', `${fes[i % fes.length]}/v1/kv/${enc(k)}`, v).catch((e: Error) => ({ status: 0, text: e.message }));
        if (res.status === 200) this.acked.set(k, v);
        else this.refused.push(`${k}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

async function view(c: Cluster): Promise<ClusterView> {
  return getJson<ClusterView>(`${c.controllerUrl}/v1/cluster`);
}

/** Every acknowledged write reads back with its value through a quorum read. */
async function expectAllReadable(c: Cluster, acked: Map<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [k, v] of acked) {
    const res = await request('GET', `${c.frontendUrl(0)}/v1/kv/${enc(k)}`);
    if (res.status !== 200 || res.text !== v) missing.push(`${k}: ${res.status} ${res.text.slice(0, 80)}`);
  }
  expect(missing).toEqual([]);
}

/** Key lists of every running storage node, by node id. */
async function keysByNode(c: Cluster, indexes: number[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const i of indexes) {
    const body = await getJson<{ id: string; keys: Array<{ key: string; tombstone: boolean }> }>(`${c.storageUrl(i)}/v1/keys?limit=100000`);
    out.set(body.id, new Set(body.keys.filter((k) => !k.tombstone).map((k) => k.key)));
  }
  return out;
}

/** Every acknowledged key is held by every one of the K active replicas the table names. */
async function expectOnAllReplicas(c: Cluster, acked: Map<string, string>, live: number[]): Promise<void> {
  const table = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
  const held = await keysByNode(c, live);
  const problems: string[] = [];
  for (const k of acked.keys()) {
    const entry = table.partitions[partitionOf(k, D)];
    if (entry.replicas.length !== K || entry.pending.length !== 0) problems.push(`${k}: partition has ${entry.replicas.length} active, ${entry.pending.length} pending`);
    for (const id of entry.replicas) if (!held.get(id)?.has(k)) problems.push(`${k} missing on ${id}`);
  }
  expect(problems.slice(0, 20)).toEqual([]);
}

function waitMovesDone(c: Cluster, what: string, timeoutMs = 60_000): Promise<ClusterView> {
  // Moves leave the list when the copy is reported; the table without the pending replica is
  // published on the controller's next tick, so also wait until no node shows pending partitions.
  return waitFor(() => view(c), {
    what, timeoutMs, intervalMs: 100,
    until: (v) => !v.planning && v.movesPending === 0 && v.moves.length === 0 && v.nodes.every((n) => !n.pendingPartitions),
  });
}

describe('a storage node joins under continuous writes', () => {
  const { cluster, it } = useCluster({
    storage: 3, frontends: 2, redundancy: K, digits: D, label: 'join',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('copies its share while writes go on, loses no acknowledged write, and ends balanced', async () => {
    const c = cluster();
    const writer = new Writer('join', () => [c.frontendUrl(0), c.frontendUrl(1)]);
    // Data that exists before the join must be copied, not only new writes.
    writer.start();
    await waitFor(() => writer.acked.size, { what: '150 writes before the join', until: (n) => n >= 150, timeoutMs: 30_000 });
    const before = await view(c);
    const idx = await c.addStorage();
    const newId = c.storageId(idx);
    // The move is visible while it runs: the newcomer is pending for partitions.
    const during = await waitFor(() => view(c), {
      what: 'the newcomer to appear with pending partitions or finished moves',
      until: (v) => v.nodes.some((n) => n.id === newId && ((n.pendingPartitions ?? 0) > 0 || (n.partitions ?? 0) > 0)),
    });
    expect(during.epoch).toBeGreaterThan(before.epoch);
    const after = await waitMovesDone(c, 'the join moves to finish');
    await sleep(300);
    await writer.stop();

    expect(writer.refused).toEqual([]);
    expect(writer.acked.size).toBeGreaterThan(150);
    await expectAllReadable(c, writer.acked);
    await expectOnAllReplicas(c, writer.acked, [0, 1, 2, 3]);

    // Balanced: 256 * 3 slots over 4 equal nodes is 192 each.
    const final = await view(c);
    const counts = final.nodes.filter((n) => n.role === 'storage').map((n) => n.partitions ?? 0);
    expect(counts).toHaveLength(4);
    for (const n of counts) expect(Math.abs(n - 192)).toBeLessThanOrEqual(2);
    expect(after.epoch).toBeGreaterThan(during.epoch - 1);
    // The first table and the join were placed on the controller's worker thread, not on its event loop.
    const metrics = await request('GET', `${c.controllerUrl}/metrics`);
    const onWorker = /fog_controller_placement_seconds_count\{[^}]*where="worker"[^}]*outcome="applied"[^}]*\} (\d+)/.exec(metrics.text)?.[1];
    expect(Number(onWorker ?? 0)).toBeGreaterThanOrEqual(2);
    expect(metrics.text).not.toMatch(/fog_controller_placement_seconds_count\{[^}]*where="in-thread"/);
  }, 120_000);
});

describe('a storage node is killed', () => {
  const { cluster, it } = useCluster({
    storage: 4, frontends: 2, redundancy: K, digits: D, label: 'kill',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('is marked down in time, requests keep succeeding, and after out every partition has K replicas again', async () => {
    const c = cluster();
    const writer = new Writer('kill', () => [c.frontendUrl(0), c.frontendUrl(1)]);
    writer.start();
    await waitFor(() => writer.acked.size, { what: '100 writes before the kill', until: (n) => n >= 100, timeoutMs: 30_000 });
    const victim = c.storageId(1);
    const killedAt = Date.now();
    await c.killStorage(1, 'SIGKILL');

    const down = await waitFor(() => view(c), {
      what: `${victim} to be marked down`, intervalMs: 50, timeoutMs: 20_000,
      until: (v) => v.nodes.some((n) => n.id === victim && n.state !== 'up'),
    });
    const downAfter = Date.now() - killedAt;
    // Down within the configured silence plus a heartbeat and a tick of slack (and scheduling).
    expect(downAfter).toBeLessThan(DOWN_AFTER_MS + 3000);
    expect(down.nodes.find((n) => n.id === victim)!.state).toMatch(/down|out/);

    await waitFor(() => view(c), {
      what: `${victim} to be out`, intervalMs: 100, timeoutMs: 30_000,
      until: (v) => v.nodes.some((n) => n.id === victim && n.state === 'out'),
    });
    await waitMovesDone(c, 're-replication to finish');
    await sleep(300);
    await writer.stop();

    // Quorum writes kept succeeding throughout: one of three replicas missing never fails w=2.
    expect(writer.refused).toEqual([]);
    await expectAllReadable(c, writer.acked);
    await expectOnAllReplicas(c, writer.acked, [0, 2, 3]);
    const table = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
    for (const e of table.partitions) expect(e.replicas).not.toContain(victim);
  }, 120_000);
});

describe('decommission and fencing', () => {
  const { cluster, it } = useCluster({
    storage: 4, frontends: 2, redundancy: K, digits: D, label: 'decommission',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('a dry-run plan shows what would move and moves nothing', async () => {
    const c = cluster();
    const before = await view(c);
    const plan = await getJson<{ replicasMoved: number; moves: Array<{ partition: number; added: string[]; removed: string[] }> }>(
      `${c.controllerUrl}/v1/cluster/plan?remove=${enc(c.storageId(3))}`,
    );
    expect(plan.replicasMoved).toBe(before.nodes.find((n) => n.id === c.storageId(3))!.partitions);
    expect(plan.moves.every((m) => m.removed.length === 1 && m.removed[0] === c.storageId(3))).toBe(true);
    const add = await getJson<{ replicasMoved: number }>(`${c.controllerUrl}/v1/cluster/plan?add=newcomer&zone=default`);
    expect(add.replicasMoved).toBeGreaterThan(100);
    expect(add.replicasMoved).toBeLessThanOrEqual(Math.ceil((256 * 3) / 5 * 1.1) + 1);
    expect((await request('GET', `${c.controllerUrl}/v1/cluster/plan`)).status).toBe(400);
    expect((await request('GET', `${c.controllerUrl}/v1/cluster/plan?remove=nobody`)).status).toBe(404);
    expect((await view(c)).epoch).toBe(before.epoch);
  });

  it('hands every partition away under writes, loses nothing, and the node ends holding none', async () => {
    const c = cluster();
    const leaving = c.storageId(3);
    const writer = new Writer('decom', () => [c.frontendUrl(0), c.frontendUrl(1)]);
    writer.start();
    await waitFor(() => writer.acked.size, { what: '100 writes before decommission', until: (n) => n >= 100, timeoutMs: 30_000 });
    const res = await request('POST', `${c.controllerUrl}/v1/cluster/nodes/${enc(leaving)}/decommission`);
    expect(res.status).toBe(202);
    await waitFor(() => view(c), {
      what: `${leaving} to have left`, timeoutMs: 60_000, intervalMs: 100,
      until: (v) => v.nodes.some((n) => n.id === leaving && n.state === 'left'),
    });
    await writer.stop();
    expect(writer.refused).toEqual([]);
    const v = await view(c);
    expect(v.nodes.find((n) => n.id === leaving)!.partitions).toBe(0);
    // Told it may stop: its /health says so; stopping it now loses nothing.
    await waitFor(() => getJson<{ state: string }>(`${c.storageUrl(3)}/health`), { what: 'the node to learn it has left', until: (h) => h.state === 'left' });
    await c.killStorage(3, 'SIGTERM');
    await expectAllReadable(c, writer.acked);
    await expectOnAllReplicas(c, writer.acked, [0, 1, 2]);
    // Refused: a second decommission that would leave fewer than K nodes.
    const refused = await request('POST', `${c.controllerUrl}/v1/cluster/nodes/${enc(c.storageId(0))}/decommission`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.text).error.code).toBe('FOG_ERR_BAD_REQUEST');
  }, 120_000);
});

describe('a frontend with a stale table', () => {
  // This frontend advertises an address the controller cannot reach (pushes fail) and
  // heartbeats rarely: its table goes stale, and only epoch fencing can tell it.
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: K, digits: D, label: 'stale',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('is fenced by a storage node and recovers by fetching the new table', async () => {
    const c = cluster();
    const port = await freePort();
    const unreachable = await freePort();
    const logDir = makeTempDir('stale-frontend');
    const fe = AppProcess.spawn({
      app: 'frontend', name: 'stale-frontend', logDir,
      args: [hostPort(Number(new URL(c.controllerUrl).port)), hostPort(unreachable), '--port', String(port), '--id', 'frontend-stale', '--heartbeat-interval-ms', '600000'],
      lifetime: 'test',
    });
    const url = `http://${hostPort(port)}`;
    try {
      await waitFor(() => getJson<{ epoch: number }>(`${url}/health`), { what: 'the stale frontend to get the first table', until: (h) => h.epoch >= 1 });
      const staleEpoch = (await getJson<{ epoch: number }>(`${url}/health`)).epoch;
      // Move data: a fourth node joins and takes a share; old replicas are fenced for what they gave away.
      const newcomer = await c.addStorage();
      const v = await waitMovesDone(c, 'the join to finish');
      expect(v.epoch).toBeGreaterThan(staleEpoch);
      expect((await getJson<{ epoch: number }>(`${url}/health`)).epoch).toBe(staleEpoch);
      // A key whose partition moved to the newcomer: the stale table still names the node that gave it away.
      const newTable = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
      let k = '';
      for (let i = 0; i < 10_000 && !k; i++) {
        const cand = `${run}/stale/${i}`;
        if (newTable.partitions[partitionOf(cand, D)].replicas.includes(c.storageId(newcomer))) k = cand;
      }
      expect(k).not.toBe('');
      const put = await request('PUT', `${url}/v1/kv/${enc(k)}`, 'fenced-then-fine');
      expect(put.status).toBe(200);
      await waitFor(async () => [(await getJson<{ epoch: number }>(`${url}/health`)).epoch, (await view(c)).epoch], {
        what: 'the stale frontend to catch up with the controller\'s epoch', until: ([mine, theirs]) => mine === theirs,
      });
      const read = await request('GET', `${c.frontendUrl(0)}/v1/kv/${enc(k)}?r=all`);
      expect(read.status).toBe(200);
      expect(read.text).toBe('fenced-then-fine');
      const storageMetrics = await Promise.all([0, 1, 2].map((i) => request('GET', `${c.storageUrl(i)}/metrics`)));
      const fenced = storageMetrics.map((m) => /fog_storage_writes_total\{outcome="fenced"[^}]*\} (\d+)/.exec(m.text)?.[1] ?? '0').map(Number);
      expect(fenced.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await fe.stop(3000);
      removeTempDir(logDir);
    }
  }, 120_000);
});

describe('the controller stops and restarts', () => {
  const dataDir = makeTempDir('controller-data');
  afterAll(() => removeTempDir(dataDir));
  const { cluster, it } = useCluster({
    storage: 3, frontends: 2, redundancy: K, digits: D, label: 'controller-restart',
    controllerArgs: [...CONTROLLER_FLAGS, '--data-dir', dataDir], storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('keeps the data path serving while it is away, and resumes with the same epoch and table', async () => {
    const c = cluster();
    const tableBefore = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
    expect(fs.existsSync(path.join(dataDir, 'controller-state.json'))).toBe(true);
    await c.stopController('SIGKILL');
    const acked = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const k = `${run}/ctl-away/${i}`;
      const res = await request('PUT', `${c.frontendUrl(i % 2)}/v1/kv/${enc(k)}`, `v${i}`);
      expect(res.status).toBe(200);
      acked.set(k, `v${i}`);
    }
    // Longer than the node's out threshold would be if the controller were counting: it is not.
    await sleep(OUT_AFTER_MS / 2);
    await expectAllReadable(c, acked);

    await c.restartController();
    const tableAfter = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
    expect(tableAfter.epoch).toBe(tableBefore.epoch);
    expect(tableAfter.partitions).toEqual(tableBefore.partitions);
    // Nodes heartbeat again and nobody is declared down for the controller's absence.
    await sleep(DOWN_AFTER_MS + 500);
    const v = await view(c);
    expect(v.nodes.filter((n) => n.state !== 'up')).toEqual([]);
    expect(v.epoch).toBe(tableBefore.epoch);
    await expectAllReadable(c, acked);
  }, 120_000);
});

describe('in-memory replicas that restart empty', () => {
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: K, digits: D, label: 'restart-empty',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('copy their partitions back before serving reads: no acknowledged key ever reads as missing', async () => {
    const c = cluster();
    const acked = new Map<string, string>();
    for (let i = 0; i < 120; i++) {
      const k = `${run}/empty/${i}`;
      const res = await request('PUT', `${c.frontendUrl(0)}/v1/kv/${enc(k)}`, `v${i}`);
      expect(res.status).toBe(200);
      acked.set(k, `v${i}`);
    }
    // Two of three replicas lose everything and are back before anyone notices they were gone.
    await c.killStorage(1, 'SIGKILL');
    await c.killStorage(2, 'SIGKILL');
    await Promise.all([c.restartStorage(1), c.restartStorage(2)]);
    // While they copy, a read may be refused (too few active replicas), never answered wrongly.
    const wrong: string[] = [];
    const deadline = Date.now() + 30_000;
    let allGood = false;
    while (!allGood && Date.now() < deadline) {
      allGood = true;
      for (const [k, v] of acked) {
        const res = await request('GET', `${c.frontendUrl(0)}/v1/kv/${enc(k)}`);
        if (res.status === 200 && res.text !== v) wrong.push(`${k}: read ${res.text}`);
        if (res.status === 404) wrong.push(`${k}: 404 although acknowledged`);
        if (res.status !== 200) allGood = false;
      }
    }
    expect(wrong).toEqual([]);
    expect(allGood).toBe(true);
    await waitMovesDone(c, 'the restarted replicas to finish copying');
    await expectOnAllReplicas(c, acked, [0, 1, 2]);
  }, 120_000);
});

describe('a controller restarted without saved state', () => {
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: K, digits: D, label: 'controller-stateless',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });

  it('recovers the table from the nodes, above their epoch, and membership changes work again', async () => {
    const c = cluster();
    const before = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
    const k = `${run}/stateless/before`;
    expect((await request('PUT', `${c.frontendUrl(0)}/v1/kv/${enc(k)}`, 'kept')).status).toBe(200);
    await c.stopController('SIGKILL');
    await c.restartController();
    const recovered = await waitFor(() => getJson<PartitionTable>(`${c.controllerUrl}/v1/table`).catch(() => null), {
      what: 'the restarted controller to recover the table from the nodes', timeoutMs: 30_000, until: (t) => t !== null && t.epoch > before.epoch,
    });
    expect(recovered!.partitions.map((e) => e.replicas)).toEqual(before.partitions.map((e) => e.replicas));
    // A join after the restart reaches every node: the new epochs are above what they held.
    const idx = await c.addStorage();
    const v = await waitMovesDone(c, 'the join after the controller restart');
    expect(v.nodes.find((n) => n.id === c.storageId(idx))!.partitions).toBeGreaterThan(150);
    await waitFor(() => getJson<{ epoch: number }>(`${c.frontendUrl(0)}/health`), { what: 'the frontend to follow', until: (h) => h.epoch >= v.epoch });
    const read = await request('GET', `${c.frontendUrl(0)}/v1/kv/${enc(k)}`);
    expect({ status: read.status, text: read.text }).toEqual({ status: 200, text: 'kept' });
  }, 120_000);
});
