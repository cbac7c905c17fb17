import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { partitionOf } from '@fog/partitioning';
import type { LocateResponse, PartitionTable } from '@fog/protocol';
import {
  freePort, getJson, hostPort, installProcessSafetyNet, makeTempDir, removeTempDir, request,
  useCluster, waitFor, type Cluster,
} from './harness';
import { useFogctl, type FogctlResult } from './fogctl-process';

installProcessSafetyNet();

const K = 3;
const D = 1;
const STORAGE = 4;
const HEARTBEAT_MS = 200;
const CONTROLLER_FLAGS = ['--heartbeat-interval-ms', String(HEARTBEAT_MS), '--tick-interval-ms', '100'];
const NODE_FLAGS = ['--heartbeat-interval-ms', String(HEARTBEAT_MS)];
/** fogctl's documented exit codes. */
const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, conflict: 4, unavailable: 5 };

const run = randomBytes(4).toString('hex');
const key = (name: string) => `${run}/${name}`;
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Run fogctl as a real process; resolves with its exit code and output. */
const fogctl = useFogctl();
type Result = FogctlResult;

function expectExit(r: Result, code: number, what: string): Result {
  expect({ what, code: r.code, err: r.code === code ? '' : r.err, out: r.code === code ? '' : r.out.slice(0, 500) }).toEqual({ what, code, err: '', out: '' });
  return r;
}

