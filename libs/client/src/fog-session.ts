import { compareVersions, parseVersion, type Version } from '@fog/protocol';
import type { Bytes, FogClient, ReadOptions, StoredValue, WriteOptions, WriteResult } from './fog-client';

export const SESSION_DEFAULTS = {
  /**
   * Keys a session remembers a receipt for. Past it the least recently used receipt is
   * forgotten, and a read of that key is no longer held to the session's writes.
   */
  sessionReceiptsMax: 10_000,
} as const;

/**
 * Read-your-writes without read quorums: a session remembers, per key, the newest version it
 * wrote or read (its receipt) and sends it with every read of the key (x-fog-after), so even
 * an r=1 read sees the session's own writes and never goes back in time. Receipts live in the
 * session object only; share a session between requests that must see each other's writes.
 */
export class FogSession {
  private readonly receipts = new Map<string, Version>();

  constructor(private readonly client: FogClient, private readonly receiptsMax: number = SESSION_DEFAULTS.sessionReceiptsMax) {
    if (!(Number.isSafeInteger(receiptsMax) && receiptsMax >= 1)) throw new RangeError('sessionReceiptsMax must be a positive integer');
  }

  /** The receipt the session holds for a key (the version a read must reach), if any. */
  receipt(key: string): string | undefined {
    const v = this.receipts.get(key);
    return v ? `${v.ms}.${v.c}.${v.w}` : undefined;
  }

  async get(key: string, opts: ReadOptions = {}): Promise<StoredValue | null> {
    const got = await this.client.get(key, { ...opts, after: opts.after ?? this.receipt(key) });
    if (got) this.remember(key, got.version);
    return got;
  }

  async put(key: string, value: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const res = await this.client.put(key, value, opts);
    this.remember(key, res.version);
    return res;
  }

  async delete(key: string, opts: WriteOptions = {}): Promise<WriteResult> {
    const res = await this.client.delete(key, opts);
    this.remember(key, res.version);
    return res;
  }

  async append(key: string, bytes: Bytes, opts: WriteOptions = {}): Promise<WriteResult> {
    const res = await this.client.append(key, bytes, opts);
    this.remember(key, res.version);
    return res;
  }

  /** Keep the newer of the held receipt and this version (most recently used last). */
  private remember(key: string, version: string): void {
    const v = parseVersion(version);
    if (!v) return;
    const held = this.receipts.get(key);
    this.receipts.delete(key);
    this.receipts.set(key, held && compareVersions(held, v) > 0 ? held : v);
    if (this.receipts.size > this.receiptsMax) this.receipts.delete(this.receipts.keys().next().value as string);
  }
}
