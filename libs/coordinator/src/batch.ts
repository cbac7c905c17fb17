import type { Entry } from '@fog/lww';
import { partitionOf } from '@fog/partitioning';
import { FogError, type PartitionTable, type Version } from '@fog/protocol';
import type { Coordinator } from './coordinator';

export type BatchOp =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: Buffer; /** The value expires this long after its stamp. */ ttlMs?: number }
  | { op: 'delete'; key: string };

export type BatchOutcome =
  | { ok: true; op: 'get'; key: string; partition: number; /** null: never written; a tombstone has value null. */ entry: Entry | null }
  | { ok: true; op: 'put' | 'delete'; key: string; partition: number; ver: Version; acks: number }
  | { ok: false; op: BatchOp['op']; key: string; error: FogError };

/**
 * Run many operations with one answer each, in request order. Operations on the same key run
 * one after the other in request order (a get after a put of its key sees it); different keys
 * run at once. They are issued grouped by partition, and the reads of a partition all ask the
 * same replicas, so that the transport packs the operations bound for one node into few
 * internal requests. A failing operation fails alone.
 */
export async function runBatch(coordinator: Coordinator, ops: BatchOp[], r: number, w: number): Promise<BatchOutcome[]> {
  const table = coordinator.requireTable();
  const outcomes: BatchOutcome[] = new Array(ops.length);
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < ops.length; i++) {
    const list = byKey.get(ops[i].key);
    if (list) list.push(i);
    else byKey.set(ops[i].key, [i]);
  }
  const groups = [...byKey].map(([key, indexes]) => ({ partition: partitionOf(key, table.digits), indexes }));
  groups.sort((a, b) => a.partition - b.partition);
  const orders = new Map<number, string[]>();
  const sharedOrder = (t: PartitionTable, partition: number): string[] => {
    if (t !== table) return coordinator.readOrder(t, partition);
    let order = orders.get(partition);
    if (!order) orders.set(partition, (order = coordinator.readOrder(t, partition)));
    return order;
  };
  const runOne = async (i: number): Promise<BatchOutcome> => {
    const op = ops[i];
    try {
      if (op.op === 'get') {
        const res = await coordinator.read(op.key, r, {}, sharedOrder);
        return { ok: true, op: 'get', key: op.key, partition: res.partition, entry: res.entry };
      }
      const res = await coordinator.write(op.key, op.op === 'put' ? op.value : null, w, {}, op.op === 'put' ? op.ttlMs ?? null : null);
      return { ok: true, op: op.op, key: op.key, partition: res.partition, ver: res.ver, acks: res.acks };
    } catch (err) {
      const error = err instanceof FogError ? err : new FogError('FOG_ERR_INTERNAL');
      return { ok: false, op: op.op, key: op.key, error };
    }
  };
  await Promise.all(groups.map(async (g) => {
    for (const i of g.indexes) outcomes[i] = await runOne(i);
  }));
  return outcomes;
}
