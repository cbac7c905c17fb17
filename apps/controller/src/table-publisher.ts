import type { AxiosInstance } from 'axios';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '@fog/http-kit';
import { INTERNAL_PATHS, encodeCompactTable, encodeTableDelta, tableChecksum, type PartitionTable } from '@fog/protocol';

export type TableEncoding = 'delta' | 'compact';

interface EncodedEpoch {
  table: PartitionTable;
  checksum: string;
  /** The change from the epoch published before, or null for the first table. */
  delta: Buffer | null;
  baseEpoch: number;
  /** Made when the first receiver needs it. */
  compact: Buffer | null;
}

export interface PushTarget {
  id: string;
  address: string;
}

/**
 * Pushes each epoch to the frontends and storage nodes. Every epoch is encoded once, whatever
 * the number of receivers: a delta from the previous epoch for receivers known to hold it (from
 * their last push answer or heartbeat), the compact full table for the others, and the compact
 * table again for a receiver that refuses a delta because it does not hold its base.
 */
export class TablePublisher {
  /** Epoch each receiver is known to hold. */
  private readonly held = new Map<string, number>();
  private encoded: EncodedEpoch | null = null;
  private readonly pushedBytes: Counter<'encoding'>;
  private readonly pushes: Counter<'encoding' | 'outcome'>;
  private readonly encodedBytes: Gauge<'encoding'>;

  constructor(private readonly http: AxiosInstance, private readonly log: Logger, registry: Registry) {
    this.pushedBytes = new Counter({ name: 'fog_controller_table_push_bytes_total', help: 'Bytes of table pushes sent, by encoding (delta or compact full table).', labelNames: ['encoding'] as const, registers: [registry] });
    this.pushes = new Counter({ name: 'fog_controller_table_pushes_total', help: 'Table pushes by encoding and outcome (ok, refused, failed).', labelNames: ['encoding', 'outcome'] as const, registers: [registry] });
    this.encodedBytes = new Gauge({ name: 'fog_controller_table_encoded_bytes', help: 'Size of the current epoch\'s encodings (delta from the previous epoch, compact full table).', labelNames: ['encoding'] as const, registers: [registry] });
    for (const encoding of ['delta', 'compact'] as const) {
      this.pushedBytes.inc({ encoding }, 0);
      for (const outcome of ['ok', 'refused', 'failed']) this.pushes.inc({ encoding, outcome }, 0);
    }
  }

  /** A receiver told us the epoch it holds (heartbeat or push answer). */
  noteHeld(id: string, epoch: unknown): void {
    if (typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch >= 0) this.held.set(id, epoch);
  }

  forget(id: string): void {
    this.held.delete(id);
  }

  /** The compact encoding of `table` (cached for the current epoch). */
  compactBody(table: PartitionTable): Buffer {
    const e = this.encode(table);
    if (!e.compact) {
      e.compact = Buffer.from(JSON.stringify(encodeCompactTable(table, e.checksum)));
      this.encodedBytes.set({ encoding: 'compact' }, e.compact.length);
    }
    return e.compact;
  }

  /** Pushes `table` to every target; each gets the delta if it holds the base epoch, else the compact table. */
  push(table: PartitionTable, targets: readonly PushTarget[]): void {
    const e = this.encode(table);
    for (const t of targets) {
      const useDelta = e.delta !== null && this.held.get(t.id) === e.baseEpoch;
      this.send(t, table.epoch, useDelta ? 'delta' : 'compact', useDelta ? (e.delta as Buffer) : this.compactBody(table));
    }
  }

  private encode(table: PartitionTable): EncodedEpoch {
    if (this.encoded?.table === table) return this.encoded;
    const previous = this.encoded?.table ?? null;
    const checksum = tableChecksum(table);
    const usable = previous !== null && previous.epoch < table.epoch && previous.digits === table.digits && previous.redundancy === table.redundancy;
    const delta = usable ? Buffer.from(JSON.stringify(encodeTableDelta(previous, table, checksum))) : null;
    this.encoded = { table, checksum, delta, baseEpoch: previous?.epoch ?? -1, compact: null };
    this.encodedBytes.set({ encoding: 'delta' }, delta?.length ?? 0);
    return this.encoded;
  }

  private send(target: PushTarget, epoch: number, encoding: TableEncoding, body: Buffer): void {
    this.pushedBytes.inc({ encoding }, body.length);
    this.http
      .put(`http://${target.address}${INTERNAL_PATHS.table}`, body, { headers: { 'content-type': 'application/json' } })
      .then(
        (res) => {
          if (res.status === 200) {
            this.pushes.inc({ encoding, outcome: 'ok' });
            this.noteHeld(target.id, res.data?.epoch);
            return;
          }
          this.pushes.inc({ encoding, outcome: 'refused' });
          const code = res.data?.error?.code;
          if (encoding === 'delta' && code === 'FOG_ERR_TABLE_BASE_MISMATCH' && this.encoded?.table.epoch === epoch) {
            // It missed an epoch: the whole table, once.
            this.held.delete(target.id);
            this.send(target, epoch, 'compact', this.compactBody(this.encoded.table));
            return;
          }
          this.log.warn('table push refused', { node: target.id, status: res.status, code, epoch, encoding });
        },
        (err: Error) => {
          this.pushes.inc({ encoding, outcome: 'failed' });
          this.held.delete(target.id);
          this.log.warn('table push failed', { node: target.id, epoch, encoding, error: err.message });
        },
      );
  }
}
