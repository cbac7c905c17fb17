import axios from 'axios';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signTable, type PartitionTable } from '@fog/protocol';
import { ClusterAuth, loadClusterSecret } from './cluster-auth';

const SECRET = 'the-cluster-secret-of-this-test';

describe('ClusterAuth', () => {
  let server: http.Server;
  let base = '';
  const receiver = new ClusterAuth(SECRET);
  const seen: Array<{ url: string; problem: string | null }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const problem = receiver.check(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks));
        seen.push({ url: req.url ?? '', problem: problem?.reason ?? null });
        res.writeHead(problem ? problem.status : 200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it('signs what axios sends: JSON bodies, query params, base URLs and absolute URLs alike', async () => {
    const sender = new ClusterAuth(SECRET);
    const viaBase = sender.signAxios(axios.create({ baseURL: base, validateStatus: () => true }));
    const plain = sender.signAxios(axios.create({ validateStatus: () => true }));
    expect((await viaBase.post('/v1/nodes/a%3Ab/heartbeat', { epoch: 3 })).status).toBe(200);
    expect((await viaBase.get('/v1/table', { params: { format: 'compact', n: 2 } })).status).toBe(200);
    expect((await plain.post(`${base}/internal/v1/ops`, { epoch: 1, ops: [] })).status).toBe(200);
    expect((await plain.get(`${base}/internal/v1/table?x=1`, { params: { y: 'z w' } })).status).toBe(200);
    expect(seen.map((s) => s.problem)).toEqual([null, null, null, null]);
    expect(seen[1].url).toBe('/v1/table?format=compact&n=2');
  });

  it('is refused with another secret, and an insecure sender adds no header', async () => {
    const other = new ClusterAuth('another-secret-of-enough-bytes');
    const res = await other.signAxios(axios.create({ validateStatus: () => true })).get(`${base}/internal/v1/table`);
    expect(res.status).toBe(401);
    const insecure = new ClusterAuth(null);
    expect(insecure.headersFor('GET', '/x', '')).toEqual({});
    expect(insecure.check('GET', '/x', {}, Buffer.alloc(0))).toBeNull();
  });

  it('verifies tables: signed by the cluster, and of the cluster the node learned', () => {
    const auth = new ClusterAuth(SECRET);
    const table: PartitionTable = {
      epoch: 2, digits: 1, redundancy: 1, cluster: 'aaaaaaaaaaaaaaaa',
      partitions: Array.from({ length: 16 }, () => ({ replicas: ['s'], pending: [] })),
      nodes: { s: { id: 's', address: '127.0.0.1:1', zone: 'z', weight: 1, state: 'up' } },
    };
    expect(auth.tableProblem(table)).toMatch(/not signed/);
    auth.sign(table);
    expect(auth.tableProblem(table)).toBeNull();
    auth.learnCluster('bbbbbbbbbbbbbbbb');
    expect(auth.tableProblem(table)).toMatch(/another cluster|belongs to cluster/);
    const forged = { ...table, cluster: 'bbbbbbbbbbbbbbbb' };
    expect(auth.tableProblem(forged)).toMatch(/does not match/);
    forged.sig = signTable(new ClusterAuth('another-secret-of-enough-bytes').keys!, forged);
    expect(auth.tableProblem(forged)).toMatch(/does not match/);
  });
});

describe('loadClusterSecret', () => {
  it('needs a secret or --insecure, not both, and one long enough', () => {
    expect(() => loadClusterSecret({})).toThrow(/no cluster secret/);
    expect(loadClusterSecret({ insecure: true })).toBeNull();
    expect(loadClusterSecret({ clusterSecret: `  ${SECRET}\n` })).toBe(SECRET);
    expect(() => loadClusterSecret({ clusterSecret: SECRET, insecure: true })).toThrow(/exclude/);
    expect(() => loadClusterSecret({ clusterSecret: 'short' })).toThrow(/at least 16 bytes/);
    expect(() => loadClusterSecret({ clusterSecretFile: '/nonexistent/secret' })).toThrow(/cannot read/);
  });
});