describe('fogctl against a running cluster', () => {
  const { cluster, it } = useCluster({
    storage: STORAGE, frontends: 2, redundancy: K, digits: D, label: 'fogctl',
    controllerArgs: CONTROLLER_FLAGS, storageArgs: () => NODE_FLAGS, frontendArgs: NODE_FLAGS,
  });
  const fe = (i = 0) => cluster().frontendUrl(i).replace('http://', '');
  const ctl = () => cluster().controllerUrl.replace('http://', '');
  const on = (...args: string[]) => ['--frontend', fe(0), '--frontend', fe(1), '--controller', ctl(), ...args];

  it('has --help for every command', async () => {
    const top = expectExit(await fogctl(['--help']), EXIT.ok, '--help');
    for (const cmd of ['get', 'put', 'delete', 'append', 'locate', 'batch', 'status', 'decommission', 'forget']) {
      expect(top.out).toContain(`fogctl ${cmd}`);
      expect(expectExit(await fogctl([cmd, '--help']), EXIT.ok, `${cmd} --help`).out).toMatch(new RegExp(`fogctl ${cmd}`));
    }
    expect(expectExit(await fogctl(['frobnicate']), EXIT.usage, 'unknown command').err).toMatch(/Unknown argument/);
  });

  it('puts, gets, appends and deletes, binary-safe through stdin and stdout, with exit codes', async () => {
    const k = key('bin');
    expect(expectExit(await fogctl(on('put', k, '--file', '-'), { stdin: ALL_BYTES }), EXIT.ok, 'put from stdin').out).toMatch(/^OK put version \d+\.\d+\.frontend-/);
    expect(expectExit(await fogctl(on('get', k)), EXIT.ok, 'get').stdout.equals(ALL_BYTES)).toBe(true);
    // What fogctl wrote is what the API serves.
    const api = await request('GET', `${cluster().frontendUrl(1)}/v1/kv/${encodeURIComponent(k)}`);
    expect(api.body.equals(ALL_BYTES)).toBe(true);

    const t = key('text');
    expectExit(await fogctl(on('put', t, 'hello')), EXIT.ok, 'put');
    expect(expectExit(await fogctl(on('append', t, ' world')), EXIT.ok, 'append').out).toMatch(/bytes 11$/m);
    const json = JSON.parse(expectExit(await fogctl(on('--json', 'get', t, '-r', 'all')), EXIT.ok, 'get --json').out) as { value: string; version: string; encoding: string };
    expect(json).toMatchObject({ key: t, value: 'hello world', encoding: 'utf8', bytes: 11 });
    expect(json.version).toBe((await request('GET', `${cluster().frontendUrl(0)}/v1/kv/${encodeURIComponent(t)}`)).headers['x-fog-version']);

    expect(expectExit(await fogctl(on('put', t, 'x', '--if-match', '1.0.frontend-nobody')), EXIT.conflict, 'stale --if-match').err).toMatch(/FOG_ERR_VERSION_CONFLICT/);
    expectExit(await fogctl(on('put', t, 'x', '--if-none-match')), EXIT.conflict, '--if-none-match on an existing key');
    expectExit(await fogctl(on('put', t, 'y', '--if-match', json.version)), EXIT.ok, 'current --if-match');

    expectExit(await fogctl(on('delete', t)), EXIT.ok, 'delete');
    const missing = expectExit(await fogctl(on('--json', 'get', t)), EXIT.notFound, 'get deleted');
    expect(JSON.parse(missing.out)).toMatchObject({ error: { code: 'FOG_ERR_NOT_FOUND' } });
    expect(expectExit(await fogctl(on('put', 'x'.repeat(1025), 'v')), EXIT.usage, 'key over the limit').err).toMatch(/FOG_ERR_KEY_TOO_LONG/);
    expectExit(await fogctl(on('put', t)), EXIT.usage, 'put without a value');
  });

  it('fails over from a dead frontend, reads FOG_FRONTEND, and says when nothing answers', async () => {
    const dead = hostPort(await freePort());
    const k = key('failover');
    expectExit(await fogctl(['--frontend', dead, '--frontend', fe(1), 'put', k, 'v']), EXIT.ok, 'put with a dead frontend first');
    expect(expectExit(await fogctl(['get', k], { env: { FOG_FRONTEND: `${dead},${fe(0)}` } }), EXIT.ok, 'get with FOG_FRONTEND').out).toBe('v');
    expect(expectExit(await fogctl(['--frontend', dead, '--timeout-ms', '2000', 'get', k]), EXIT.unavailable, 'no frontend').err).toMatch(/FOG_CLIENT_UNREACHABLE/);
  });

  it('locates a key on the replicas the table gives it', async () => {
    const c: Cluster = cluster();
    const k = key('where');
    const table = await getJson<PartitionTable>(`${c.controllerUrl}/v1/table`);
    const p = partitionOf(k, D);
    const text = expectExit(await fogctl(on('locate', k)), EXIT.ok, 'locate').out;
    expect(text).toMatch(new RegExp(`^partition ${p.toString(16)} \\(${p}\\) at epoch ${table.epoch}; run jobs for this key on: ${table.partitions[p].replicas[0]}`));
    const rows = text.split('\n').filter((l) => /^storage-\S+ +active/.test(l)).map((l) => l.split(/\s+/)[0]);
    expect(rows).toEqual(table.partitions[p].replicas);
    const json = JSON.parse(expectExit(await fogctl(on('--json', 'locate', k)), EXIT.ok, 'locate --json').out) as LocateResponse;
    expect(json.replicas.map((r) => r.id)).toEqual(table.partitions[p].replicas);
  });

  it('runs a batch file with one line per op, and refuses a bad one', async () => {
    const dir = makeTempDir('fogctl-batch');
    try {
      const file = path.join(dir, 'ops.json');
      fs.writeFileSync(file, JSON.stringify({ ops: [
        { op: 'put', key: key('f1'), value: 'one' },
        { op: 'put', key: key('f2'), value: Buffer.from([0, 255]).toString('base64'), encoding: 'base64' },
        { op: 'get', key: key('f1') },
        { op: 'get', key: key('f-missing') },
        { op: 'delete', key: key('f1') },
      ] }));
      const lines = expectExit(await fogctl(on('batch', file)), EXIT.ok, 'batch').out.trim().split('\n');
      expect(lines.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(['0 200 put', '1 200 put', '2 200 get', '3 404 get', '4 200 delete']);
      expect(lines[2]).toContain('= "one"');
      expect(lines[3]).toContain('FOG_ERR_NOT_FOUND');
      const json = JSON.parse(expectExit(await fogctl(on('--json', 'batch', '-'), { stdin: JSON.stringify({ ops: [{ op: 'get', key: key('f2') }] }) }), EXIT.ok, 'batch from stdin').out) as { results: Array<{ value: string; encoding: string }> };
      expect(json.results[0]).toMatchObject({ value: 'AP8=', encoding: 'base64' });
      fs.writeFileSync(file, JSON.stringify({ ops: [{ op: 'put', key: key('f3'), value: 'v' }, { op: 'explode', key: 'k' }] }));
      expect(expectExit(await fogctl(on('batch', file)), EXIT.usage, 'bad batch').err).toMatch(/FOG_ERR_BAD_REQUEST.*ops\[1\]/);
      expectExit(await fogctl(on('get', key('f3'))), EXIT.notFound, 'op of a refused batch');
      expectExit(await fogctl(on('batch', path.join(dir, 'nope.json'))), EXIT.usage, 'missing file');
    } finally {
      removeTempDir(dir);
    }
  });

  it('shows the cluster status: nodes, states, epoch, partitions per node, moves', async () => {
    const c = cluster();
    const text = expectExit(await fogctl(['status'], { env: { FOG_CONTROLLER: ctl() } }), EXIT.ok, 'status').out;
    const view = await getJson<{ epoch: number; nodes: Array<{ id: string; partitions?: number }> }>(`${c.controllerUrl}/v1/cluster`);
    expect(text).toMatch(new RegExp(`^epoch ${view.epoch}  formed  K=${K}  partitions ${16 ** D}`));
    for (const n of view.nodes) {
      const row = text.split('\n').find((l) => l.startsWith(`${n.id} `));
      expect(row?.split(/\s+/).slice(1, 3)).toEqual([n.id.startsWith('storage') ? 'storage' : 'frontend', 'up']);
      if (n.partitions !== undefined) expect(row?.split(/\s+/)[5]).toBe(String(n.partitions));
    }
    expect(text).toMatch(/moves pending: 0/);
    const json = JSON.parse(expectExit(await fogctl(on('--json', 'status')), EXIT.ok, 'status --json').out) as { nodes: Array<{ role: string; partitions: number }> };
    expect(json.nodes.filter((n) => n.role === 'storage').reduce((s, n) => s + n.partitions, 0)).toBe(16 ** D * K);
    expectExit(await fogctl(['--controller', hostPort(await freePort()), '--timeout-ms', '2000', 'status']), EXIT.unavailable, 'no controller');
  });

  it('decommissions a node with a progress bar until it holds no partitions, and loses nothing', async () => {
    const c = cluster();
    const keys = Array.from({ length: 40 }, (_, i) => key(`decom-${i}`));
    const body = JSON.stringify({ ops: keys.map((k) => ({ op: 'put', key: k, value: `v-${k}` })) });
    expect((await request('POST', `${c.frontendUrl(0)}/v1/batch?w=all`, body)).status).toBe(200);
    const leaving = c.storageId(3);
    expectExit(await fogctl(on('decommission', 'no-such-node')), EXIT.notFound, 'unknown node');
    const r = expectExit(await fogctl(on('decommission', leaving, '--interval-ms', '100', '--timeout-s', '60')), EXIT.ok, 'decommission');
    expect(r.out).toMatch(new RegExp(`^${leaving} holds no partitions: decommission complete`));
    const bars = r.err.trim().split('\n');
    expect(bars[0]).toMatch(/^\[[#-]{30}\] +\d+% /);
    expect(bars[bars.length - 1]).toMatch(new RegExp(`^\\[#{30}\\] 100% ${leaving}: 0 of \\d+ partitions left`));
    const view = await getJson<{ nodes: Array<{ id: string; partitions?: number; pendingPartitions?: number }> }>(`${c.controllerUrl}/v1/cluster`);
    const node = view.nodes.find((n) => n.id === leaving);
    expect((node?.partitions ?? 0) + (node?.pendingPartitions ?? 0)).toBe(0);
    // Every key is still there, read at all through the remaining replicas.
    const { results } = JSON.parse(expectExit(await fogctl(on('--json', 'batch', '-', '-r', 'all'), { stdin: JSON.stringify({ ops: keys.map((k) => ({ op: 'get', key: k })) }) }), EXIT.ok, 'read back').out) as { results: Array<{ status: number; value: string }> };
    expect(results.map((x) => x.value)).toEqual(keys.map((k) => `v-${k}`));
    // Three nodes are left: taking one more away would leave fewer than K.
    expect(expectExit(await fogctl(on('decommission', c.storageId(0))), EXIT.usage, 'decommission below K').err).toMatch(/FOG_ERR_BAD_REQUEST/);
    // A live node cannot be forgotten; the decommissioned one can, once it is left.
    expect(expectExit(await fogctl(on('forget', c.storageId(0))), EXIT.conflict, 'forget a live node').err).toMatch(/FOG_ERR_NODE_NOT_REMOVABLE/);
    expectExit(await fogctl(on('forget', 'no-such-node')), EXIT.notFound, 'forget an unknown node');
    await waitFor(() => getJson<{ nodes: Array<{ id: string; state: string }> }>(`${c.controllerUrl}/v1/cluster`), {
      what: `${leaving} to be left`, timeoutMs: 20_000, until: (v) => v.nodes.some((n) => n.id === leaving && n.state === 'left'),
    });
    expect(expectExit(await fogctl(on('forget', leaving)), EXIT.ok, 'forget the left node').out).toMatch(new RegExp(`^${leaving} forgotten`));
    const after = await getJson<{ nodes: Array<{ id: string }> }>(`${c.controllerUrl}/v1/cluster`);
    expect(after.nodes.map((n) => n.id)).not.toContain(leaving);
  });
});
