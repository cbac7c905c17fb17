import { FogError } from './errors';
import type { PartitionTable, TableNode } from './cluster';
import { decodeTableMessage, encodeCompactTable, encodeTableDelta, tableChecksum } from './table-codec';

const node = (i: number, state: TableNode['state'] = 'up'): TableNode => ({ id: `s${i}`, address: `127.0.0.1:${7100 + i}`, zone: `z${i % 3}`, weight: 1, state });

/** A table of 16^digits partitions over `n` nodes, replicas by a fixed rule. */
function table(epoch: number, n = 5, digits = 2): PartitionTable {
  const nodes: Record<string, TableNode> = {};
  for (let i = 0; i < n; i++) nodes[`s${i}`] = node(i);
  const partitions = Array.from({ length: 16 ** digits }, (_, p) => ({
    replicas: [0, 1, 2].map((k) => `s${(p + k) % n}`),
    pending: [] as string[],
    why: ['rank', 'rank', 'zone'],
  }));
  return { epoch, digits, redundancy: 3, partitions, nodes };
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof FogError ? err.code : `not a FogError: ${String(err)}`;
  }
  return 'no error';
};

describe('table checksum', () => {
  it('changes when a replica, a pending replica or a node entry changes, not when reasons do', () => {
    const t = table(1);
    const sum = tableChecksum(t);
    const moved = { ...t, partitions: t.partitions.map((e, p) => (p === 7 ? { ...e, replicas: ['s4', 's1', 's2'] } : e)) };
    const pending = { ...t, partitions: t.partitions.map((e, p) => (p === 7 ? { ...e, pending: ['s4'] } : e)) };
    const down = { ...t, nodes: { ...t.nodes, s3: node(3, 'down') } };
    const reasons = { ...t, partitions: t.partitions.map((e) => ({ ...e, why: ['kept', 'kept', 'kept'] })) };
    const swapped = { ...t, partitions: t.partitions.map((e, p) => (p === 7 ? { ...e, replicas: [e.replicas[1], e.replicas[0], e.replicas[2]] } : e)) };
    expect(new Set([sum, tableChecksum(moved), tableChecksum(pending), tableChecksum(down), tableChecksum(swapped)]).size).toBe(5);
    expect(tableChecksum(reasons)).toBe(sum);
  });
});

describe('table delta', () => {
  it('carries only what changed, and applying it gives the new table', () => {
    const base = table(4);
    const next: PartitionTable = {
      ...base,
      epoch: 5,
      nodes: { ...base.nodes, s5: node(5), s2: node(2, 'down') },
      partitions: base.partitions.map((e, p) => (p % 50 === 0 ? { replicas: e.replicas.slice(0, 2), pending: ['s5'], why: ['kept', 'kept'] } : e)),
    };
    const delta = encodeTableDelta(base, next);
    expect(delta.partitions.map((x) => x.p)).toEqual([0, 50, 100, 150, 200, 250]);
    expect(delta.nodesSet.map((n) => n.id).sort()).toEqual(['s2', 's5']);
    const wire = JSON.parse(JSON.stringify(delta));
    const applied = decodeTableMessage(base, wire) as PartitionTable;
    expect(applied.epoch).toBe(5);
    expect(applied.partitions).toEqual(next.partitions);
    expect(applied.nodes).toEqual(next.nodes);
    // The held table is not modified.
    expect(base.partitions[0].pending).toEqual([]);
    expect(JSON.stringify(delta).length).toBeLessThan(JSON.stringify(next).length / 20);
  });

  it('removes nodes that left the table', () => {
    const base = table(1, 6);
    const nodes = { ...base.nodes };
    delete nodes.s5;
    const next = { ...base, epoch: 2, nodes, partitions: base.partitions.map((e) => ({ ...e, replicas: e.replicas.map((id) => (id === 's5' ? 's0' : id)) })) };
    next.partitions = next.partitions.map((e) => (new Set(e.replicas).size < 3 ? { ...e, replicas: ['s1', 's2', 's3'] } : e));
    const applied = decodeTableMessage(base, JSON.parse(JSON.stringify(encodeTableDelta(base, next)))) as PartitionTable;
    expect(Object.keys(applied.nodes).sort()).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(applied.partitions).toEqual(next.partitions);
  });

  it('is refused when the receiver does not hold its base epoch', () => {
    const base = table(4);
    const delta = encodeTableDelta(base, { ...base, epoch: 5 });
    expect(codeOf(() => decodeTableMessage(table(3), delta))).toBe('FOG_ERR_TABLE_BASE_MISMATCH');
    expect(codeOf(() => decodeTableMessage(null, delta))).toBe('FOG_ERR_TABLE_BASE_MISMATCH');
  });

  it('is refused when the result does not match the checksum, and the held table stays', () => {
    const base = table(4);
    const next = { ...base, epoch: 5, partitions: base.partitions.map((e, p) => (p === 3 ? { ...e, replicas: ['s4', 's0', 's1'] } : e)) };
    const delta = encodeTableDelta(base, next);
    delta.partitions[0].replicas = ['s4', 's1', 's0'];
    expect(codeOf(() => decodeTableMessage(base, delta))).toBe('FOG_ERR_TABLE_CHECKSUM');
    expect(base.partitions[3].replicas).toEqual(['s3', 's4', 's0']);
  });

  it('is ignored (null) when not newer than the table held', () => {
    const base = table(4);
    expect(decodeTableMessage(base, encodeTableDelta(table(2), table(3)))).toBeNull();
    expect(decodeTableMessage(base, table(4))).toBeNull();
  });
});

