import net from 'node:net';
import {
  FrameReader, OPS_FRAME_PREFACE, decodeOpsRequest, encodeOpsRefusal, encodeOpsResponse, type OpsRequest, type OpsResponse,
  type WireOp, type WireResult,
} from '@fog/protocol';
import { BinaryReplicaClient } from './binary-replica-client';

/** A stand-in storage node speaking the binary frames: records each frame and answers when told to. */
class FakeStorage {
  readonly frames: Array<OpsRequest & { id: number }> = [];
  readonly sockets = new Set<net.Socket>();
  private held: Array<() => void> = [];
  hold = false;
  silent = false;
  refuse = false;
  reply: (req: OpsRequest) => OpsResponse = (req) => ({
    epoch: 7, clock: { ms: 5, c: 1 },
    results: req.ops.map((op) => (op.op === 'get' ? { ok: true, entry: { ver: { ms: 1, c: 0, w: 'fe' }, val: Buffer.from(`v:${op.key}`).toString('base64') } } : { ok: true, outcome: 'applied' })),
  });
  server = net.createServer((socket) => {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const reader = new FrameReader(1 << 20);
    let preface = true;
    socket.on('data', (chunk: Buffer) => {
      if (preface) {
        expect(chunk.subarray(0, OPS_FRAME_PREFACE.length).equals(OPS_FRAME_PREFACE)).toBe(true);
        chunk = chunk.subarray(OPS_FRAME_PREFACE.length);
        // The opening line (empty: this client was made without the cluster secret).
        expect(chunk[0]).toBe(0x0a);
        chunk = chunk.subarray(1);
        preface = false;
      }
      const out: Buffer[] = [];
      reader.push(chunk, out);
      for (const f of out) {
        const req = decodeOpsRequest(f);
        this.frames.push(req);
        if (this.silent) continue;
        const answer = () => socket.write(this.refuse ? encodeOpsRefusal(req.id, 413, { error: { code: 'FOG_ERR_BATCH_TOO_LARGE' } }) : encodeOpsResponse(req.id, this.reply(req)));
        if (this.hold) this.held.push(answer);
        else answer();
      }
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Answer the held frames, newest first (the transport must match answers by id). */
  releaseReversed(): void {
    this.hold = false;
    const h = this.held.reverse();
    this.held = [];
    for (const f of h) f();
  }

  stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const get = (key: string): WireOp => ({ op: 'get', p: 0, key });

describe('BinaryReplicaClient', () => {
  let storage: FakeStorage;
  let address: string;
  let client: BinaryReplicaClient;

  beforeEach(async () => {
    storage = new FakeStorage();
    address = await storage.start();
  });
  afterEach(async () => {
    client?.close();
    await storage.stop();
  });

  it('sends the operations of one event-loop turn in one frame and answers each with its own result', async () => {
    client = new BinaryReplicaClient();
    const replies = await Promise.all(['a', 'b', 'c'].map((k) => client.send(address, 3, get(k))));
    expect(storage.frames).toHaveLength(1);
    expect(storage.frames[0]).toMatchObject({ epoch: 3, ops: [get('a'), get('b'), get('c')] });
    expect(replies.map((r) => (r.result.ok && 'entry' in r.result ? Buffer.from(r.result.entry!.val!, 'base64').toString() : null))).toEqual(['v:a', 'v:b', 'v:c']);
    expect(replies[0]).toMatchObject({ epoch: 7, clock: { ms: 5, c: 1 } });
  });

  it('matches answers to frames by id when they come back out of order', async () => {
    client = new BinaryReplicaClient({ inflightRequestsMaxPerNode: 4 });
    storage.hold = true;
    const first = client.send(address, 1, get('first'));
    await new Promise((r) => setImmediate(r));
    const second = client.send(address, 1, get('second'));
    while (storage.frames.length < 2) await new Promise((r) => setTimeout(r, 5));
    storage.releaseReversed();
    const [a, b] = await Promise.all([first, second]);
    expect(a.result).toMatchObject({ entry: { val: Buffer.from('v:first').toString('base64') } });
    expect(b.result).toMatchObject({ entry: { val: Buffer.from('v:second').toString('base64') } });
  });

  it('keeps operations waiting while the frames in flight are at the limit, then sends them together', async () => {
    client = new BinaryReplicaClient({ inflightRequestsMaxPerNode: 1 });
    storage.hold = true;
    const first = client.send(address, 1, get('a'));
    while (storage.frames.length < 1) await new Promise((r) => setTimeout(r, 5));
    const later = [client.send(address, 1, get('b')), client.send(address, 1, get('c'))];
    await new Promise((r) => setImmediate(r));
    expect(client.queueDepths().get(address)).toBe(2);
    storage.releaseReversed();
    await Promise.all([first, ...later]);
    expect(storage.frames.map((f) => f.ops.length)).toEqual([1, 2]);
  });

  it('sends many operations with one promise in one frame, with operations sent alone in the same turn', async () => {
    client = new BinaryReplicaClient();
    const alone = client.send(address, 3, get('x'));
    const many = await client.sendMany(address, 3, [get('a'), get('b'), get('c')]);
    expect(storage.frames).toHaveLength(1);
    expect(storage.frames[0].ops).toEqual([get('x'), get('a'), get('b'), get('c')]);
    const value = (r: WireResult) => (r.ok && 'entry' in r ? Buffer.from(r.entry!.val!, 'base64').toString() : null);
    expect(many.results.map(value)).toEqual(['v:a', 'v:b', 'v:c']);
    expect(many).toMatchObject({ epoch: 7, clock: { ms: 5, c: 1 } });
    expect(value((await alone).result)).toBe('v:x');
  });

  it('splits many operations into frames of batchOpsMax, keeps each part whole, and answers them in order', async () => {
    client = new BinaryReplicaClient({ batchOpsMax: 4 });
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const before = client.send(address, 1, get('first'));
    const many = await client.sendMany(address, 1, keys.map(get));
    await before;
    // 'first' alone: the first part (4 operations) does not fit beside it.
    expect(storage.frames.map((f) => f.ops.length)).toEqual([1, 4, 4, 2]);
    expect(many.results.map((r) => (r.ok && 'entry' in r ? Buffer.from(r.entry!.val!, 'base64').toString() : null))).toEqual(keys.map((k) => `v:${k}`));
  });

  it('rejects many operations once when one of their frames fails, and counts them against the queue limit', async () => {
    client = new BinaryReplicaClient({ batchOpsMax: 2, queueOpsMaxPerNode: 4 });
    await expect(client.sendMany(address, 1, [get('a'), get('b'), get('c'), get('d'), get('e')])).rejects.toMatchObject({ code: 'FOG_ERR_OVERLOADED' });
    storage.refuse = true;
    await expect(client.sendMany(address, 1, [get('a'), get('b'), get('c')])).rejects.toThrow(/refused the request \(413\)/);
    expect(client.queueDepths().get(address)).toBe(0);
  });

  it('rejects the operations of a frame the node refused whole', async () => {
    client = new BinaryReplicaClient();
    storage.refuse = true;
    await expect(client.send(address, 1, get('a'))).rejects.toThrow(/refused the request \(413\)/);
  });

  it('rejects after requestTimeoutMs when the node does not answer', async () => {
    client = new BinaryReplicaClient({ requestTimeoutMs: 50 });
    storage.silent = true;
    await expect(client.send(address, 1, get('a'))).rejects.toThrow(/did not answer in 50 ms/);
  });

  it('rejects the frames in flight when the connection drops, and reconnects for the next', async () => {
    client = new BinaryReplicaClient();
    storage.silent = true;
    const pending = client.send(address, 1, get('a'));
    while (storage.frames.length < 1) await new Promise((r) => setTimeout(r, 5));
    for (const s of storage.sockets) s.destroy();
    await expect(pending).rejects.toThrow(/closed/);
    storage.silent = false;
    await expect(client.send(address, 1, get('b'))).resolves.toMatchObject({ epoch: 7 });
  });

  it('rejects at once while a node that refused connections is in its reconnect delay', async () => {
    client = new BinaryReplicaClient({ reconnectDelayMs: 60_000 });
    const gone = new FakeStorage();
    const goneAddress = await gone.start();
    await gone.stop();
    await expect(client.send(goneAddress, 1, get('a'))).rejects.toThrow();
    await expect(client.send(goneAddress, 1, get('b'))).rejects.toThrow(/unreachable/);
  });

  it('refuses new operations as overload beyond queueOpsMaxPerNode', async () => {
    client = new BinaryReplicaClient({ queueOpsMaxPerNode: 2 });
    const ok = [client.send(address, 1, get('a')), client.send(address, 1, get('b'))];
    await expect(client.send(address, 1, get('c'))).rejects.toMatchObject({ code: 'FOG_ERR_OVERLOADED' });
    await Promise.all(ok);
  });
});
