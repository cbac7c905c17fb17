import { Cluster, type ClusterOptions } from './cluster';

/**
 * One cluster shared by the tests of a describe block: started in beforeAll, stopped in
 * afterAll. Returns an accessor, and `it` that appends the cluster's log tails to failures.
 */
export function useCluster(opts: ClusterOptions): { cluster: () => Cluster; it: (name: string, fn: () => Promise<void>, timeoutMs?: number) => void } {
  let current: Cluster | undefined;
  beforeAll(async () => {
    current = await Cluster.start(opts);
  });
  afterAll(async () => {
    const c = current;
    current = undefined;
    await c?.stop();
  });
  const cluster = () => {
    if (!current) throw new Error('the cluster is not running (its start failed in beforeAll: see the error there)');
    return current;
  };
  return {
    cluster,
    it: (name, fn, timeoutMs) => it(name, () => cluster().withLogsOnFailure(fn), timeoutMs),
  };
}
