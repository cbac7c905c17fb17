import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { FogError } from '@fog/protocol';
import { asyncHandler, errorMiddleware, metricsMiddleware, mountStandardRoutes, notFoundHandler, op } from './express-kit';
import { createLogger } from './logger';
import { createHttpMetrics } from './metrics';

/** A small app on a loopback port exercising the shared middleware as the apps use it. */
describe('express kit', () => {
  const logged: string[] = [];
  const metrics = createHttpMetrics('test');
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use(metricsMiddleware(metrics));
    mountStandardRoutes(app, metrics, () => ({ role: 'test' }));
    app.get('/fog', op('fog'), () => {
      throw new FogError('FOG_ERR_QUORUM_NOT_MET', 'write needed 2', { required: 2 });
    });
    app.get('/async', op('async'), asyncHandler(async () => {
      await Promise.resolve();
      throw new FogError('FOG_ERR_NOT_FOUND');
    }));
    app.get('/bug', op('bug'), () => {
      throw new Error('secret detail');
    });
    app.get('/kv/:key', op('kv'), (req, res) => {
      res.send(req.params.key);
    });
    app.post('/json', op('json'), express.json({ limit: 10 }), (_req, res) => {
      res.send('ok');
    });
    app.use(notFoundHandler());
    app.use(errorMiddleware(createLogger('test', 'debug', (l) => logged.push(l))));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const call = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}${path}`, init);
    return { status: res.status, body: await res.text() };
  };

  it.each<[string, RequestInit | undefined, number, string]>([
    ['/fog', undefined, 503, 'FOG_ERR_QUORUM_NOT_MET'],
    ['/async', undefined, 404, 'FOG_ERR_NOT_FOUND'],
    ['/bug', undefined, 500, 'FOG_ERR_INTERNAL'],
    ['/nowhere', undefined, 404, 'FOG_ERR_ROUTE_NOT_FOUND'],
    ['/kv/%E0%A4%A', undefined, 400, 'FOG_ERR_KEY_INVALID'],
    ['/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a": "far too long"}' }, 413, 'FOG_ERR_BODY_TOO_LARGE'],
    ['/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{x' }, 400, 'FOG_ERR_BAD_REQUEST'],
  ])('%s answers %d %s', async (path, init, status, code) => {
    const res = await call(path, init);
    expect(res.status).toBe(status);
    expect(JSON.parse(res.body).error.code).toBe(code);
  });

  it('logs an unexpected error with the path but keeps its detail out of the answer', async () => {
    const res = await call('/bug');
    expect(res.body).not.toContain('secret detail');
    expect(logged.some((l) => l.includes('"level":"error"') && l.includes('/bug'))).toBe(true);
  });

  it('serves health and counts requests by op and status', async () => {
    await call('/kv/abc');
    expect(JSON.parse((await call('/health')).body)).toEqual({ status: 'ok', role: 'test' });
    const text = (await call('/metrics')).body;
    expect(text).toMatch(/fog_http_requests_total\{op="kv",status="200",app="test"\} [1-9]/);
    expect(text).toMatch(/fog_http_request_duration_seconds_bucket\{le="0\.0005",app="test",op="kv",status="200"\}/);
    expect(text).not.toContain('abc');
  });
});

describe('default metrics', () => {
  it('names no gauge with the counter suffix _total', async () => {
    const m = createHttpMetrics('x');
    const text = await m.registry.metrics();
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((x) => x[1]);
    expect(gauges.length).toBeGreaterThan(3);
    expect(gauges.filter((g) => g.endsWith('_total'))).toEqual([]);
  });
});
