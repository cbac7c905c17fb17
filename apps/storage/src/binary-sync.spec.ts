import http from 'node:http';
import net from 'node:net';
import { Registry } from 'prom-client';
import { createHttpMetrics, createLogger, listenWithPreface, type RunningServer } from '@fog/http-kit';
import { FogError, FrameReader } from '@fog/protocol';
import {
  ANTI_ENTROPY_PATHS, SYNC_FRAME_PREFACE, decodeSyncReply, encodeSyncRequest, type AeEntry, type DecodedSyncReply, type SyncKind, type SyncReply,
} from '@fog/replica-sync';
import { BinarySyncServer } from './binary-sync';
import { PeerSyncClient } from './peer-sync-client';

const log = createLogger('storage', 'error', () => undefined);
const binaryValue = Buffer.from([0, 0xff, 0x0a, 0x22, 0x5c, 7]);
const ver = { ms: 1_700_000_000_000, c: 1, w: 'fe-1' };
const ENTRIES: AeEntry[] = [
  { key: 'a', ver, val: binaryValue.toString('base64') },
  { key: 'b', ver, val: null },
  { key: 'c', ver, val: '', exp: 1_900_000_000_000 },
];

async function bytesOf(registry: Registry, transport: string): Promise<number> {
  const metric = registry.getSingleMetric('fog_storage_replica_sync_bytes_total');
  if (!metric) throw new Error('the bytes counter is not registered');
  const m = await metric.get();
  return m.values.filter((v) => v.labels.transport === transport).reduce((a, v) => a + v.value, 0);
}

