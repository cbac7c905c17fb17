import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMiddleware, metricsMiddleware, mountStandardRoutes, notFoundHandler, op } from './express-kit';
import { InflightBytes, internalJsonBody } from './internal-body';
import { createLogger } from './logger';
import { createHttpMetrics } from './metrics';

describe('InflightBytes', () => {
  it.each<[string, number[], number[], boolean[]]>([
    ['takes while the budget lasts', [40, 60], [], [true, true]],
    ['refuses what would exceed it, taking nothing', [40, 61, 60], [], [true, false, true]],
    ['takes again once bytes are given back', [100, 1], [100], [true, false]],
  ])('%s', (_name, takes, gives, want) => {
    const b = new InflightBytes(100);
    expect(takes.map((n) => b.tryTake(n))).toEqual(want);
    for (const g of gives) b.give(g);
    if (gives.length) expect(b.tryTake(100)).toBe(true);
  });
});

/** A loopback app with an internal JSON route behind the body limits, /ready, and a key route. */
describe('internal bodies, readiness and logs', () => {
  const logged: string[] = [];
  const metrics = createHttpMetrics('t');
  const inflight = new InflightBytes(3000);
  let ready: string[] = [];
  let server: http.Server;
  let port: number;
  const holding: Array<() => void> = [];

  beforeAll(async () => {
    const app = express();
    app.use(metricsMiddleware(metrics));
    mountStandardRoutes(app, metrics, () => ({ role: 't' }), () => ready);
    app.use('/internal', internalJsonBody({ bodyBytesMax: 1000, inflight, refused: (reason) => metrics.refused.inc({ op: 'x', reason }) }));
    app.post('/internal/echo', op('echo'), (req, res) => {
      res.json({ got: req.body });
    });
    // Holds its answer (and so its in-flight bytes) until released.
    app.post('/internal/hold', op('hold'), (_req, res) => {
      holding.push(() => res.json({ ok: true }));
    });
    app.get('/v1/kv/:key', op('kv'), () => {
      throw new Error('boom');
    });
    app.use(notFoundHandler());
    app.use(errorMiddleware(createLogger('t', 'debug', (l) => logged.push(l))));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  /** One raw request; chunked when no length is declared. */
  function send(path: string, body: Buffer | string, declareLength = true): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
      const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: declareLength ? { 'content-length': buf.length } : { 'transfer-encoding': 'chunked' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      if (declareLength) req.end(buf);
      else {
        for (let i = 0; i < buf.length; i += 100) req.write(buf.subarray(i, i + 100));
        req.end();
      }
    });
  }
  const code = (r: { body: string }) => (JSON.parse(r.body) as { error?: { code: string } }).error?.code;

  it.each<[string, string, boolean, number, string | undefined]>([
    ['a small JSON body', '{"a":[1,null]}', true, 200, undefined],
    ['truncated JSON', '{"a":[1,', true, 400, 'FOG_ERR_BAD_REQUEST'],
    ['a declared length over the body limit', `"${'x'.repeat(1200)}"`, true, 413, 'FOG_ERR_BODY_TOO_LARGE'],
    ['a chunked body that grows over the body limit', `"${'x'.repeat(1200)}"`, false, 413, 'FOG_ERR_BODY_TOO_LARGE'],
    ['a chunked body within the limit', '{"b":true}', false, 200, undefined],
  ])('%s → %d', async (_name, body, declared, status, want) => {
    const r = await send('/internal/echo', body, declared);
    expect(r.status).toBe(status);
    expect(code(r)).toBe(want);
    expect(inflight.usedBytes).toBe(0);
  });

  it('refuses with 503 a body the in-flight budget cannot take, and takes it again once bytes are given back', async () => {
    const body = `"${'x'.repeat(900)}"`;
    const held = [send('/internal/hold', body), send('/internal/hold', body), send('/internal/hold', body)];
    while (holding.length < 3) await new Promise((r) => setTimeout(r, 10));
    expect(inflight.usedBytes).toBe(3 * body.length);
    const refused = await send('/internal/echo', `"${'y'.repeat(500)}"`);
    expect(refused.status).toBe(503);
    expect(code(refused)).toBe('FOG_ERR_INFLIGHT_LIMIT');
    for (const answer of holding.splice(0)) answer();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(inflight.usedBytes).toBe(0);
    expect((await send('/internal/echo', `"${'y'.repeat(500)}"`)).status).toBe(200);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/fog_internal_refused_total\{op="x",reason="inflight_limit",app="t"\} [1-9]/);
    expect(text).toMatch(/fog_internal_refused_total\{op="x",reason="body_too_large",app="t"\} [1-9]/);
  });

  it('answers /ready 200 when nothing is missing and 503 naming every reason otherwise; /health stays 200', async () => {
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    ready = [];
    expect((await get('/ready')).status).toBe(200);
    ready = ['no_table', 'disk_not_writable'];
    const r = await get('/ready');
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ error: { code: 'FOG_ERR_NOT_READY', message: 'not ready: no_table, disk_not_writable', details: { reasons: ['no_table', 'disk_not_writable'] } } });
    expect((await get('/health')).status).toBe(200);
    ready = [];
  });

  it('logs a failed request with its route pattern, never the path holding the key, and counts it by code', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/kv/secret-key-123`);
    expect(res.status).toBe(500);
    const line = logged.find((l) => l.includes('request failed'));
    expect(line).toContain('/v1/kv/:key');
    expect(logged.join('\n')).not.toContain('secret-key-123');
    expect(await metrics.registry.metrics()).toMatch(/fog_http_errors_total\{op="kv",code="FOG_ERR_INTERNAL",app="t"\} 1/);
  });
});
