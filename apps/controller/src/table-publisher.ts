import http from 'node:http';
import https from 'node:https';
import { Counter, Gauge, type Registry } from 'prom-client';
import { internalHttpsAgent, tlsInUse, type Logger } from '@fog/http-kit';
import { INTERNAL_PATHS, encodeCompactTable, internalAddressOf, encodeTableDelta, tableChecksum, type PartitionTable } from '@fog/protocol';

export type TableEncoding = 'delta' | 'compact';

/**
 * Table pushes in flight at once, over all receivers; the others wait in the publisher's queue
 * (not in a socket pool, where waiting would count against their timeout). Unit: requests.
 */
export const TABLE_PUSHES_IN_FLIGHT_MAX = 16;
/**
 * Bytes of pushes in flight at once. Whole tables to a thousand new nodes are a gigabyte at D=4:
 * sent at full speed they would keep the event loop writing and heartbeats waiting; paced by
 * this bound they go out in the background. A push larger than the bound goes alone. Unit: bytes.
 */
export const TABLE_PUSH_BYTES_IN_FLIGHT_MAX = 4 * 1024 * 1024;
/** How long one push may take once sent (a compact table at D=4 is about a megabyte). Unit: ms. */
export const TABLE_PUSH_TIMEOUT_MS = 10_000;
/** Largest push answer read (it is a small JSON object). Unit: bytes. */
const PUSH_ANSWER_BYTES_MAX = 64 * 1024;

interface PushAnswer {
  status: number;
  body: { epoch?: unknown; error?: { code?: unknown } } | null;
}

/**
 * Published tables kept to encode deltas from: a receiver that holds any of them gets the change
 * from there, not the whole table. They share their unchanged entries, so each costs about one
 * array of P references. Unit: epochs.
 */
export const TABLE_DELTA_HISTORY_EPOCHS = 32;

interface EncodedEpoch {
  table: PartitionTable;
  checksum: string;
  /** Deltas to this epoch by the epoch they start from, each encoded when first needed. */
  deltas: Map<number, Buffer>;
  /** Made when the first receiver needs it. */
  compact: Buffer | null;
}

