import { parseRunlocalArgs, type RunlocalOptions } from './options';
import { planLocalCluster, planProcesses, readyBanner } from './plan';

const options = (...argv: string[]): RunlocalOptions => {
  const r = parseRunlocalArgs(argv, '/cwd', '/repo');
  if (r.kind !== 'run') throw new Error(JSON.stringify(r));
  return r.options;
};

describe('the local cluster plan', () => {
  it('starts the controller in its original form with its data dir, then storage nodes over zones, then frontends', () => {
    const plan = planLocalCluster(options('--storage', '3', '--frontends', '1', '--redundancy', '2', '--zones', '2', '--partition-digits', '1', '--log-level', 'warn'));
    expect(planProcesses(plan).map((p) => `${p.name} ${p.port} ${p.args.join(' ')}`)).toEqual([
      'controller 7000 7000 3 2 --partition-digits 1 --host 127.0.0.1 --log-level warn --data-dir /repo/.runlocal/data/controller --cluster-secret-file /repo/.runlocal/cluster-secret',
      'storage-1 7101 127.0.0.1:7000 127.0.0.1:7101 --zone z1 --log-level warn --data-dir /repo/.runlocal/data/storage-1 --cluster-secret-file /repo/.runlocal/cluster-secret',
      'storage-2 7102 127.0.0.1:7000 127.0.0.1:7102 --zone z2 --log-level warn --data-dir /repo/.runlocal/data/storage-2 --cluster-secret-file /repo/.runlocal/cluster-secret',
      'storage-3 7103 127.0.0.1:7000 127.0.0.1:7103 --zone z1 --log-level warn --data-dir /repo/.runlocal/data/storage-3 --cluster-secret-file /repo/.runlocal/cluster-secret',
      'frontend-1 8001 127.0.0.1:7000 127.0.0.1:8001 --log-level warn --cluster-secret-file /repo/.runlocal/cluster-secret',
    ]);
    expect(plan.logDir).toBe('/repo/.runlocal/logs');
  });

  it('prints every URL, the logs, the data and commands to try once ready', () => {
    const o = options('--storage', '2', '--frontends', '2', '--redundancy', '2', '--base-dir', '/b');
    expect(readyBanner(planLocalCluster(o), o, 'epoch 1')).toBe(`
runlocal: Velour Fog cluster is ready (epoch 1): 1 controller, 2 storage node(s), 2 frontend(s)

  Controller status page  http://127.0.0.1:7000/
  Cluster (JSON)          http://127.0.0.1:7000/v1/cluster
  Partition table         http://127.0.0.1:7000/v1/table
  Controller metrics      http://127.0.0.1:7000/metrics

  Frontends (GET /get/?key=K, GET /set/?key=K&value=V, POST /set/?key=K, GET|PUT|DELETE /v1/kv/KEY)
    frontend-1   API http://127.0.0.1:8001/   metrics http://127.0.0.1:8001/metrics
    frontend-2   API http://127.0.0.1:8002/   metrics http://127.0.0.1:8002/metrics
  Storage nodes
    storage-1    zone z1   metrics http://127.0.0.1:7101/metrics
    storage-2    zone z1   metrics http://127.0.0.1:7102/metrics

  Logs                    /b/logs/
  Data                    /b/data/

  Try:
    curl 'http://127.0.0.1:8001/set/?key=hello&value=world'
    curl 'http://127.0.0.1:8002/get/?key=hello'
    npx fogctl status
    FOG_CLUSTER_SECRET=$(cat /b/cluster-secret) npx fogctl plan remove storage-127.0.0.1-7101   (admin commands need the secret)

runlocal: running; press Ctrl-C to stop every process
`);
  });

  it('names the controller for fogctl on a port of its own, and reads back from the only frontend', () => {
    const o = options('--storage', '1', '--redundancy', '1', '--frontends', '1', '--controller-port', '17000');
    const text = readyBanner(planLocalCluster(o), o, 'epoch 3');
    expect(text).toContain('npx fogctl --controller 127.0.0.1:17000 status');
    expect(text).toContain("curl 'http://127.0.0.1:8001/get/?key=hello'");
  });
});
