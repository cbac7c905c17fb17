import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { PartitionTable } from './cluster';

/**
 * Cluster authentication: every internal and admin request carries an HMAC-SHA256 over its
 * method, path, timestamp, nonce, cluster id and body, keyed from the cluster's shared secret.
 * Tables carry the controller's HMAC over their canonical form. Pure: time and nonces are
 * inputs; the apps wire the headers to HTTP.
 */
export const AUTH_HEADERS = {
  /** `v1 <ms> <nonce> <signature>` */
  auth: 'x-fog-auth',
  /** The sender's cluster id, once it knows it. */
  cluster: 'x-fog-cluster',
} as const;

export const AUTH_LIMITS = {
  /** A signed request stamped further than this from the receiver's clock is refused. */
  clockSkewMsMax: 30_000,
  /** Nonces remembered to refuse replays (each for twice the skew window); beyond it: refused, retry. */
  replayNoncesMax: 200_000,
  /** Shortest shared secret accepted, bytes. */
  secretBytesMin: 16,
  /** Longest shared secret accepted, bytes. */
  secretBytesMax: 4096,
} as const;

/** A cluster id: 16 lowercase hex digits, fixed when the first table forms. */
export const CLUSTER_ID_RE = /^[0-9a-f]{16}$/;
const NONCE_RE = /^[0-9A-Za-z_-]{8,64}$/;

export interface AuthKeys {
  /** Signs requests. */
  request: Buffer;
  /** Signs tables. */
  table: Buffer;
  /** Signs binary connection openings. */
  connection: Buffer;
}

/** Why a secret cannot be used (null: it can). */
export function secretProblem(secret: string): string | null {
  const bytes = Buffer.byteLength(secret.trim());
  if (bytes < AUTH_LIMITS.secretBytesMin) return `the cluster secret must hold at least ${AUTH_LIMITS.secretBytesMin} bytes (got ${bytes})`;
  if (bytes > AUTH_LIMITS.secretBytesMax) return `the cluster secret must hold at most ${AUTH_LIMITS.secretBytesMax} bytes`;
  return null;
}

/** One key per purpose, derived from the shared secret (surrounding whitespace ignored). */
export function deriveAuthKeys(secret: string): AuthKeys {
  const s = Buffer.from(secret.trim(), 'utf8');
  const derive = (purpose: string) => createHmac('sha256', s).update(`velour-fog/${purpose}/v1`).digest();
  return { request: derive('request'), table: derive('table'), connection: derive('connection') };
}

export interface SignedRequest {
  method: string;
  /** Path with its query string, as sent. */
  path: string;
  body: Buffer | string;
  /** The sender's cluster id ('' while it knows none). */
  cluster: string;
}

function requestMac(key: Buffer, r: SignedRequest, ms: number, nonce: string): Buffer {
  return createHmac('sha256', key)
    .update(`${r.method.toUpperCase()}\n${r.path}\n${ms}\n${nonce}\n${r.cluster}\n`)
    .update(r.body)
    .digest();
}

/** The auth header value of a request. */
export function signRequest(keys: AuthKeys, r: SignedRequest, nowMs: number, nonce: string): string {
  return `v1 ${Math.floor(nowMs)} ${nonce} ${requestMac(keys.request, r, Math.floor(nowMs), nonce).toString('base64url')}`;
}

export type AuthRefusal = 'missing' | 'malformed' | 'clock_skew' | 'replay' | 'replay_cache_full' | 'bad_signature' | 'wrong_cluster';

export interface AuthProblem {
  reason: AuthRefusal;
  /** 401: not authenticated; 403: authenticated but of another cluster; 503: retry. */
  status: 401 | 403 | 503;
  message: string;
}

const problem = (reason: AuthRefusal, message: string): AuthProblem => ({
  reason, message, status: reason === 'wrong_cluster' ? 403 : reason === 'replay_cache_full' ? 503 : 401,
});

/**
 * Nonces seen within the skew window, to refuse a request sent twice. Entries expire in
 * arrival order (each lives a fixed time), so pruning is amortized O(1).
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number = 2 * AUTH_LIMITS.clockSkewMsMax, private readonly max: number = AUTH_LIMITS.replayNoncesMax) {}

  get size(): number {
    return this.seen.size;
  }

  /** Record a nonce: 'ok', 'replay' (seen within the window) or 'full'. */
  admit(nonce: string, nowMs: number): 'ok' | 'replay' | 'full' {
    for (const [n, expiresMs] of this.seen) {
      if (expiresMs > nowMs) break;
      this.seen.delete(n);
    }
    if (this.seen.has(nonce)) return 'replay';
    if (this.seen.size >= this.max) return 'full';
    this.seen.set(nonce, nowMs + this.windowMs);
    return 'ok';
  }
}

function parseStamp(header: string): { ms: number; nonce: string; mac: Buffer } | null {
  const parts = header.split(' ');
  if (parts.length !== 4 || parts[0] !== 'v1' || !/^\d{1,16}$/.test(parts[1]) || !NONCE_RE.test(parts[2]) || !/^[A-Za-z0-9_-]{43}$/.test(parts[3])) return null;
  return { ms: Number(parts[1]), nonce: parts[2], mac: Buffer.from(parts[3], 'base64url') };
}

