import { BUCKET_SEPARATOR } from './bucket-key';
import { KEYSPACE_SCAN_DEFAULTS } from './scan-merge';
import { checkKey, FogError } from '@fog/protocol';

export interface ScanRequest {
  prefix: string;
  after: string | null;
  limit: number;
  /** Names and versions only (no values, no per-key reads). */
  keysOnly: boolean;
  /** Only this partition (a backup goes partition by partition); null: every partition. */
  partition: number | null;
  /** List bucket items too (under their internal keys): a backup needs them, a listing does not. */
  withBucketItems: boolean;
}

export interface ScanLimits {
  keyBytesMax: number;
  scanItemsMax?: number;
  scanItemsDefault?: number;
}

const SCAN_PARAMS = new Set(['prefix', 'after', 'limit', 'keys', 'partition', 'buckets', 'r']);

type Query = Record<string, unknown>;

function once(q: Query, name: string): string | undefined {
  const v = q[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new FogError('FOG_ERR_BAD_REQUEST', `give ${name} once`);
  return v;
}

/**
 * The query of GET /v1/kv, checked whole before anything is read: unknown parameters are
 * refused (FOG_ERR_UNKNOWN_FIELD) rather than ignored.
 */
export function parseScanRequest(q: Query, limits: ScanLimits, partitionCount: number): ScanRequest {
  const max = limits.scanItemsMax ?? KEYSPACE_SCAN_DEFAULTS.scanItemsMax;
  const unknown = Object.keys(q).filter((k) => !SCAN_PARAMS.has(k));
  if (unknown.length > 0) {
    throw new FogError('FOG_ERR_UNKNOWN_FIELD', `unknown parameter ${unknown.map((k) => JSON.stringify(k)).join(', ')}; a scan takes ${[...SCAN_PARAMS].join(', ')}`, { fields: unknown.slice(0, 8) });
  }
  const prefix = once(q, 'prefix') ?? '';
  if (Buffer.byteLength(prefix, 'utf8') > limits.keyBytesMax) throw new FogError('FOG_ERR_KEY_TOO_LONG', 'prefix is longer than the key limit', { keyBytesMax: limits.keyBytesMax });
  const withBucketItems = (() => {
    const b = once(q, 'buckets');
    if (b === undefined || b === 'exclude') return false;
    if (b === 'include') return true;
    throw new FogError('FOG_ERR_BAD_REQUEST', 'buckets must be "include" or "exclude"');
  })();
  const afterText = once(q, 'after');
  let after: string | null = null;
  if (afterText !== undefined) {
    // A cursor is a key a page ended on, which may be a bucket item's internal key (a page
    // that leaves bucket items out still stops where the partitions' pages stopped).
    const plain = afterText.split(BUCKET_SEPARATOR).join('');
    if ((plain.length > 0 && checkKey(plain, limits.keyBytesMax) !== null) || Buffer.byteLength(afterText, 'utf8') > limits.keyBytesMax) {
      throw new FogError('FOG_ERR_BAD_REQUEST', 'after must be a key (the next cursor of the previous page)');
    }
    after = afterText;
  }
  const limitText = once(q, 'limit');
  if (limitText !== undefined && (!/^\d{1,7}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > max)) {
    throw new FogError('FOG_ERR_BAD_REQUEST', `limit must be an integer from 1 to ${max}`, { scanItemsMax: max });
  }
  const limit = limitText === undefined ? Math.min(max, limits.scanItemsDefault ?? KEYSPACE_SCAN_DEFAULTS.scanItemsDefault) : Number(limitText);
  const keys = once(q, 'keys');
  if (keys !== undefined && keys !== 'only') throw new FogError('FOG_ERR_BAD_REQUEST', 'keys must be "only" (or absent, for values too)');
  const partitionText = once(q, 'partition');
  let partition: number | null = null;
  if (partitionText !== undefined) {
    if (!/^\d{1,5}$/.test(partitionText) || Number(partitionText) >= partitionCount) {
      throw new FogError('FOG_ERR_BAD_REQUEST', `partition must be an integer from 0 to ${partitionCount - 1}`, { partitions: partitionCount });
    }
    partition = Number(partitionText);
  }
  return { prefix, after, limit, keysOnly: keys === 'only', partition, withBucketItems };
}

/** Bucket items are stored under internal keys (bucket SEP item); a plain listing leaves them out. */
export function isBucketItemKey(key: string): boolean {
  return key.includes(BUCKET_SEPARATOR);
}

/** Where a listed key lives: a bucket item in its bucket's partition, any other key by itself. */
export function placeByOfKey(key: string): string {
  const i = key.indexOf(BUCKET_SEPARATOR);
  return i < 0 ? key : key.slice(0, i);
}
