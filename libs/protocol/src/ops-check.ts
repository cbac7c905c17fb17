/**
 * Strict checks of internal messages that carry data: every element of an ops request, and the
 * versions any message carries. A storage node runs them before anything is applied, so a
 * malformed request is refused whole and changes nothing.
 */
import { isExpiry } from './ttl';
import { isVersion, type Version } from './version';
import { PUT_VIAS, type OpsRequest, type WireOp } from './wire';

/** Label values of the refusal counters (a small fixed set). */
export type OpsRefusalReason = 'malformed' | 'too_many_ops' | 'version_ahead';

export interface OpsProblem {
  code: 'FOG_ERR_BAD_REQUEST' | 'FOG_ERR_BATCH_TOO_LARGE' | 'FOG_ERR_VERSION_AHEAD';
  reason: OpsRefusalReason;
  message: string;
}

export interface OpsCheckLimits {
  /** Most operations one request may carry. */
  batchOpsMax: number;
  /** Partitions of the receiver's table (16^D), or null when it holds none yet. */
  partitions: number | null;
}

const OP_NAMES = new Set(['get', 'put', 'scan', 'prepare', 'propose']);

function isWireEntry(x: unknown): boolean {
  const e = x as { ver?: unknown; val?: unknown; exp?: unknown };
  return typeof e === 'object' && e !== null && isVersion(e.ver) && (e.val === null || typeof e.val === 'string') && isExpiry(e.exp);
}

/** Why one operation is malformed, or null. */
export function opProblem(x: unknown, partitions: number | null): string | null {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return 'an operation is a JSON object';
  const o = x as Record<string, unknown>;
  if (typeof o.op !== 'string' || !OP_NAMES.has(o.op)) return 'op must be one of get, put, scan, prepare, propose';
  if (!Number.isSafeInteger(o.p) || (o.p as number) < 0 || (partitions !== null && (o.p as number) >= partitions)) return 'p must be a partition number';
  if (o.op === 'scan') {
    if (typeof o.prefix !== 'string') return 'scan needs a string prefix';
    if (o.after !== null && typeof o.after !== 'string') return 'scan needs a string or null cursor';
    // The receiver caps the page at its own item limit: a larger ask is not an error.
    if (!Number.isSafeInteger(o.limit) || (o.limit as number) < 1) return 'scan needs a positive integer limit';
    return null;
  }
  if (typeof o.key !== 'string') return 'key must be a string';
  switch (o.op) {
    case 'put':
      if (!isVersion(o.ver)) return 'put needs a version {ms, c, w}';
      if (o.val !== null && typeof o.val !== 'string') return 'put needs a base64 value or null';
      if (o.cas !== undefined && o.cas !== true) return 'cas is true or absent';
      if (!isExpiry(o.exp)) return 'exp is a positive integer (ms since the epoch) or absent';
      if (o.via !== undefined && !(PUT_VIAS as readonly unknown[]).includes(o.via)) return `via is one of ${PUT_VIAS.join(', ')} or absent`;
      return null;
    case 'prepare':
      return isVersion(o.ballot) ? null : 'prepare needs a ballot version';
    case 'propose':
      if (!isVersion(o.ballot) || !isWireEntry(o.entry)) return 'propose needs a ballot and an entry';
      if (o.base !== null && !isVersion(o.base)) return 'propose needs a base version or null';
      return null;
    default:
      return null;
  }
}

/** Null when `x` is a well-formed ops request within the limits; otherwise the first problem. */
export function opsRequestProblem(x: unknown, limits: OpsCheckLimits): OpsProblem | null {
  const malformed = (message: string): OpsProblem => ({ code: 'FOG_ERR_BAD_REQUEST', reason: 'malformed', message });
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return malformed('expected {epoch, ops[]}');
  const r = x as Partial<OpsRequest>;
  if (!Number.isSafeInteger(r.epoch) || r.epoch! < 0) return malformed('epoch must be a non-negative integer');
  if (!Array.isArray(r.ops)) return malformed('ops must be an array');
  if (r.ops.length > limits.batchOpsMax) {
    return { code: 'FOG_ERR_BATCH_TOO_LARGE', reason: 'too_many_ops', message: `at most ${limits.batchOpsMax} operations per request` };
  }
  for (let i = 0; i < r.ops.length; i++) {
    const problem = opProblem(r.ops[i], limits.partitions);
    if (problem) return malformed(`ops[${i}]: ${problem}`);
  }
  return null;
}

/** Every version an (already checked) operation carries: stamps, ballots, bases. */
export function versionsOfOp(op: WireOp): Version[] {
  switch (op.op) {
    case 'put':
      return [op.ver];
    case 'prepare':
      return [op.ballot];
    case 'propose':
      return op.base ? [op.ballot, op.entry.ver, op.base] : [op.ballot, op.entry.ver];
    default:
      return [];
  }
}

/**
 * Null when no version is stamped more than `aheadMsMax` after `nowMs` (the wall clock that
 * drives the receiver's hybrid clock); otherwise the refusal. A stamp from far in the future
 * would win last-writer-wins against every later write of its key, and no clock could catch
 * up with it (each refuses to jump that far), so the key would refuse writes for good.
 */
export function versionAheadProblem(versions: Iterable<unknown>, nowMs: number, aheadMsMax: number): OpsProblem | null {
  const limitMs = nowMs + aheadMsMax;
  for (const v of versions) {
    const ms = (v as { ms?: unknown } | null)?.ms;
    if (typeof ms === 'number' && ms > limitMs) {
      return { code: 'FOG_ERR_VERSION_AHEAD', reason: 'version_ahead', message: `a version is stamped ${Math.round(ms - nowMs)} ms ahead of this node's clock; at most ${aheadMsMax} ms are allowed` };
    }
  }
  return null;
}

/** versionAheadProblem over every version of an ops request that passed opsRequestProblem. */
export function opsVersionAheadProblem(req: OpsRequest, nowMs: number, aheadMsMax: number): OpsProblem | null {
  return versionAheadProblem(req.ops.flatMap(versionsOfOp), nowMs, aheadMsMax);
}
