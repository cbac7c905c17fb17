import { CLOCK_DEFAULTS } from '@fog/clock';
import { checkKey, FogError, parseVersion, type Version } from '@fog/protocol';
import { BUCKET_SEPARATOR } from './bucket-key';

/** One entry to restore: a key, the version it had when it was backed up, and its value. */
export interface RestoreEntry {
  key: string;
  ver: Version;
  value: Buffer;
  /** Where it is placed: a bucket item by its bucket (see placeByOfKey). */
  placeBy?: string;
  /** Its expiry (unix ms), for a key backed up with a ttl. */
  exp?: number;
}

export interface RestoreLimits {
  /** Most entries in one restore request (the batch limit). */
  batchItemsMax: number;
  keyBytesMax: number;
  valueBytesMax: number;
}

/** The fields a restore entry carries; any other refuses the request. */
export const RESTORE_ENTRY_FIELDS: ReadonlySet<string> = new Set(['key', 'version', 'value', 'encoding', 'expiresAtMs']);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function bad(index: number, message: string, code: 'FOG_ERR_BAD_REQUEST' | 'FOG_ERR_VALUE_TOO_LARGE' | 'FOG_ERR_VERSION_AHEAD' | 'FOG_ERR_UNKNOWN_FIELD' = 'FOG_ERR_BAD_REQUEST', details: Record<string, unknown> = {}): FogError {
  return new FogError(code, `entries[${index}]: ${message}`, { index, ...details });
}

/**
 * A key as a backup lists it: a plain key, or a bucket item's internal key `bucket SEP item`
 * whose bucket and item are each valid keys. Returns the bucket to place it by, or undefined.
 */
function checkRestoreKey(key: unknown, keyBytesMax: number, index: number): string | undefined {
  if (typeof key === 'string' && key.includes(BUCKET_SEPARATOR)) {
    const i = key.indexOf(BUCKET_SEPARATOR);
    const bucket = key.slice(0, i);
    const item = key.slice(i + BUCKET_SEPARATOR.length);
    if (checkKey(bucket, keyBytesMax) || checkKey(item, keyBytesMax) || Buffer.byteLength(key, 'utf8') > keyBytesMax) {
      throw bad(index, 'a bucket item key must be BUCKET U+0001 ITEM, each a valid key, within the key limit');
    }
    return bucket;
  }
  const code = checkKey(key, keyBytesMax);
  if (code) throw new FogError(code, `entries[${index}]: ${new FogError(code).message}`, { index, keyBytesMax });
  return undefined;
}

/**
 * The body of POST /v1/restore, `{"entries": [{"key", "version", "value", "encoding"}]}`,
 * checked whole before anything is written. A version stamped further ahead of `nowMs` than a
 * clock may jump (the bound every replica holds writes to) is refused: a restore brings back
 * versions of the past, and one far in the future would win over every write for that long.
 */
export function parseRestoreRequest(body: unknown, limits: RestoreLimits, nowMs: number, forwardJumpMsMax: number = CLOCK_DEFAULTS.forwardJumpMsMax): RestoreEntry[] {
  const raw = (body as { entries?: unknown } | null)?.entries;
  if (typeof body !== 'object' || body === null || !Array.isArray(raw)) throw new FogError('FOG_ERR_BAD_REQUEST', 'the body must be {"entries": [...]}');
  if (raw.length > limits.batchItemsMax) {
    throw new FogError('FOG_ERR_BATCH_TOO_LARGE', `the restore has ${raw.length} entries; at most ${limits.batchItemsMax} are allowed`, { batchItemsMax: limits.batchItemsMax, items: raw.length });
  }
  return raw.map((item: unknown, i): RestoreEntry => {
    const o = item as { key?: unknown; version?: unknown; value?: unknown; encoding?: unknown; expiresAtMs?: unknown };
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad(i, 'each entry must be an object');
    const unknown = Object.keys(o).filter((f) => !RESTORE_ENTRY_FIELDS.has(f));
    if (unknown.length > 0) throw bad(i, `unknown field ${unknown.map((f) => JSON.stringify(f)).join(', ')}`, 'FOG_ERR_UNKNOWN_FIELD', { fields: unknown.slice(0, 8) });
    const placeBy = checkRestoreKey(o.key, limits.keyBytesMax, i);
    const ver = typeof o.version === 'string' ? parseVersion(o.version) : null;
    if (!ver) throw bad(i, 'version must be a version as the API prints it (ms.counter.writer)');
    if (ver.ms > nowMs + forwardJumpMsMax) throw bad(i, `the version is stamped more than ${forwardJumpMsMax} ms ahead of this frontend's clock`, 'FOG_ERR_VERSION_AHEAD', { forwardJumpMsMax });
    const encoding = o.encoding ?? 'utf8';
    if (encoding !== 'utf8' && encoding !== 'base64') throw bad(i, 'encoding must be "utf8" or "base64"');
    if (typeof o.value !== 'string') throw bad(i, 'value must be a string (UTF-8 text, or base64 with "encoding": "base64")');
    if (encoding === 'base64' && !BASE64_RE.test(o.value)) throw bad(i, 'the value is not valid base64');
    const value = Buffer.from(o.value, encoding);
    if (value.length > limits.valueBytesMax) throw bad(i, `the value is ${value.length} bytes; at most ${limits.valueBytesMax} are allowed`, 'FOG_ERR_VALUE_TOO_LARGE', { valueBytesMax: limits.valueBytesMax });
    if (o.expiresAtMs !== undefined && !(Number.isSafeInteger(o.expiresAtMs) && (o.expiresAtMs as number) > ver.ms)) {
      throw bad(i, 'expiresAtMs must be a unix time in ms after the version\'s');
    }
    const exp = o.expiresAtMs as number | undefined;
    return { key: o.key as string, ver, value, ...(placeBy !== undefined ? { placeBy } : {}), ...(exp !== undefined ? { exp } : {}) };
  });
}