/**
 * Why a request is not authentic (null: it is). The cluster id is compared when both sides
 * know one. The nonce is remembered only once the signature checked out, so forged requests
 * cannot fill the replay cache.
 */
export function verifyRequest(
  keys: AuthKeys, header: string | undefined, r: SignedRequest, ownCluster: string, nowMs: number, replay: ReplayGuard,
): AuthProblem | null {
  if (header === undefined || header === '') return problem('missing', `the request carries no ${AUTH_HEADERS.auth} header: this route needs the cluster secret`);
  const stamp = parseStamp(header);
  if (!stamp) return problem('malformed', `the ${AUTH_HEADERS.auth} header is not 'v1 <ms> <nonce> <signature>'`);
  if (Math.abs(nowMs - stamp.ms) > AUTH_LIMITS.clockSkewMsMax) {
    return problem('clock_skew', `the request is stamped ${Math.round(stamp.ms - nowMs)} ms from this node's clock (at most ${AUTH_LIMITS.clockSkewMsMax} ms allowed)`);
  }
  if (!timingSafeEqual(stamp.mac, requestMac(keys.request, r, stamp.ms, stamp.nonce))) {
    return problem('bad_signature', 'the request signature does not match: a different cluster secret, or the request was altered');
  }
  if (r.cluster !== '' && ownCluster !== '' && r.cluster !== ownCluster) {
    return problem('wrong_cluster', `the request comes from cluster ${r.cluster}; this node belongs to cluster ${ownCluster}`);
  }
  const admitted = replay.admit(stamp.nonce, nowMs);
  if (admitted === 'replay') return problem('replay', 'this request was already received (same nonce)');
  if (admitted === 'full') return problem('replay_cache_full', 'too many signed requests within the replay window; retry');
  return null;
}

/** Opening of a binary connection: `<ms> <nonce> <cluster|-> <signature>`, one line. */
export function signConnection(keys: AuthKeys, cluster: string, nowMs: number, nonce: string): string {
  const ms = Math.floor(nowMs);
  const mac = createHmac('sha256', keys.connection).update(`${ms}\n${nonce}\n${cluster}`).digest('base64url');
  return `${ms} ${nonce} ${cluster || '-'} ${mac}`;
}

export function verifyConnection(keys: AuthKeys, line: string, ownCluster: string, nowMs: number, replay: ReplayGuard): AuthProblem | null {
  const parts = line.split(' ');
  if (parts.length !== 4 || !/^\d{1,16}$/.test(parts[0]) || !NONCE_RE.test(parts[1]) || !/^[A-Za-z0-9_-]{43}$/.test(parts[3])) {
    return problem('malformed', 'the connection opening is not \'<ms> <nonce> <cluster> <signature>\'');
  }
  const ms = Number(parts[0]);
  const cluster = parts[2] === '-' ? '' : parts[2];
  if (Math.abs(nowMs - ms) > AUTH_LIMITS.clockSkewMsMax) return problem('clock_skew', `the connection opening is stamped ${Math.round(ms - nowMs)} ms from this node's clock`);
  const expected = createHmac('sha256', keys.connection).update(`${ms}\n${parts[1]}\n${cluster}`).digest();
  if (!timingSafeEqual(Buffer.from(parts[3], 'base64url'), expected)) return problem('bad_signature', 'the connection opening signature does not match');
  if (cluster !== '' && ownCluster !== '' && cluster !== ownCluster) return problem('wrong_cluster', `the connection comes from cluster ${cluster}; this node belongs to cluster ${ownCluster}`);
  const admitted = replay.admit(`c:${parts[1]}`, nowMs);
  if (admitted === 'replay') return problem('replay', 'this connection opening was already received');
  if (admitted === 'full') return problem('replay_cache_full', 'too many signed requests within the replay window; retry');
  return null;
}

/**
 * The bytes a table signature covers: cluster, epoch, D, K, every partition's replicas and
 * pending replicas, and every node's id, address, zone, weight and state. Placement reasons
 * (`why`) are advisory and not covered.
 */
export function tableSigningDigest(t: PartitionTable): Buffer {
  const h = createHash('sha256');
  h.update(`${t.cluster ?? ''}\n${t.epoch}\n${t.digits}\n${t.redundancy}\n`);
  for (const e of t.partitions) h.update(`${e.replicas.join(',')};${e.pending.join(',')}\n`);
  for (const id of Object.keys(t.nodes).sort()) {
    const n = t.nodes[id];
    h.update(`${n.id}\u0000${n.address}\u0000${n.internal ?? ''}\u0000${n.zone}\u0000${n.weight}\u0000${n.state}\n`);
  }
  return h.digest();
}

export function signTable(keys: AuthKeys, t: PartitionTable): string {
  return createHmac('sha256', keys.table).update(tableSigningDigest(t)).digest('base64url');
}

/** Why a table's signature is not the cluster's (null: it is). */
export function tableSignatureProblem(keys: AuthKeys, t: PartitionTable): string | null {
  if (typeof t.sig !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(t.sig)) return 'the table is not signed';
  if (!timingSafeEqual(Buffer.from(t.sig, 'base64url'), createHmac('sha256', keys.table).update(tableSigningDigest(t)).digest())) {
    return 'the table signature does not match: signed with a different cluster secret, or altered';
  }
  return null;
}