describe('binary sync: PeerSyncClient against BinarySyncServer', () => {
  let server: RunningServer;
  let address: string;
  const answered: Array<{ kind: SyncKind; body: unknown }> = [];
  const clients: PeerSyncClient[] = [];

  beforeAll(async () => {
    const sync = new BinarySyncServer({
      answer: (kind, body): SyncReply => {
        answered.push({ kind, body });
        if (kind === 'push') {
          const entries = (body as { entries: AeEntry[] }).entries;
          return { kind, body: { epoch: 3, held: true, applied: entries.length, refused: 0 } };
        }
        if (kind === 'diff') return { kind, body: { epoch: 3, held: true, horizonMs: -1, entries: ENTRIES, want: ['w'], covered: [], truncated: false } };
        if (kind === 'page') {
          if ((body as { p: number }).p === 99) throw new FogError('FOG_ERR_WRONG_NODE', 'not an active replica of partition 99');
          return { kind, body: { entries: ENTRIES, next: 'c', partitionBytes: 6 } };
        }
        throw new FogError('FOG_ERR_BAD_REQUEST', 'not in this test');
      },
      frameBytesMax: 4096, metrics: createHttpMetrics('storage'), log,
      checkOpening: (line) => (line === 'let-me-in' ? null : new FogError('FOG_ERR_UNAUTHENTICATED', 'no')),
    });
    server = await listenWithPreface((_req, res) => res.end('http'), '127.0.0.1', 0, [SYNC_FRAME_PREFACE], (s, rest) => sync.accept(s, rest));
    address = `127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.close();
  });
  beforeEach(() => {
    answered.length = 0;
  });

  const client = (opening = 'let-me-in', registry = new Registry()) => {
    const c = new PeerSyncClient('binary', () => opening, () => undefined, log, registry, 4096);
    clients.push(c);
    return c;
  };

  it('carries a diff and a push both ways with values byte for byte, counted as binary bytes', async () => {
    const registry = new Registry();
    const c = client('let-me-in', registry);
    const diff = await c.call(address, { kind: 'diff', body: { epoch: 3, from: 's1', p: 1, buckets: 128, ids: [1], horizonMs: -1, keysMax: 10, versions: [['a', 1, 0, 'fe-1', 0]] } }, 5000);
    expect(diff.entries).toEqual(ENTRIES);
    expect(Buffer.from(diff.entries[0].val ?? '', 'base64')).toEqual(binaryValue);
    const push = await c.call(address, { kind: 'push', body: { epoch: 3, from: 's1', p: 1, entries: ENTRIES } }, 5000);
    expect(push).toEqual({ epoch: 3, held: true, applied: 3, refused: 0 });
    expect(answered.map((a) => a.kind)).toEqual(['diff', 'push']);
    expect((answered[1].body as { entries: AeEntry[] }).entries).toEqual(ENTRIES);
    expect(await bytesOf(registry, 'binary')).toBeGreaterThan(0);
    expect(await bytesOf(registry, 'http')).toBe(0);
  });

  it('many requests at once are answered by id on shared connections', async () => {
    const c = client();
    const pages = await Promise.all(Array.from({ length: 20 }, (_, i) => c.call(address, { kind: 'page', body: { epoch: 3, p: i, after: null, limit: 10, bytesMax: 100 } }, 5000)));
    expect(pages.every((p) => p.next === 'c' && p.entries.length === 3 && p.partitionBytes === 6)).toBe(true);
    expect(answered.map((a) => (a.body as { p: number }).p).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('a refused message rejects with the refusal', async () => {
    await expect(client().call(address, { kind: 'page', body: { epoch: 3, p: 99, after: null, limit: 10, bytesMax: 100 } }, 5000)).rejects.toThrow(/refused the page request \(421 FOG_ERR_WRONG_NODE\)/);
  });

  it('a connection with a refused opening gets a 401 and nothing is answered', async () => {
    await expect(client('forged').call(address, { kind: 'push', body: { epoch: 3, from: 's1', p: 1, entries: ENTRIES } }, 5000)).rejects.toThrow(/401/);
    expect(answered).toEqual([]);
  });

  /** A raw connection: the preface and opening sent, frames written by the test. */
  const raw = () => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    socket.write(Buffer.concat([SYNC_FRAME_PREFACE, Buffer.from('let-me-in\n')]));
    const reader = new FrameReader(1 << 20);
    const replies: DecodedSyncReply[] = [];
    socket.on('data', (d: Buffer) => {
      const out: Buffer[] = [];
      reader.push(d, out);
      for (const f of out) replies.push(decodeSyncReply(f));
    });
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    const until = async (n: number) => {
      for (let i = 0; i < 400 && replies.length < n; i++) await new Promise((r) => setTimeout(r, 5));
      return replies;
    };
    return { socket, until, closed };
  };

  it('a malformed frame gets an error frame with its id, nothing applied, and the connection goes on', async () => {
    const conn = raw();
    const push = encodeSyncRequest(7, { kind: 'push', body: { epoch: 3, from: 's1', p: 1, entries: ENTRIES } });
    const cut = Buffer.from(push.subarray(0, push.length - 3));
    cut.writeUInt32LE(cut.length - 4, 0);
    conn.socket.write(cut);
    conn.socket.write(encodeSyncRequest(8, { kind: 'page', body: { epoch: 3, p: 1, after: null, limit: 10, bytesMax: 100 } }));
    const replies = await conn.until(2);
    conn.socket.destroy();
    expect(replies[0]).toMatchObject({ id: 7, ok: false, status: 400, body: { error: { code: 'FOG_ERR_BAD_REQUEST' } } });
    expect(replies[1]).toMatchObject({ id: 8, ok: true, kind: 'page' });
    expect(answered.map((a) => a.kind)).toEqual(['page']);
  });

  it('a frame over the size limit gets an error frame (413) and the connection is closed, nothing applied', async () => {
    const conn = raw();
    const big: AeEntry[] = [{ key: 'big', ver, val: Buffer.alloc(8192, 1).toString('base64') }];
    conn.socket.write(encodeSyncRequest(9, { kind: 'push', body: { epoch: 3, from: 's1', p: 1, entries: big } }));
    await conn.closed;
    expect(await conn.until(1)).toMatchObject([{ id: 0, ok: false, status: 413, body: { error: { code: 'FOG_ERR_BODY_TOO_LARGE' } } }]);
    expect(answered).toEqual([]);
  });
});

describe('PeerSyncClient towards a peer that speaks only HTTP', () => {
  it('falls back to HTTP when the peer answers the binary preface in HTTP, and counts HTTP bytes', async () => {
    const posted: string[] = [];
    const httpServer = http.createServer((req, res) => {
      posted.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.setHeader('content-type', 'application/json').end(JSON.stringify({ epoch: 4, groups: [2] })));
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
    const port = (httpServer.address() as net.AddressInfo).port;
    const registry = new Registry();
    const c = new PeerSyncClient('binary', () => '', () => undefined, log, registry, 1 << 20);
    try {
      const body = { epoch: 4, from: 's1', total: 16, groups: [] };
      expect(await c.call(`127.0.0.1:${port}`, { kind: 'tree', body }, 5000)).toEqual({ epoch: 4, groups: [2] });
      // The next message goes straight to HTTP.
      expect(await c.call(`127.0.0.1:${port}`, { kind: 'tree', body }, 5000)).toEqual({ epoch: 4, groups: [2] });
      expect(posted).toEqual([`POST ${ANTI_ENTROPY_PATHS.tree}`, `POST ${ANTI_ENTROPY_PATHS.tree}`]);
      expect(await bytesOf(registry, 'http')).toBeGreaterThan(0);
      expect(await bytesOf(registry, 'binary')).toBe(0);
    } finally {
      c.close();
      httpServer.closeAllConnections();
      await new Promise((r) => httpServer.close(r));
    }
  });

  it('with --replica-transport http it speaks HTTP from the start, and a malformed reply is an error', async () => {
    const httpServer = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.setHeader('content-type', 'application/json').end(JSON.stringify({ epoch: 4, held: 'yes' })));
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
    const port = (httpServer.address() as net.AddressInfo).port;
    const c = new PeerSyncClient('http', () => '', () => undefined, log, new Registry(), 1 << 20);
    try {
      await expect(c.call(`127.0.0.1:${port}`, { kind: 'push', body: { epoch: 4, from: 's1', p: 0, entries: [] } }, 5000)).rejects.toThrow(/malformed push reply/);
    } finally {
      c.close();
      httpServer.closeAllConnections();
      await new Promise((r) => httpServer.close(r));
    }
  });
});
