import net from 'node:net';
import { createHttpMetrics, createLogger } from '@fog/http-kit';
import {
  FogError, FrameReader, decodeOpsResponse, encodeOpsRequest, type DecodedOpsResponse, type OpsRequest, type OpsResponse, type PartitionTable,
  type WireOp,
} from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { BinaryOpsServer } from './binary-ops';

const table: PartitionTable = {
  epoch: 2, digits: 1, redundancy: 1,
  partitions: Array.from({ length: 16 }, () => ({ replicas: ['n1'], pending: [] })),
  nodes: { n1: { id: 'n1', address: 'n1', zone: 'z', weight: 1, state: 'up' } },
};

describe('BinaryOpsServer', () => {
  let server: net.Server;
  let port: number;
  let refreshes = 0;
  const engine = new ReplicaEngine('n1');
  engine.offerTable(table);

  beforeAll(async () => {
    const binary = new BinaryOpsServer({
      epoch: () => engine.epoch(),
      refreshTable: async () => {
        refreshes++;
      },
      answerOps: (body: OpsRequest, nowMs: number, finish: (status: number, out: unknown) => void) => finish(200, engine.handle(body, nowMs)),
      frameBytesMax: 4096, batchOpsMax: 3,
      metrics: createHttpMetrics('storage'), log: createLogger('storage', 'error', () => undefined),
      checkOpening: (line) => (line === 'let-me-in' ? null : new FogError('FOG_ERR_UNAUTHENTICATED', 'no')),
    });
    server = net.createServer((s) => binary.accept(s, Buffer.alloc(0)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  /** A connection that sends frames and collects the decoded answers. */
  const connect = (opening = 'let-me-in') => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.write(`${opening}\n`);
    const reader = new FrameReader(1 << 20);
    const answers: DecodedOpsResponse[] = [];
    socket.on('data', (d: Buffer) => {
      const out: Buffer[] = [];
      reader.push(d, out);
      for (const f of out) answers.push(decodeOpsResponse(f));
    });
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    const until = async (n: number) => {
      for (let i = 0; i < 200 && answers.length < n; i++) await new Promise((r) => setTimeout(r, 5));
      return answers;
    };
    return { socket, until, closed };
  };

  const put = (key: string, val: string): WireOp => ({ op: 'put', p: 1, key, ver: { ms: 1000, c: 0, w: 'fe' }, val: Buffer.from(val).toString('base64') });

  it('refuses a connection whose opening line is not accepted, answering frame id 0 and closing it', async () => {
    const c = connect('forged');
    c.socket.write(encodeOpsRequest(11, 2, [put('never', 'written')]));
    const [refusal] = await c.until(1);
    await c.closed;
    expect(refusal).toMatchObject({ id: 0, ok: false, status: 401 });
    expect(engine.store.get(1, 'never')).toBeUndefined();
  });

  it('answers puts and gets through the engine, by request id', async () => {
    const c = connect();
    c.socket.write(encodeOpsRequest(11, 2, [put('a', 'hello')]));
    c.socket.write(encodeOpsRequest(12, 2, [{ op: 'get', p: 1, key: 'a' }, { op: 'get', p: 1, key: 'none' }]));
    const [first, second] = await c.until(2);
    expect(first).toMatchObject({ id: 11, ok: true, epoch: 2, results: [{ ok: true, outcome: 'applied' }] });
    const res = second as DecodedOpsResponse & OpsResponse;
    expect(res.id).toBe(12);
    expect(res.results[0]).toEqual({ ok: true, entry: { ver: { ms: 1000, c: 0, w: 'fe' }, val: Buffer.from('hello').toString('base64') } });
    expect(res.results[1]).toEqual({ ok: true, entry: null });
    c.socket.destroy();
  });

  it('refuses a malformed frame with 400 and keeps the connection, and a batch over the limit with 413', async () => {
    const c = connect();
    // A well-framed body too short to hold even the epoch.
    const bad = Buffer.alloc(12);
    bad.writeUInt32LE(8, 0);
    bad.writeUInt32LE(21, 4);
    c.socket.write(bad);
    c.socket.write(encodeOpsRequest(22, 2, [put('a', '1'), put('b', '2'), put('c', '3'), put('d', '4')]));
    c.socket.write(encodeOpsRequest(23, 2, [{ op: 'get', p: 1, key: 'a' }]));
    const answers = await c.until(3);
    expect(answers[0]).toMatchObject({ id: 21, ok: false, status: 400, body: { error: { code: 'FOG_ERR_BAD_REQUEST' } } });
    expect(answers[1]).toMatchObject({ id: 22, ok: false, status: 413, body: { error: { code: 'FOG_ERR_BATCH_TOO_LARGE' } } });
    expect(answers[2]).toMatchObject({ id: 23, ok: true });
    c.socket.destroy();
  });

  it('closes a connection that declares a frame over frameBytesMax', async () => {
    const c = connect();
    const huge = Buffer.alloc(8);
    huge.writeUInt32LE(1 << 20, 0);
    c.socket.write(huge);
    await c.closed;
  });

  it('catches up with a newer table before answering a sender that holds one', async () => {
    const c = connect();
    const before = refreshes;
    c.socket.write(encodeOpsRequest(31, 9, [{ op: 'get', p: 1, key: 'a' }]));
    await c.until(1);
    expect(refreshes).toBe(before + 1);
    c.socket.destroy();
  });
});
