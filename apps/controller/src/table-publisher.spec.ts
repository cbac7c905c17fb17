import http from 'node:http';
import { Registry } from 'prom-client';
import { createLogger } from '@fog/http-kit';
import { decodeTableMessage, FogError, type PartitionTable, type TableNode } from '@fog/protocol';
import { TablePublisher } from './table-publisher';

const node = (i: number): TableNode => ({ id: `s${i}`, address: `127.0.0.1:${7100 + i}`, zone: 'z', weight: 1, state: 'up' });

function table(epoch: number, moved: number[] = []): PartitionTable {
  const nodes: Record<string, TableNode> = {};
  for (let i = 0; i < 4; i++) nodes[`s${i}`] = node(i);
  const partitions = Array.from({ length: 256 }, (_, p) => ({ replicas: moved.includes(p) ? ['s3', 's1', 's2'] : ['s0', 's1', 's2'], pending: [] as string[] }));
  return { epoch, digits: 2, redundancy: 3, partitions, nodes };
}

/** A receiver on loopback that applies pushes with the real decode function and records them. */
class Receiver {
  held: PartitionTable | null = null;
  readonly got: Array<{ format: string; bytes: number }> = [];
  private server!: http.Server;
  address = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        this.got.push({ format: body.format ?? 'plain', bytes: Buffer.concat(chunks).length });
        try {
          const t = decodeTableMessage(this.held, body);
          if (t) this.held = t;
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ adopted: t !== null, epoch: this.held?.epoch ?? 0 }));
        } catch (err) {
          const e = err as FogError;
          res.writeHead(e.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify(e.toBody()));
        }
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.address = `127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}

describe('TablePublisher', () => {
  const log = createLogger('controller', 'error', () => undefined);

  it('sends the compact table first, then deltas, and the receiver ends with the published table', async () => {
    const a = new Receiver();
    await a.start();
    const publisher = new TablePublisher(log, new Registry());
    try {
      const t1 = table(1);
      publisher.push(t1, [{ id: 'a', address: a.address }]);
      await until(() => a.held?.epoch === 1);
      const t2 = table(2, [5, 9]);
      publisher.push(t2, [{ id: 'a', address: a.address }]);
      await until(() => a.held?.epoch === 2);
      expect(a.got.map((g) => g.format)).toEqual(['compact', 'delta']);
      expect(a.got[1].bytes).toBeLessThan(a.got[0].bytes / 10);
      expect(a.held!.partitions[5].replicas).toEqual(['s3', 's1', 's2']);
    } finally {
      publisher.close();
      await a.stop();
    }
  });

  it('falls back to the compact table when the receiver does not hold the delta\'s base', async () => {
    const a = new Receiver();
    await a.start();
    const publisher = new TablePublisher(log, new Registry());
    try {
      publisher.push(table(1), [{ id: 'a', address: a.address }]);
      await until(() => a.held?.epoch === 1);
      // The receiver lost its table (it restarted) but the publisher believes it holds epoch 1.
      a.held = null;
      publisher.push(table(2, [7]), [{ id: 'a', address: a.address }]);
      await until(() => a.held?.epoch === 2);
      expect(a.got.map((g) => g.format)).toEqual(['compact', 'delta', 'compact']);
    } finally {
      publisher.close();
      await a.stop();
    }
  });

  it('sends a delta from the epoch a receiver holds, several epochs back, after a heartbeat says so', async () => {
    const a = new Receiver();
    await a.start();
    const publisher = new TablePublisher(log, new Registry());
    try {
      publisher.push(table(1), [{ id: 'a', address: a.address }]);
      await until(() => a.held?.epoch === 1);
      // Epochs 2 and 3 are published while the receiver is not pushed to (it was down).
      publisher.push(table(2, [1]), []);
      publisher.push(table(3, [1, 2]), []);
      publisher.noteHeld('a', 1);
      publisher.push(table(4, [1, 2, 3]), [{ id: 'a', address: a.address }]);
      await until(() => a.held?.epoch === 4);
      expect(a.got.map((g) => g.format)).toEqual(['compact', 'delta']);
      expect(a.held!.partitions[3].replicas).toEqual(['s3', 's1', 's2']);
    } finally {
      publisher.close();
      await a.stop();
    }
  });
});
