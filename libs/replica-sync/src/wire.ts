import { isExpiry, isVersion, type Version } from '@fog/protocol';
import { isDigest, type Digest } from './digest';
import type { KeyVersion } from './reconcile';
import type { GroupSummary, PartitionSummaryEntry } from './tree';

/** Storage ⇄ storage routes of anti-entropy. */
export const ANTI_ENTROPY_PATHS = {
  tree: '/internal/v1/ae/tree',
  summaries: '/internal/v1/ae/summaries',
  digest: '/internal/v1/ae/digest',
  diff: '/internal/v1/ae/diff',
  push: '/internal/v1/ae/push',
} as const;

/** An entry on the anti-entropy wire: the value base64, null for a tombstone. */
export interface AeEntry {
  key: string;
  ver: Version;
  val: string | null;
  /** Expiry of a value written with a ttl (ms since the epoch); absent: none. */
  exp?: number;
}

/** Level 0: "these are my group summaries of the partitions we share (per my table); which differ?" */
export interface TreeRequest {
  epoch: number;
  from: string;
  /** The partition count of the requester's table (groups are ranges of it). */
  total: number;
  groups: GroupSummary[];
}

export interface TreeReply {
  epoch: number;
  /** Groups whose summaries differ (or that only one side has). */
  groups: number[];
}

/** Level 1: "these are my summaries of the partitions in the differing groups; which differ?" */
export interface SummaryRequest {
  epoch: number;
  from: string;
  partitions: PartitionSummaryEntry[];
}

export interface SummaryReply {
  epoch: number;
  /** Partitions that differ, or that the peer does not hold (held false); equal ones are left out. */
  partitions: Array<{ p: number; held: boolean }>;
}

/** Step 1: "here are my digests of these partitions; which buckets differ on your side?" */
export interface DigestRequest {
  epoch: number;
  from: string;
  buckets: number;
  partitions: Array<{ p: number; digest: Digest }>;
}

export interface DigestReply {
  epoch: number;
  partitions: Array<{
    p: number;
    /** False when the peer's table does not give it this partition: nothing to compare. */
    held: boolean;
    horizonMs: number;
    /** Differing buckets, each with the number of keys the peer holds in it. */
    diff: Array<[number, number]>;
  }>;
}

/** Step 2: "these are my versions of the keys in these buckets; send what I lack, say what you lack." */
export interface DiffRequest {
  epoch: number;
  from: string;
  p: number;
  buckets: number;
  ids: number[];
  horizonMs: number;
  keysMax: number;
  versions: KeyVersion[];
}

export interface DiffReply {
  epoch: number;
  held: boolean;
  horizonMs: number;
  /** Entries the requester lacks or holds older versions of. */
  entries: AeEntry[];
  /** Keys the requester holds newer versions of: it pushes them in step 3. */
  want: string[];
  /** Values the requester holds that the peer lacks and whose stamps its horizon covers. */
  covered: string[];
  /** True when `entries` stopped at a bound: the rest comes in a later round. */
  truncated: boolean;
}

/** Step 3: the entries the peer asked for. */
export interface PushRequest {
  epoch: number;
  from: string;
  p: number;
  entries: AeEntry[];
}

