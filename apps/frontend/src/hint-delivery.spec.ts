import { Registry } from 'prom-client';
import type { ReplicaReply, ReplicaTransport } from '@fog/coordinator';
import { createLogger } from '@fog/http-kit';
import { HINT_LIMITS, type HintLimits } from '@fog/replica-sync';
import type { PartitionTable, WireOp, WireResult } from '@fog/protocol';
import { HintDelivery, hintConfigFrom } from './hint-delivery';

/** Records what reaches each node; a node answers as `answer` says (throws: unreachable). */
class FakeTransport implements ReplicaTransport {
  sent: Array<{ address: string; epoch: number; op: WireOp }> = [];
  answer: (address: string) => WireResult | 'unreachable' = () => ({ ok: true, outcome: 'applied' });
  nodeEpoch = 1;
  async send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply> {
    this.sent.push({ address, epoch, op });
    const a = this.answer(address);
    if (a === 'unreachable') throw new Error('ECONNREFUSED');
    return { result: a, epoch: this.nodeEpoch, clock: { ms: 1, c: 0 } };
  }
}

function tableWith(states: Record<string, 'up' | 'down'>, epoch = 1): PartitionTable {
  const ids = Object.keys(states);
  return {
    epoch, digits: 1, redundancy: ids.length,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ids, pending: [] })),
    nodes: Object.fromEntries(ids.map((id) => [id, { id, address: `addr-${id}`, zone: 'z', weight: 1, state: states[id] }])),
  };
}

const ver = (ms: number) => ({ ms, c: 0, w: 'fe-1' });

function setup(limits: Partial<HintLimits> = {}, enabled = true) {
  const transport = new FakeTransport();
  const lines: string[] = [];
  const registry = new Registry();
  let now = 1_000;
  let table = tableWith({ a: 'up', b: 'down' });
  const delivery = new HintDelivery({
    transport, registry, table: () => table, nowMs: () => now,
    log: createLogger('frontend', 'debug', (l) => lines.push(l)),
    config: { enabled, limits: { ...HINT_LIMITS, ...limits }, deliveryIntervalMs: 100 },
  });
  const metric = async (outcome?: string) => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === (outcome ? 'fog_frontend_hints_total' : 'fog_frontend_hints'));
    return m?.values.find((v) => !outcome || v.labels.outcome === outcome)?.value;
  };
  return {
    transport, lines, delivery, metric,
    setTable: (t: PartitionTable) => (table = t),
    advance: (ms: number) => (now += ms),
  };
}

