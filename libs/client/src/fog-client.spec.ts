import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FogClientError } from './client-error';
import { FogClient, encodeKey } from './fog-client';
import { FrontendPool } from './frontend-pool';

describe('FrontendPool', () => {
  it('rotates over frontends and tries the ones marked down last, until their time is up', () => {
    const pool = new FrontendPool(['a', 'b', 'c'], 1000);
    expect(pool.order(0)).toEqual(['a', 'b', 'c']);
    expect(pool.order(0)).toEqual(['b', 'c', 'a']);
    pool.markDown('c', 0);
    expect(pool.order(10)).toEqual(['a', 'b', 'c']);
    expect(pool.order(10)).toEqual(['a', 'b', 'c']);
    expect(pool.order(1000)).toEqual(['b', 'c', 'a']);
    pool.markDown('c', 1000);
    pool.markUp('c');
    expect(pool.order(1000)).toEqual(['c', 'a', 'b']);
  });

  it('needs a frontend', () => {
    expect(() => new FrontendPool([], 1)).toThrow(/frontend/);
  });
});

describe('encodeKey', () => {
  it.each([
    ['plain', 'plain'],
    ['a/b', 'a%2Fb'],
    ['a.b', 'a.b'],
    ['...', '...'],
    ['a b?c#d%', 'a%20b%3Fc%23d%25'],
    ['日本', '%E6%97%A5%E6%9C%AC'],
  ])('%j -> %s', (key, want) => expect(encodeKey(key)).toBe(want));

  it.each(['a\ud800', '.', '..'])('refuses %j locally', (key) => {
    expect(() => encodeKey(key)).toThrow(FogClientError);
  });
});

