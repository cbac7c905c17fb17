import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OpsRequest, OpsResponse, WireOp } from '@fog/protocol';
import { BatchingReplicaClient } from './batching-replica-client';

/** A stand-in storage node on loopback: records each request and answers when told to. */
class FakeStorage {
  readonly requests: OpsRequest[] = [];
  private held: Array<() => void> = [];
  hold = false;
  reply: (req: OpsRequest) => unknown = (req) => ({ epoch: 7, clock: { ms: 5, c: 1 }, results: req.ops.map(() => ({ ok: true, entry: null })) } satisfies OpsResponse);
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as OpsRequest;
      this.requests.push(body);
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.reply(body)));
      if (this.hold) this.held.push(answer);
      else answer();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  release(): void {
    this.hold = false;
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }

  stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const get = (key: string): WireOp => ({ op: 'get', p: 1, key });

describe('BatchingReplicaClient', () => {
  let storage: FakeStorage;
  let address: string;
  let client: BatchingReplicaClient;

  beforeEach(async () => {
    storage = new FakeStorage();
    address = await storage.start();
  });
  afterEach(async () => {
    client?.close();
    await storage.stop();
  });

  it('sends an operation and hands back its result with the replica epoch and clock', async () => {
    client = new BatchingReplicaClient();
    const reply = await client.send(address, 3, get('a'));
    expect(reply).toEqual({ result: { ok: true, entry: null }, epoch: 7, clock: { ms: 5, c: 1 } });
    expect(storage.requests).toEqual([{ epoch: 3, ops: [get('a')] }]);
  });

  it('coalesces operations that wait while the request slots are busy into one request', async () => {
    client = new BatchingReplicaClient({ inflightRequestsMaxPerNode: 1 });
    storage.hold = true;
    const first = client.send(address, 1, get('k0'));
    await new Promise((r) => setTimeout(r, 50));
    const rest = Array.from({ length: 9 }, (_, i) => client.send(address, 1, get(`k${i + 1}`)));
    await new Promise((r) => setTimeout(r, 50));
    expect(storage.requests).toHaveLength(1);
    storage.release();
    await first;
    storage.hold = false;
    await Promise.all(rest);
    expect(storage.requests.map((r) => r.ops.length)).toEqual([1, 9]);
    expect(storage.requests[1].ops.map((o) => ('key' in o ? o.key : ''))).toEqual(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9']);
  });

  it('sends many operations with one promise, packed as operations sent alone are', async () => {
    client = new BatchingReplicaClient();
    const reply = await client.sendMany(address, 2, [get('a'), get('b')]);
    expect(reply).toEqual({ results: [{ ok: true, entry: null }, { ok: true, entry: null }], epoch: 7, clock: { ms: 5, c: 1 } });
    expect(storage.requests.flatMap((r) => r.ops)).toEqual([get('a'), get('b')]);
  });

  it('never packs more than batchOpsMax operations into one request', async () => {
    client = new BatchingReplicaClient({ inflightRequestsMaxPerNode: 1, batchOpsMax: 4 });
    storage.hold = true;
    const all = Array.from({ length: 10 }, (_, i) => client.send(address, 1, get(`k${i}`)));
    await new Promise((r) => setTimeout(r, 50));
    storage.hold = false;
    storage.release();
    await Promise.all(all);
    expect(storage.requests.map((r) => r.ops.length)).toEqual([1, 4, 4, 1]);
  });

  it('stops a batch at batchBytesMax, but always sends at least one operation', async () => {
    client = new BatchingReplicaClient({ batchBytesMax: 15 });
    storage.hold = true;
    const put = (key: string, size: number): WireOp => ({ op: 'put', p: 1, key, ver: { ms: 1, c: 0, w: 'fe' }, val: 'x'.repeat(size) });
    const first = client.send(address, 1, put('a', 1));
    await new Promise((r) => setTimeout(r, 30));
    const rest = [client.send(address, 1, put('b', 50)), client.send(address, 1, put('c', 5)), client.send(address, 1, put('d', 5)), client.send(address, 1, put('e', 5))];
    storage.hold = false;
    storage.release();
    await Promise.all([first, ...rest]);
    // 'b' alone exceeds the limit and goes alone; then c+d fit (12 bytes) and e would make 18.
    expect(storage.requests.map((r) => r.ops.map((o) => ('key' in o ? o.key : '')).join(''))).toEqual(['a', 'b', 'cd', 'e']);
  });

  it('refuses operations beyond the queue limit as overload', async () => {
    client = new BatchingReplicaClient({ inflightRequestsMaxPerNode: 1, queueOpsMaxPerNode: 2 });
    storage.hold = true;
    const inflight = client.send(address, 1, get('a'));
    await new Promise((r) => setTimeout(r, 30));
    const q1 = client.send(address, 1, get('b'));
    const q2 = client.send(address, 1, get('c'));
    await expect(client.send(address, 1, get('d'))).rejects.toMatchObject({ code: 'FOG_ERR_OVERLOADED' });
    storage.hold = false;
    storage.release();
    await Promise.all([inflight, q1, q2]);
  });

  it('fails every operation of a request that times out', async () => {
    client = new BatchingReplicaClient({ requestTimeoutMs: 100 });
    storage.hold = true;
    await expect(client.send(address, 1, get('a'))).rejects.toThrow(/timeout/i);
  });

  it('fails on a reply that does not answer every operation', async () => {
    client = new BatchingReplicaClient();
    storage.reply = () => ({ epoch: 1, clock: { ms: 1, c: 0 }, results: [] });
    await expect(client.send(address, 1, get('a'))).rejects.toThrow(/malformed/);
  });

  it('fails when the node is not listening', async () => {
    client = new BatchingReplicaClient();
    await storage.stop();
    await expect(client.send(address, 1, get('a'))).rejects.toThrow(/ECONNREFUSED/);
  });
});