describe('HintDelivery', () => {
  it('holds the writes a down node missed and sends them in order as hinted puts once it is up', async () => {
    const s = setup();
    s.delivery.missedWrite('b', 3, 'k1', ver(1), 'djE=');
    s.delivery.missedWrite('b', 7, 'k2', ver(2), null);
    s.delivery.missedWrite('b', 3, 'k3', ver(3), 'djM=');
    await s.delivery.turn();
    expect(s.transport.sent).toEqual([]);
    expect(await s.metric()).toBe(3);
    s.setTable(tableWith({ a: 'up', b: 'up' }, 2));
    await s.delivery.turn();
    expect(s.transport.sent).toEqual([
      { address: 'addr-b', epoch: 2, op: { op: 'put', p: 3, key: 'k1', ver: ver(1), val: 'djE=', via: 'hint' } },
      { address: 'addr-b', epoch: 2, op: { op: 'put', p: 7, key: 'k2', ver: ver(2), val: null, via: 'hint' } },
      { address: 'addr-b', epoch: 2, op: { op: 'put', p: 3, key: 'k3', ver: ver(3), val: 'djM=', via: 'hint' } },
    ]);
    expect(await s.metric()).toBe(0);
    expect(await s.metric('queued')).toBe(3);
    expect(await s.metric('delivered')).toBe(3);
    expect(s.lines.filter((l) => l.includes('"level":"warn"'))).toEqual([]);
  });

  it('keeps hints a node could not take and sends them again after the pause', async () => {
    const s = setup({ retryBackoffMinMs: 500 });
    s.setTable(tableWith({ a: 'up', b: 'up' }));
    s.delivery.missedWrite('b', 1, 'k', ver(1), 'dg==');
    s.transport.answer = () => 'unreachable';
    await s.delivery.turn();
    expect(await s.metric()).toBe(1);
    s.transport.answer = () => ({ ok: true, outcome: 'duplicate' });
    s.advance(100);
    await s.delivery.turn();
    expect(s.transport.sent).toHaveLength(1);
    s.advance(400);
    await s.delivery.turn();
    expect(s.transport.sent).toHaveLength(2);
    expect(await s.metric('delivered')).toBe(1);
  });

  it('drops hints for a node whose newer table no longer gives it the partition', async () => {
    const s = setup();
    s.setTable(tableWith({ a: 'up', b: 'up' }, 4));
    s.transport.nodeEpoch = 5;
    s.transport.answer = () => ({ ok: false, code: 'FOG_ERR_WRONG_NODE' });
    s.delivery.missedWrite('b', 1, 'k', ver(1), 'dg==');
    await s.delivery.turn();
    expect(await s.metric('dropped')).toBe(1);
    expect(await s.metric()).toBe(0);
  });

  it('logs one warn line per turn with the counts of expired and dropped hints, never keys', async () => {
    const s = setup({ hintAgeMaxMs: 1_000, hintsPerNodeMax: 2 });
    for (let i = 0; i < 3; i++) s.delivery.missedWrite('b', 1, `secret-key-${i}`, ver(i + 1), 'dg==');
    await s.delivery.turn();
    s.advance(1_001);
    await s.delivery.turn();
    await s.delivery.turn();
    const warns = s.lines.filter((l) => l.includes('"level":"warn"')).map((l) => JSON.parse(l));
    expect(warns).toEqual([
      expect.objectContaining({ msg: 'hints given up: anti-entropy must repair what they held', expired: 0, dropped: 1, hintsQueued: 2 }),
      expect.objectContaining({ msg: 'hints given up: anti-entropy must repair what they held', expired: 2, dropped: 0, hintsQueued: 0 }),
    ]);
    expect(s.lines.join('')).not.toContain('secret-key');
    expect(await s.metric('expired')).toBe(2);
    expect(await s.metric('dropped')).toBe(1);
  });

  it('warns at stop about the hints it loses', () => {
    const s = setup();
    s.delivery.missedWrite('b', 1, 'k', ver(1), null);
    s.delivery.stop();
    expect(s.lines.some((l) => l.includes('stopping with undelivered hints') && l.includes('"hints":1'))).toBe(true);
  });

  it('keeps nothing when hinted handoff is off', async () => {
    const s = setup({}, false);
    s.delivery.missedWrite('b', 1, 'k', ver(1), null);
    s.setTable(tableWith({ a: 'up', b: 'up' }));
    await s.delivery.turn();
    expect(s.transport.sent).toEqual([]);
    expect(await s.metric('queued')).toBe(0);
  });
});

describe('hint flags', () => {
  const defaults = {
    'hints-per-node-max': HINT_LIMITS.hintsPerNodeMax, 'hint-bytes-per-node-max': HINT_LIMITS.hintBytesPerNodeMax, 'hint-age-max-ms': HINT_LIMITS.hintAgeMaxMs,
    'hint-delivery-bytes-per-sec-max': HINT_LIMITS.deliveryBytesPerSecMax, 'hint-delivery-interval-ms': 100,
  };

  it('takes the defaults and the values given', () => {
    const r = hintConfigFrom({ ...defaults, 'hint-age-max-ms': 2_000 });
    expect(r).toEqual({ config: { enabled: true, limits: { ...HINT_LIMITS, hintAgeMaxMs: 2_000 }, deliveryIntervalMs: 100 } });
  });

  it('turns hinted handoff off with --hints-per-node-max 0', () => {
    expect(hintConfigFrom({ ...defaults, 'hints-per-node-max': 0 })).toMatchObject({ config: { enabled: false } });
  });

  it.each([
    ['hints-per-node-max', -1],
    ['hint-age-max-ms', -5],
    ['hint-bytes-per-node-max', 1.5],
    ['hint-delivery-interval-ms', 1],
    ['hint-delivery-bytes-per-sec-max', Number.NaN],
  ])('refuses --%s %s', (flag, value) => {
    expect(hintConfigFrom({ ...defaults, [flag]: value })).toEqual({ problems: [expect.stringContaining(`--${flag} must be an integer`)] });
  });
});
