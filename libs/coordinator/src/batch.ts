import type { Entry } from '@fog/lww';
import { FogError, type PartitionTable, type Version } from '@fog/protocol';
import type { BatchWrite, Coordinator } from './coordinator';

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
 * one after the other in request order (a get after a put of its key sees it): the batch runs
 * in waves, the n-th operation of every key in the n-th wave, each wave once the one before
 * ended. Within a wave the keys differ and everything runs at once, the work for each replica
 * packed together (Coordinator.writeMany, readMany), and the reads of a partition all ask the
 * same replicas. A failing operation fails alone.
 */
export async function runBatch(coordinator: Coordinator, ops: BatchOp[], r: number, w: number): Promise<BatchOutcome[]> {
  const table = coordinator.requireTable();
  const outcomes: BatchOutcome[] = new Array(ops.length);
  const waveOf = new Uint32Array(ops.length);
  let waves = ops.length > 0 ? 1 : 0;
  const seen = new Map<string, number>();
  for (let i = 0; i < ops.length; i++) {
    const before = seen.get(ops[i].key);
    if (before === undefined) seen.set(ops[i].key, 1);
    else {
      waveOf[i] = before;
      seen.set(ops[i].key, before + 1);
      if (before + 1 > waves) waves = before + 1;
    }
  }
  const orders = new Map<number, string[]>();
  const sharedOrder = (t: PartitionTable, partition: number): string[] => {
    if (t !== table) return coordinator.readOrder(t, partition);
    let order = orders.get(partition);
    if (!order) orders.set(partition, (order = coordinator.readOrder(t, partition)));
    return order;
  };
  for (let wave = 0; wave < waves; wave++) {
    const reads: number[] = [];
    const writes: number[] = [];
    for (let i = 0; i < ops.length; i++) {
      if (waveOf[i] !== wave) continue;
      if (ops[i].op === 'get') reads.push(i);
      else writes.push(i);
    }
    await Promise.all([runWrites(coordinator, ops, writes, w, outcomes), runReads(coordinator, ops, reads, r, sharedOrder, outcomes)]);
  }
  return outcomes;
}

async function runWrites(coordinator: Coordinator, ops: BatchOp[], indexes: number[], w: number, outcomes: BatchOutcome[]): Promise<void> {
  if (indexes.length === 0) return;
  const items = indexes.map((i): BatchWrite => {
    const op = ops[i];
    return op.op === 'put' ? { key: op.key, value: op.value, ttlMs: op.ttlMs ?? null } : { key: op.key, value: null, ttlMs: null };
  });
  let results: Awaited<ReturnType<Coordinator['writeMany']>>;
  try {
    results = await coordinator.writeMany(items, w);
  } catch (err) {
    const error = asFogError(err);
    for (const i of indexes) outcomes[i] = { ok: false, op: ops[i].op, key: ops[i].key, error };
    return;
  }
  for (let j = 0; j < indexes.length; j++) {
    const i = indexes[j];
    const op = ops[i].op as 'put' | 'delete';
    const res = results[j];
    outcomes[i] = res instanceof FogError
      ? { ok: false, op, key: ops[i].key, error: res }
      : { ok: true, op, key: ops[i].key, partition: res.partition, ver: res.ver, acks: res.acks };
  }
}

async function runReads(
  coordinator: Coordinator, ops: BatchOp[], indexes: number[], r: number, order: (t: PartitionTable, p: number) => string[], outcomes: BatchOutcome[],
): Promise<void> {
  if (indexes.length === 0) return;
  let results: Awaited<ReturnType<Coordinator['readMany']>>;
  try {
    results = await coordinator.readMany(indexes.map((i) => ops[i].key), r, order);
  } catch (err) {
    const error = asFogError(err);
    for (const i of indexes) outcomes[i] = { ok: false, op: 'get', key: ops[i].key, error };
    return;
  }
  for (let j = 0; j < indexes.length; j++) {
    const i = indexes[j];
    const res = results[j];
    outcomes[i] = res instanceof FogError
      ? { ok: false, op: 'get', key: ops[i].key, error: res }
      : { ok: true, op: 'get', key: ops[i].key, partition: res.partition, entry: res.entry };
  }
}

function asFogError(err: unknown): FogError {
  return err instanceof FogError ? err : new FogError('FOG_ERR_INTERNAL');
}
