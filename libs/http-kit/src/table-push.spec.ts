import { Counter, Registry } from 'prom-client';
import { FogError, type PartitionTable } from '@fog/protocol';
import { createLogger } from './logger';
import { RefusalReporter } from './refusals';
import { decodePushedTable } from './table-push';

function reporter(): { refusals: RefusalReporter; counted: () => Promise<number> } {
  const registry = new Registry();
  const counter = new Counter({ name: 'refused_total', help: 'x', labelNames: ['op', 'reason'] as const, registers: [registry] });
  const log = createLogger('test', 'error', () => undefined);
  return { refusals: new RefusalReporter(counter, log), counted: async () => (await counter.get()).values.reduce((n, v) => n + v.value, 0) };
}

const held: PartitionTable = {
  epoch: 5, digits: 1, redundancy: 1,
  partitions: Array.from({ length: 16 }, () => ({ replicas: ['a'], pending: [] })),
  nodes: { a: { id: 'a', address: 'a:1', zone: 'z', weight: 1, state: 'up' } },
};

describe('a pushed table', () => {
  it('that does not decode is refused whole as FOG_ERR_BAD_TABLE, and counted', async () => {
    const { refusals, counted } = reporter();
    let err: unknown;
    try {
      decodePushedTable(held, { epoch: 1e15, partitions: [] }, () => null, refusals);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FogError);
    expect((err as FogError).code).toBe('FOG_ERR_BAD_TABLE');
    expect(await counted()).toBe(1);
  });

  it('that is a delta from an epoch not held asks for the whole table, without a refusal', async () => {
    const { refusals, counted } = reporter();
    expect(() => decodePushedTable(held, { format: 'delta', epoch: 9, baseEpoch: 7 }, () => null, refusals)).toThrow(expect.objectContaining({ code: 'FOG_ERR_TABLE_BASE_MISMATCH' }));
    expect(await counted()).toBe(0);
  });

  it('that decodes is still checked strictly, and an old one is ignored', async () => {
    const { refusals, counted } = reporter();
    const newer = { ...held, epoch: 6 };
    expect(() => decodePushedTable(held, newer, () => ({ code: 'FOG_ERR_BAD_TABLE', reason: 'mismatch', message: 'no' }), refusals)).toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_TABLE' }));
    expect(await counted()).toBe(1);
    expect(decodePushedTable(held, newer, () => null, refusals)?.epoch).toBe(6);
    expect(decodePushedTable(held, { ...held, epoch: 4 }, () => null, refusals)).toBeNull();
  });
});