describe('compact table', () => {
  it('round-trips the replicas, pending replicas, reasons and nodes', () => {
    const t = table(9, 7, 3);
    t.partitions[5] = { replicas: ['s1', 's2'], pending: ['s6'] };
    t.partitions[6] = { ...t.partitions[6], why: ['kept', 'fallback', 'rank'] };
    const compact = JSON.parse(JSON.stringify(encodeCompactTable(t)));
    const decoded = decodeTableMessage(null, compact) as PartitionTable;
    expect(decoded.partitions).toEqual(t.partitions);
    expect(decoded.nodes).toEqual(t.nodes);
    // Two distinct reason lists in the whole table.
    expect(compact.why.lists).toHaveLength(2);
    expect(JSON.stringify(compact).length).toBeLessThan(JSON.stringify(t).length / 3);
  });

  it.each([
    ['a row naming an index past the node list', (c: ReturnType<typeof encodeCompactTable>) => (c.rows[0] = [0, 99])],
    ['too few rows', (c: ReturnType<typeof encodeCompactTable>) => c.rows.pop()],
    ['a node entry with a bad state', (c: ReturnType<typeof encodeCompactTable>) => ((c.nodes[0] as { state: string }).state = 'gone')],
    ['a fractional index', (c: ReturnType<typeof encodeCompactTable>) => (c.rows[1] = [0.5])],
    ['a huge D', (c: ReturnType<typeof encodeCompactTable>) => (c.digits = 40)],
    ['a reason index past the dictionary', (c: ReturnType<typeof encodeCompactTable>) => (c.why!.index[0] = 9)],
  ])('refuses %s with FOG_ERR_BAD_REQUEST', (_, spoil) => {
    const c = encodeCompactTable(table(2));
    spoil(c);
    expect(codeOf(() => decodeTableMessage(null, c))).toBe('FOG_ERR_BAD_REQUEST');
  });
});

describe('malformed messages', () => {
  it.each([null, 7, 'table', [], { format: 'zip', epoch: 9 }, { epoch: 9 }, { format: 'delta', epoch: 5, baseEpoch: 4, digits: 2, redundancy: 3, nodesSet: 'x', nodesRemoved: [], partitions: [] }])(
    'refuses %p without touching the held table',
    (body) => {
      const held = table(4);
      const code = codeOf(() => decodeTableMessage(held, body));
      expect(['FOG_ERR_BAD_REQUEST']).toContain(code);
    },
  );
});
