import { checkKey, FogError, formatVersion, parseTtl, TTL_LIMITS, type BatchResultItem, type ValueEncoding } from '@fog/protocol';
import type { BatchOp, BatchOutcome } from './batch';

export interface BatchLimits {
  batchItemsMax: number;
  keyBytesMax: number;
  valueBytesMax: number;
}

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The fields a batch op may carry. Anything else refuses the batch: a field that is ignored
 * (an `ifNoneMatch` in a put, say) would silently do something other than what was asked.
 */
export const BATCH_OP_FIELDS: ReadonlySet<string> = new Set(['op', 'key', 'value', 'encoding', 'ttl']);

function bad(index: number, message: string, code: 'FOG_ERR_BAD_REQUEST' | 'FOG_ERR_VALUE_TOO_LARGE' | 'FOG_ERR_BAD_TTL' = 'FOG_ERR_BAD_REQUEST', details: Record<string, unknown> = {}): FogError {
  return new FogError(code, `ops[${index}]: ${message}`, { index, ...details });
}

/**
 * Validate a whole batch before any of it runs: one bad op refuses the batch (4xx naming the
 * op's index) and nothing is touched. Returns the ops and, per op, whether a get asked for base64.
 */
export function parseBatchRequest(body: unknown, limits: BatchLimits): { ops: BatchOp[]; base64: boolean[] } {
  const raw = (body as { ops?: unknown } | null)?.ops;
  if (typeof body !== 'object' || body === null || !Array.isArray(raw)) {
    throw new FogError('FOG_ERR_BAD_REQUEST', 'the body must be {"ops": [...]}');
  }
  if (raw.length > limits.batchItemsMax) {
    throw new FogError('FOG_ERR_BATCH_TOO_LARGE', `the batch has ${raw.length} operations; at most ${limits.batchItemsMax} are allowed`, { batchItemsMax: limits.batchItemsMax, items: raw.length });
  }
  const ops: BatchOp[] = [];
  const base64: boolean[] = [];
  raw.forEach((item: unknown, i) => {
    const o = item as { op?: unknown; key?: unknown; value?: unknown; encoding?: unknown; ttl?: unknown };
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad(i, 'each op must be an object');
    const unknown = unknownFields(o);
    if (unknown !== null) {
      throw new FogError('FOG_ERR_UNKNOWN_FIELD', `ops[${i}]: unknown field ${unknown.map((f) => JSON.stringify(f)).join(', ')}; an op takes ${[...BATCH_OP_FIELDS].join(', ')}`, { index: i, fields: unknown.slice(0, 8) });
    }
    if (o.ttl !== undefined && o.op !== 'put') {
      throw new FogError('FOG_ERR_UNKNOWN_FIELD', `ops[${i}]: only a put takes "ttl"`, { index: i, fields: ['ttl'] });
    }
    const keyError = checkKey(o.key, limits.keyBytesMax);
    if (keyError) throw new FogError(keyError, `ops[${i}]: ${new FogError(keyError).message}`, { index: i, keyBytesMax: limits.keyBytesMax });
    const key = o.key as string;
    const encoding = o.encoding ?? 'utf8';
    if (encoding !== 'utf8' && encoding !== 'base64') throw bad(i, 'encoding must be "utf8" or "base64"');
    switch (o.op) {
      case 'get':
        ops.push({ op: 'get', key });
        base64.push(encoding === 'base64');
        return;
      case 'delete':
        ops.push({ op: 'delete', key });
        base64.push(false);
        return;
      case 'put': {
        if (typeof o.value !== 'string') throw bad(i, 'put needs a string value (UTF-8 text, or base64 with "encoding": "base64")');
        if (encoding === 'base64' && !BASE64_RE.test(o.value)) throw bad(i, 'the value is not valid base64');
        const value = Buffer.from(o.value, encoding as ValueEncoding);
        if (value.length > limits.valueBytesMax) throw bad(i, `the value is ${value.length} bytes; at most ${limits.valueBytesMax} are allowed`, 'FOG_ERR_VALUE_TOO_LARGE', { valueBytesMax: limits.valueBytesMax });
        if (o.ttl !== undefined) {
          const ttl = typeof o.ttl === 'string' ? parseTtl(o.ttl) : null;
          if (!ttl || !ttl.ok) throw bad(i, ttl && !ttl.ok ? ttl.message : 'ttl is a string such as "30s"', 'FOG_ERR_BAD_TTL', { ...TTL_LIMITS });
          ops.push({ op: 'put', key, value, ttlMs: ttl.ttlMs });
        } else ops.push({ op: 'put', key, value });
        base64.push(false);
        return;
      }
      default:
        throw bad(i, 'op must be "get", "put" or "delete"');
    }
  });
  return { ops, base64 };
}

/** The fields of an op that BATCH_OP_FIELDS does not list, in order; null when none (no array made per op). */
function unknownFields(o: object): string[] | null {
  let unknown: string[] | null = null;
  for (const f of Object.keys(o)) if (!BATCH_OP_FIELDS.has(f)) (unknown ??= []).push(f);
  return unknown;
}

/** A value as JSON text: UTF-8 when it is valid UTF-8 and base64 was not asked for. */
export function encodeValue(value: Buffer, forceBase64: boolean): { value: string; encoding: ValueEncoding } {
  if (!forceBase64) {
    const text = value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(value)) return { value: text, encoding: 'utf8' };
  }
  return { value: value.toString('base64'), encoding: 'base64' };
}

export function formatBatchResults(outcomes: BatchOutcome[], base64: boolean[]): BatchResultItem[] {
  return outcomes.map((o, i): BatchResultItem => {
    if (!o.ok) return { op: o.op, key: o.key, status: o.error.status, error: o.error.toBody().error };
    if (o.op === 'get') {
      if (!o.entry || o.entry.value === null) {
        const e = new FogError('FOG_ERR_NOT_FOUND');
        return { op: 'get', key: o.key, status: e.status, error: e.toBody().error };
      }
      const item: BatchResultItem = { op: 'get', key: o.key, status: 200, version: formatVersion(o.entry.ver), ...encodeValue(o.entry.value, base64[i]) };
      if (o.entry.exp !== undefined) item.expiresAtMs = o.entry.exp;
      return item;
    }
    return { op: o.op, key: o.key, status: 200, version: formatVersion(o.ver) };
  });
}
