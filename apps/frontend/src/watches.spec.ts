import express from 'express';
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { Registry } from 'prom-client';
import { HybridClock } from '@fog/clock';
import { Coordinator, type ReplicaReply, type ReplicaTransport } from '@fog/coordinator';
import { createLogger, errorMiddleware, notFoundHandler } from '@fog/http-kit';
import { DEFAULT_LIMITS, type OpsRequest, type PartitionTable, type WireOp } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { v1Router } from './v1-routes';
import { Watches } from './watches';

/** Three in-process replicas shared by two coordinators (two frontends). */
class Replicas implements ReplicaTransport {
  readonly engines = new Map(['a', 'b', 'c'].map((id) => [id, new ReplicaEngine(id)]));
  readonly table: PartitionTable = {
    epoch: 1, digits: 1, redundancy: 3,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['a', 'b', 'c'], pending: [] })),
    nodes: Object.fromEntries(['a', 'b', 'c'].map((id) => [id, { id, address: id, zone: 'z', weight: 1, state: 'up' as const }])),
  };
  constructor() {
    for (const e of this.engines.values()) e.offerTable(this.table);
  }
  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    const res = this.engines.get(address)!.handle({ epoch, ops: [op] } as OpsRequest, Date.now());
    return { result: res.results[0], epoch: res.epoch, clock: res.clock };
  }
}

const coordinatorOf = (replicas: Replicas, writerId: string) => new Coordinator({
  transport: replicas, clock: new HybridClock(), nowMs: () => Date.now(), random: Math.random, writerId,
  table: () => replicas.table, refreshTable: async () => undefined,
});

describe('watches behind the v1 routes', () => {
  let server: http.Server;
  let base: string;
  let replicas: Replicas;
  let watches: Watches;
  let other: Coordinator;
  const registry = new Registry();
  /** Resolves once the frontend holds n open watches (its gauge says so). */
  const open = async (n: number) => {
    for (let i = 0; i < 500; i++) {
      const m = await registry.getSingleMetric('fog_frontend_watches')!.get();
      if (m.values[0]?.value === n) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`never saw ${n} open watches`);
  };

  beforeAll(async () => {
    replicas = new Replicas();
    const coordinator = coordinatorOf(replicas, 'fe-here');
    other = coordinatorOf(replicas, 'fe-other');
    const log = createLogger('frontend', 'error', () => undefined);
    watches = new Watches({ coordinator, table: () => replicas.table, log, registry, watchersMax: 2, pollIntervalMs: 20 });
    watches.start();
    const app = express();
    app.use('/v1', v1Router({ coordinator, limits: DEFAULT_LIMITS, table: () => replicas.table, watches }));
    app.use(notFoundHandler());
    app.use(errorMiddleware(log));
    await new Promise<void>((resolve) => {
      server = app.listen(0, '127.0.0.1', () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => {
    watches.stop();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const put = async (key: string, value: string) => (await fetch(`${base}/kv/${key}`, { method: 'PUT', body: value })).headers.get('x-fog-version')!;

  it('answers a write made through another coordinator, found by polling', async () => {
    const v1 = await put('polled', 'one');
    const pending = fetch(`${base}/kv/polled?watch=${v1}&wait=20s`);
    await open(1);
    const w = await other.write('polled', Buffer.from('two'), 3);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('two');
    expect(res.headers.get('x-fog-version')).toBe(`${w.ver.ms}.${w.ver.c}.${w.ver.w}`);
  });

  it('answers 304 with the watched version when nothing changes, and at once when the version is already old', async () => {
    const v1 = await put('quiet', 'x');
    const idle = await fetch(`${base}/kv/quiet?watch=${v1}&wait=100ms`);
    expect(idle.status).toBe(304);
    expect(idle.headers.get('x-fog-version')).toBe(v1);
    await put('quiet', 'y');
    const now = await fetch(`${base}/kv/quiet?watch=${v1}&wait=20s`);
    expect(await now.text()).toBe('y');
  });

  it('refuses a watch over watchersMax with 429, and stop() answers open watches 304', async () => {
    const v = await put('full', 'x');
    const a = fetch(`${base}/kv/full?watch=${v}&wait=20s`);
    const b = fetch(`${base}/kv/full?watch=${v}&wait=20s`);
    await open(2);
    const refused = await fetch(`${base}/kv/full?watch=${v}&wait=20s`);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('FOG_ERR_TOO_MANY_WATCHES');
    watches.stop();
    expect((await a).status).toBe(304);
    expect((await b).status).toBe(304);
    watches.start();
  });
});