export interface PushTarget {
  id: string;
  address: string;
  /** Its internal listener, when it has one of its own: pushes go there. */
  internal?: string;
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
  /**
   * Receivers with a push in flight. A receiver gets one push at a time: a newer epoch waits for
   * the answer and then goes as a delta from what the receiver took, instead of piling whole
   * tables onto a slow receiver (or a slow network) epoch after epoch.
   */
  private readonly inFlight = new Set<string>();
  /** Receivers whose push was held back, with where to send. */
  private readonly waiting = new Map<string, PushTarget>();
  private encoded: EncodedEpoch | null = null;
  /** Recent published tables by epoch (see TABLE_DELTA_HISTORY_EPOCHS). */
  private readonly history = new Map<number, PartitionTable>();
  private readonly pushedBytes: Counter<'encoding'>;
  private readonly pushes: Counter<'encoding' | 'outcome'>;
  private readonly encodedBytes: Gauge<'encoding'>;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: TABLE_PUSHES_IN_FLIGHT_MAX });
  private tlsAgent: https.Agent | undefined;

  /** The agent for pushes when the cluster runs TLS (trusting its CA). */
  private httpsAgent(): https.Agent | undefined {
    this.tlsAgent ??= internalHttpsAgent({ maxSockets: TABLE_PUSHES_IN_FLIGHT_MAX });
    return this.tlsAgent;
  }
  /** Pushes waiting for a slot, oldest first. */
  private readonly queue: Array<{ bytes: number; start: () => void }> = [];
  private active = 0;
  private activeBytes = 0;

  /** `sign`: the headers authenticating a push (http-kit ClusterAuth.headersFor; none when insecure). */
  constructor(
    private readonly log: Logger, registry: Registry,
    private readonly sign: (method: string, path: string, body: Buffer) => Record<string, string> = () => ({}),
  ) {
    this.pushedBytes = new Counter({ name: 'fog_controller_table_push_bytes_total', help: 'Bytes of table pushes sent, by encoding (delta or compact full table).', labelNames: ['encoding'] as const, registers: [registry] });
    this.pushes = new Counter({ name: 'fog_controller_table_pushes_total', help: 'Table pushes by encoding and outcome (ok, refused, failed).', labelNames: ['encoding', 'outcome'] as const, registers: [registry] });
    this.encodedBytes = new Gauge({ name: 'fog_controller_table_encoded_bytes', help: 'Size of the current epoch\'s encodings (delta from the previous epoch, compact full table).', labelNames: ['encoding'] as const, registers: [registry] });
    for (const encoding of ['delta', 'compact'] as const) {
      this.pushedBytes.inc({ encoding }, 0);
      for (const outcome of ['ok', 'refused', 'failed']) this.pushes.inc({ encoding, outcome }, 0);
    }
  }

  close(): void {
    this.agent.destroy();
    this.tlsAgent?.destroy();
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
    this.encode(table);
    for (const t of targets) {
      if (this.inFlight.has(t.id)) this.waiting.set(t.id, t);
      else this.pushCurrent(t);
    }
  }

  private pushCurrent(t: PushTarget): void {
    const e = this.encoded;
    const held = this.held.get(t.id) ?? -1;
    if (!e || held >= e.table.epoch) return;
    const delta = this.deltaFrom(e, held);
    this.send(t, e.table.epoch, delta ? 'delta' : 'compact', delta ?? this.compactBody(e.table));
  }

  /** The change from `base` to the current epoch, if `base` is recent enough; encoded once per base. */
  private deltaFrom(e: EncodedEpoch, base: number): Buffer | null {
    const cached = e.deltas.get(base);
    if (cached) return cached;
    const from = this.history.get(base);
    if (!from || from.digits !== e.table.digits || from.redundancy !== e.table.redundancy) return null;
    const body = Buffer.from(JSON.stringify(encodeTableDelta(from, e.table, e.checksum)));
    e.deltas.set(base, body);
    if (base === e.table.epoch - 1) this.encodedBytes.set({ encoding: 'delta' }, body.length);
    return body;
  }

  private settled(t: PushTarget): void {
    this.inFlight.delete(t.id);
    const next = this.waiting.get(t.id);
    if (next) {
      this.waiting.delete(t.id);
      this.pushCurrent(next);
    }
  }

  private encode(table: PartitionTable): EncodedEpoch {
    if (this.encoded?.table === table) return this.encoded;
    this.history.set(table.epoch, table);
    for (const epoch of this.history.keys()) if (epoch <= table.epoch - TABLE_DELTA_HISTORY_EPOCHS) this.history.delete(epoch);
    this.encoded = { table, checksum: tableChecksum(table), deltas: new Map(), compact: null };
    // The common case, every receiver one epoch behind, is encoded right away.
    this.encodedBytes.set({ encoding: 'delta' }, this.deltaFrom(this.encoded, table.epoch - 1)?.length ?? 0);
    return this.encoded;
  }

  private send(target: PushTarget, epoch: number, encoding: TableEncoding, body: Buffer): void {
    this.inFlight.add(target.id);
    this.queue.push({ bytes: body.length, start: () => {
      this.pushedBytes.inc({ encoding }, body.length);
      this.put(internalAddressOf(target), body).then(
        (res) => this.answered(target, epoch, encoding, res),
        (err: Error) => {
          this.pushes.inc({ encoding, outcome: 'failed' });
          // What it holds is unknown now; its heartbeat will say. Until then the next push goes
          // as if it held what it held before, and a refused delta falls back to the full table.
          this.log.warn('table push failed', { node: target.id, epoch, encoding, error: err.message });
          this.settled(target);
        },
      ).finally(() => {
        this.active -= 1;
        this.activeBytes -= body.length;
        this.pump();
      });
    } });
    this.pump();
  }

  private pump(): void {
    while (this.active < TABLE_PUSHES_IN_FLIGHT_MAX && this.queue.length > 0) {
      const next = this.queue[0];
      if (this.active > 0 && this.activeBytes + next.bytes > TABLE_PUSH_BYTES_IN_FLIGHT_MAX) return;
      this.queue.shift();
      this.active += 1;
      this.activeBytes += next.bytes;
      next.start();
    }
  }

  private answered(target: PushTarget, epoch: number, encoding: TableEncoding, res: PushAnswer): void {
    if (res.status === 200) {
      this.pushes.inc({ encoding, outcome: 'ok' });
      this.noteHeld(target.id, res.body?.epoch);
      this.settled(target);
      return;
    }
    this.pushes.inc({ encoding, outcome: 'refused' });
    const code = res.body?.error?.code;
    if (encoding === 'delta' && code === 'FOG_ERR_TABLE_BASE_MISMATCH' && this.encoded !== null) {
      // It missed an epoch: the whole table, once.
      this.held.delete(target.id);
      this.send(target, this.encoded.table.epoch, 'compact', this.compactBody(this.encoded.table));
      return;
    }
    this.log.warn('table push refused', { node: target.id, status: res.status, code: String(code ?? ''), epoch, encoding });
    this.settled(target);
  }

  /** PUT the body with bare node:http: at a thousand receivers per epoch a client library's per-request cost adds up to seconds. */
  private put(address: string, body: Buffer): Promise<PushAnswer> {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(colon + 1));
    return new Promise<PushAnswer>((resolve, reject) => {
      const tlsMaterial = tlsInUse();
      const req = (tlsMaterial ? https.request : http.request)(
        {
          host, port, method: 'PUT', path: INTERNAL_PATHS.table, agent: tlsMaterial ? this.httpsAgent() : this.agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length, ...this.sign('PUT', INTERNAL_PATHS.table, body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= PUSH_ANSWER_BYTES_MAX) chunks.push(c);
          });
          res.on('end', () => {
            let parsed: PushAnswer['body'] = null;
            try {
              parsed = JSON.parse(Buffer.concat(chunks).toString()) as PushAnswer['body'];
            } catch {
              parsed = null;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(TABLE_PUSH_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${TABLE_PUSH_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