/** A stand-in frontend: records requests, answers with the handler. */
async function fakeFrontend(handler: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void) {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: Buffer }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { address: `127.0.0.1:${port}`, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

/** An address nothing listens on. */
async function deadAddress(): Promise<string> {
  const f = await fakeFrontend(() => undefined);
  await f.close();
  return f.address;
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('FogClient', () => {
  const clients: FogClient[] = [];
  const servers: Array<{ close: () => Promise<void> }> = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) await s.close();
  });
  const client = (frontends: string[]) => {
    const c = new FogClient({ frontends, requestTimeoutMs: 2000 });
    clients.push(c);
    return c;
  };

  it('reads a value with its version, and null for a missing key', async () => {
    const fe = await fakeFrontend((req, _b, res) => {
      if (req.url === '/v1/kv/a%2Fb?r=all') {
        res.writeHead(200, { 'x-fog-version': '5.0.fe', 'x-fog-partition': '1f', 'content-type': 'application/octet-stream' });
        res.end(Buffer.from([0, 1, 255]));
      } else json(res, 404, { error: { code: 'FOG_ERR_NOT_FOUND', message: 'no such key' } });
    });
    servers.push(fe);
    const c = client([fe.address]);
    expect(await c.get('a/b', { r: 'all' })).toEqual({ value: Buffer.from([0, 1, 255]), version: '5.0.fe', partition: 31 });
    expect(await c.get('missing')).toBeNull();
  });

  it('throws the server error with its code, status and details', async () => {
    const fe = await fakeFrontend((_req, _b, res) => json(res, 503, { error: { code: 'FOG_ERR_QUORUM_NOT_MET', message: 'write needed 2 replica(s), 1 of 3 answered', details: { required: 2, answered: 1 } } }));
    servers.push(fe);
    const err = await client([fe.address]).put('k', 'v', { w: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FogClientError);
    expect(err).toMatchObject({ code: 'FOG_ERR_QUORUM_NOT_MET', status: 503, details: { required: 2, answered: 1 } });
    expect(fe.seen[0]).toMatchObject({ method: 'PUT', url: '/v1/kv/k?w=2' });
  });

  it('fails over from a frontend that refuses connections and spreads requests over the live ones', async () => {
    const a = await fakeFrontend((_req, _b, res) => json(res, 200, { key: 'k', version: '1.0.a', partition: 0 }));
    const b = await fakeFrontend((_req, _b, res) => json(res, 200, { key: 'k', version: '1.0.b', partition: 0 }));
    servers.push(a, b);
    const c = client([await deadAddress(), a.address, b.address]);
    for (let i = 0; i < 6; i++) await c.put('k', 'v');
    expect(a.seen.length + b.seen.length).toBe(6);
    expect(a.seen.length).toBeGreaterThanOrEqual(2);
    expect(b.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('says no frontend answered when none does', async () => {
    const c = client([await deadAddress(), await deadAddress()]);
    await expect(c.get('k')).rejects.toMatchObject({ code: 'FOG_CLIENT_UNREACHABLE' });
  });

  it('retries a read after a reset, but never an append, which may have been applied', async () => {
    const reset = await fakeFrontend((req) => req.socket.destroy());
    const ok = await fakeFrontend((_req, _b, res) => json(res, 200, { key: 'k', version: '1.0.b', partition: 0, bytes: 1 }));
    servers.push(reset, ok);
    // The pool rotates its start: two calls cover both orders.
    const c = client([reset.address, ok.address]);
    const first = await c.append('k', 'x').then(() => 'ok', (e: FogClientError) => e.code);
    const second = await c.append('k', 'x').then(() => 'ok', (e: FogClientError) => e.code);
    expect([first, second].sort()).toEqual(['FOG_CLIENT_UNREACHABLE', 'ok']);
    expect(reset.seen.length + ok.seen.length).toBe(2);
    const c2 = client([reset.address, ok.address]);
    await c2.get('k').catch(() => undefined);
    expect(ok.seen.length).toBeGreaterThanOrEqual(2);
  });

  it('sends If-Match quoted and batch values as base64 when they are bytes', async () => {
    const fe = await fakeFrontend((req, body, res) => {
      if (req.url?.startsWith('/v1/batch')) {
        const ops = (JSON.parse(body.toString()) as { ops: Array<{ op: string; key: string }> }).ops;
        json(res, 200, { results: ops.map((o) => ({ op: o.op, key: o.key, status: 200, version: '1.0.fe', value: '//8=', encoding: 'base64' })) });
      } else json(res, 200, { key: 'k', version: '2.0.fe', partition: 0 }, { 'x-fog-replicas': '3' });
    });
    servers.push(fe);
    const c = client([fe.address]);
    expect(await c.put('k', 'v', { ifMatch: '1.0.fe' })).toEqual({ key: 'k', version: '2.0.fe', partition: 0, replicas: 3 });
    expect(fe.seen[0].headers['if-match']).toBe('"1.0.fe"');
    const results = await c.batch([{ op: 'put', key: 'b', value: Buffer.from([0xff, 0xff]) }, { op: 'get', key: 'b' }], { w: 'all' });
    expect(JSON.parse(fe.seen[1].body.toString())).toEqual({ ops: [{ op: 'put', key: 'b', value: '//8=', encoding: 'base64' }, { op: 'get', key: 'b' }] });
    expect(fe.seen[1].url).toBe('/v1/batch?w=all');
    expect(results[1].value).toEqual(Buffer.from([0xff, 0xff]));
  });

  it('discovers the other frontends from one address and spreads requests over them', async () => {
    const a = await fakeFrontend((req, _b, res) => (req.url === '/v1/topology'
      ? json(res, 200, { epoch: 1, digits: 1, partitions: 16, redundancy: 3, frontends: [a.address, b.address] })
      : json(res, 200, { key: 'k', version: '1.0.fe', partition: 0 }, { 'x-fog-replicas': '2' })));
    const b = await fakeFrontend((_req, _b, res) => json(res, 200, { key: 'k', version: '1.0.fe', partition: 0 }, { 'x-fog-replicas': '2' }));
    servers.push(a, b);
    const c = new FogClient({ frontends: [a.address], discover: true });
    clients.push(c);
    for (let i = 0; i < 4; i++) await c.put('k', 'v');
    expect(c.frontends).toEqual([`http://${a.address}`, `http://${b.address}`]);
    expect(a.seen.filter((r) => r.url === '/v1/topology')).toHaveLength(1);
    expect(a.seen.filter((r) => r.method === 'PUT')).toHaveLength(2);
    expect(b.seen.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  it('keeps working with the frontends it has when discovery fails', async () => {
    const a = await fakeFrontend((req, _b, res) => (req.url === '/v1/topology' ? json(res, 503, { error: { code: 'FOG_ERR_NO_TABLE', message: 'x' } }) : json(res, 200, { key: 'k', version: '1.0.fe', partition: 0 })));
    servers.push(a);
    const c = new FogClient({ frontends: [a.address], discover: true });
    clients.push(c);
    await c.put('k', 'v');
    await c.put('k', 'v');
    expect(c.frontends).toEqual([`http://${a.address}`]);
    expect(a.seen.filter((r) => r.url === '/v1/topology')).toHaveLength(1);
  });
});