export interface PushReply {
  epoch: number;
  held: boolean;
  applied: number;
  /** Entries not stored: over the memory limit, disk failing, or covered by the horizon. */
  refused: number;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;
const isHorizon = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= -1;
const isStr = (x: unknown): x is string => typeof x === 'string';

function isKeyVersion(x: unknown): x is KeyVersion {
  return Array.isArray(x) && x.length === 5 && isStr(x[0]) && isVersion({ ms: x[1], c: x[2], w: x[3] }) && (x[4] === 0 || x[4] === 1);
}

export function isAeEntry(x: unknown): x is AeEntry {
  return isObj(x) && isStr(x.key) && isVersion(x.ver) && (x.val === null || isStr(x.val)) && isExpiry(x.exp);
}

/** A reason the message is malformed, or null. Bounds are the receiver's. */
export function digestRequestProblem(x: unknown, buckets: number, partitionsMax: number): string | null {
  if (!isObj(x) || !isCount(x.epoch) || !isStr(x.from) || !Array.isArray(x.partitions)) return 'expected {epoch, from, buckets, partitions[]}';
  if (x.buckets !== buckets) return `buckets must be ${buckets}`;
  if (x.partitions.length > partitionsMax) return `at most ${partitionsMax} partitions per request`;
  for (const p of x.partitions) {
    if (!isObj(p) || !isCount(p.p) || !isDigest(p.digest, buckets)) return 'each partition needs {p, digest} with a digest of the right size';
  }
  return null;
}

export function diffRequestProblem(x: unknown, buckets: number, keysMax: number): string | null {
  if (!isObj(x) || !isCount(x.epoch) || !isStr(x.from) || !isCount(x.p) || !Array.isArray(x.ids) || !Array.isArray(x.versions)) {
    return 'expected {epoch, from, p, buckets, ids[], horizonMs, keysMax, versions[]}';
  }
  if (x.buckets !== buckets) return `buckets must be ${buckets}`;
  if (!isHorizon(x.horizonMs)) return 'horizonMs must be an integer >= -1';
  if (!isCount(x.keysMax) || (x.keysMax as number) < 1) return 'keysMax must be a positive integer';
  if (x.ids.length > buckets || !x.ids.every((b) => isCount(b) && (b as number) < buckets)) return `ids must be bucket numbers below ${buckets}`;
  if (x.versions.length > keysMax) return `at most ${keysMax} versions per request`;
  if (!x.versions.every(isKeyVersion)) return 'each version must be [key, ms, c, writer, 0|1]';
  return null;
}

export function pushRequestProblem(x: unknown, keysMax: number): string | null {
  if (!isObj(x) || !isCount(x.epoch) || !isStr(x.from) || !isCount(x.p) || !Array.isArray(x.entries)) return 'expected {epoch, from, p, entries[]}';
  if (x.entries.length > keysMax) return `at most ${keysMax} entries per request`;
  if (!x.entries.every(isAeEntry)) return 'each entry must be {key, ver, val}';
  return null;
}

const isU32 = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;

export function treeRequestProblem(x: unknown, groupsMax: number, partitionsMax: number): string | null {
  if (!isObj(x) || !isCount(x.epoch) || !isStr(x.from) || !isCount(x.total) || !Array.isArray(x.groups)) return 'expected {epoch, from, total, groups[]}';
  if ((x.total as number) < 1 || (x.total as number) > partitionsMax) return `total must be 1..${partitionsMax}`;
  if (x.groups.length > groupsMax) return `at most ${groupsMax} groups per request`;
  for (const g of x.groups) {
    if (!Array.isArray(g) || g.length !== 5 || !isCount(g[0]) || (g[0] as number) >= groupsMax || !isU32(g[1]) || !isU32(g[2]) || !isU32(g[3]) || !isCount(g[4])) {
      return 'each group must be [group, a, b, keys, partitions]';
    }
  }
  return null;
}

export function summaryRequestProblem(x: unknown, partitionsMax: number): string | null {
  if (!isObj(x) || !isCount(x.epoch) || !isStr(x.from) || !Array.isArray(x.partitions)) return 'expected {epoch, from, partitions[]}';
  if (x.partitions.length > partitionsMax) return `at most ${partitionsMax} partitions per request`;
  for (const s of x.partitions) {
    if (!Array.isArray(s) || s.length !== 4 || !isCount(s[0]) || !isU32(s[1]) || !isU32(s[2]) || !isU32(s[3])) return 'each partition must be [p, a, b, keys]';
  }
  return null;
}

export function isTreeReply(x: unknown): x is TreeReply {
  return isObj(x) && isCount(x.epoch) && Array.isArray(x.groups) && x.groups.every(isCount);
}

export function isSummaryReply(x: unknown): x is SummaryReply {
  return isObj(x) && isCount(x.epoch) && Array.isArray(x.partitions)
    && x.partitions.every((p) => isObj(p) && isCount(p.p) && typeof p.held === 'boolean');
}

export function isDigestReply(x: unknown): x is DigestReply {
  return isObj(x) && isCount(x.epoch) && Array.isArray(x.partitions) && x.partitions.every((p) =>
    isObj(p) && isCount(p.p) && typeof p.held === 'boolean' && isHorizon(p.horizonMs) && Array.isArray(p.diff)
    && p.diff.every((d) => Array.isArray(d) && d.length === 2 && isCount(d[0]) && isCount(d[1])));
}

export function isDiffReply(x: unknown): x is DiffReply {
  return isObj(x) && isCount(x.epoch) && typeof x.held === 'boolean' && isHorizon(x.horizonMs) && Array.isArray(x.entries)
    && x.entries.every(isAeEntry) && Array.isArray(x.want) && x.want.every(isStr) && Array.isArray(x.covered)
    && x.covered.every(isStr) && typeof x.truncated === 'boolean';
}

export function isPushReply(x: unknown): x is PushReply {
  return isObj(x) && isCount(x.epoch) && typeof x.held === 'boolean' && isCount(x.applied) && isCount(x.refused);
}
