import express from 'express';
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import { createHttpMetrics, createLogger, errorMiddleware, mountStandardRoutes, notFoundHandler } from '@fog/http-kit';
import { DEFAULT_LIMITS, type OpsRequest, type PartitionTable, type WireOp } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { mountOriginalRoutes } from './original-routes';
import { v1Router } from './v1-routes';

const SPEC_FILE = path.join(__dirname, '..', '..', '..', 'docs', 'openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface Spec {
  openapi: string;
  paths: Record<string, Record<string, { operationId?: string; responses?: Record<string, unknown> }>>;
}

/** Express path patterns as OpenAPI writes them: '/kv/:key' -> '/kv/{key}', '/kv/' -> '/kv' (both are served). */
const toOpenApi = (p: string) => p.replace(/:([A-Za-z]+)/g, '{$1}').replace(/(.)\/$/, '$1');

type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> } };

/** method + path of every route of an Express router or app, under a prefix ('all' routes left out: they only refuse). */
function served(stack: Layer[], prefix: string): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (!layer.route) continue;
    for (const p of ([] as string[]).concat(layer.route.path)) {
      for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') out.push(`${m.toUpperCase()} ${toOpenApi(`${prefix}${p}`)}`);
    }
  }
  return out;
}

class OneReplica implements ReplicaTransport {
  readonly engine = new ReplicaEngine('a');
  readonly table: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['a'], pending: [] })),
    nodes: { a: { id: 'a', address: 'a', zone: 'z', weight: 1, state: 'up' } },
  };
  constructor() {
    this.engine.offerTable(this.table);
  }
  async send(_address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    const res = this.engine.handle({ epoch, ops: [op] } as OpsRequest, Date.now());
    return { result: res.results[0], epoch: res.epoch, clock: res.clock };
  }
}

describe('docs/openapi.yaml', () => {
  const spec = parse(fs.readFileSync(SPEC_FILE, 'utf8')) as Spec;
  const replicas = new OneReplica();
  const coordinator = new Coordinator({
    transport: replicas, clock: new HybridClock(), nowMs: () => Date.now(), random: Math.random, writerId: 'fe-test',
    table: () => replicas.table, refreshTable: async () => undefined,
  });
  const ctx = { coordinator, limits: DEFAULT_LIMITS, table: () => replicas.table, frontends: async () => ['127.0.0.1:1'] };
  const app = express();
  mountStandardRoutes(app, createHttpMetrics('frontend'), () => ({ role: 'frontend' }));
  mountOriginalRoutes(app, ctx);
  const v1 = v1Router(ctx);
  app.use('/v1', v1);
  app.use(notFoundHandler());
  app.use(errorMiddleware(createLogger('frontend', 'error', () => undefined)));

  const documented = Object.entries(spec.paths).flatMap(([p, ops]) => Object.keys(ops).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${p}`)).sort();

  it('is OpenAPI 3.1 with an operationId and responses for every operation', () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    for (const [p, ops] of Object.entries(spec.paths)) {
      for (const m of Object.keys(ops).filter((x) => METHODS.includes(x))) {
        expect({ op: `${m} ${p}`, id: typeof ops[m].operationId, responses: Object.keys(ops[m].responses ?? {}).length > 0 }).toEqual({ op: `${m} ${p}`, id: 'string', responses: true });
      }
    }
  });

  it('names exactly the routes the frontend serves to clients', () => {
    const router = (app as unknown as { router: { stack: Layer[] } }).router;
    const fromApp = served(router.stack, '')
      // The original API answers with and without the trailing slash; the document writes it with one.
      .map((r) => (/ \/(get|set)$/.test(r) ? `${r}/` : r));
    const fromV1 = served((v1 as unknown as { stack: Layer[] }).stack, '/v1');
    // The frontend's internal table route is not part of the client API.
    const clientRoutes = [...new Set([...fromApp, ...fromV1])].filter((r) => !r.includes('/internal/')).sort();
    expect(clientRoutes).toEqual(documented);
  });

  describe('every documented operation is answered (not "no such route")', () => {
    let server: http.Server;
    let base = '';
    beforeAll(async () => {
      await new Promise<void>((resolve) => {
        server = app.listen(0, '127.0.0.1', () => resolve());
      });
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it.each(documented)('%s', async (op) => {
      const [method, p] = op.split(' ');
      const url = p.replace(/\{[A-Za-z]+\}/g, 'x') + (p.startsWith('/get/') || p.startsWith('/set/') ? '?key=x&value=v' : '');
      const body = method === 'POST' && p === '/v1/batch' ? '{"ops":[]}' : method === 'POST' && p === '/v1/restore' ? '{"entries":[]}' : method === 'PUT' || method === 'POST' ? 'v' : undefined;
      const res = await fetch(`${base}${url}`, { method, body, headers: body?.startsWith('{') ? { 'content-type': 'application/json' } : {} });
      const text = await res.text();
      expect({ op, noRoute: text.includes('FOG_ERR_ROUTE_NOT_FOUND') }).toEqual({ op, noRoute: false });
      expect(Object.keys(spec.paths[p][method.toLowerCase()].responses ?? {})).toContain(String(res.status));
    });
  });
});
