/**
 * JSON shapes of the client-facing v1 API (docs/api.md), shared by the frontend that answers
 * them and the client library that sends them.
 */
import type { WeightBasis } from './cluster';
import type { ErrorBody } from './errors';

export type ValueEncoding = 'utf8' | 'base64';

export type BatchRequestOp =
  | { op: 'get'; key: string; /** Force base64 in the answer. */ encoding?: ValueEncoding }
  | { op: 'put'; key: string; value: string; encoding?: ValueEncoding; /** Time to live, e.g. "30s" (see ttl.ts). */ ttl?: string }
  | { op: 'delete'; key: string };

export interface BatchRequest {
  ops: BatchRequestOp[];
}

/** One answer per op, in request order; status is what the op alone would have answered. */
export interface BatchResultItem {
  op: BatchRequestOp['op'];
  key: string;
  status: number;
  version?: string;
  /** get: the value, in `encoding` (utf8 when the bytes are valid UTF-8 and base64 was not asked for). */
  value?: string;
  encoding?: ValueEncoding;
  /** get of a value written with a ttl: when it expires, ms since the epoch. */
  expiresAtMs?: number;
  error?: ErrorBody['error'];
}

export interface BatchResponse {
  results: BatchResultItem[];
}

/** The body of a write's answer; how many replicas acknowledged is in the x-fog-replicas header. */
export interface WriteResponse {
  key: string;
  version: string;
  partition: number;
  /** Written with a ttl: when the value expires, ms since the epoch. */
  expiresAtMs?: number;
  /** append: the value's new length in bytes. */
  bytes?: number;
  deleted?: boolean;
}

export interface LocateReplica {
  id: string;
  address: string;
  zone: string;
  state: string;
  role: 'active' | 'pending';
  rank: number;
  why: string | null;
  reason: string;
  /** The node's weight (its share of partitions), as the table gives it. */
  weight?: number;
  /** Where the weight came from: set by --weight, or derived from memory and CPUs (--weight auto). */
  weightReason?: string;
  weightBasis?: WeightBasis;
}

export interface LocateResponse {
  key: string;
  partition: number;
  partitionHex: string;
  epoch: number;
  replicas: LocateReplica[];
  preferred: string | null;
}

export interface BucketListResponse {
  bucket: string;
  partition: number;
  items: Array<{ item: string; version: string; bytes: number }>;
  /** Pass as `after` for the next page; null at the end. */
  next: string | null;
}

/** One item of a keyspace scan (GET /v1/kv): the value is left out with `keys=only`. */
export interface ScanItem {
  key: string;
  version: string;
  bytes: number;
  value?: string;
  encoding?: ValueEncoding;
  /** When the value expires (unix ms), for a key written with a ttl; listed with values only. */
  expiresAtMs?: number;
}

export interface ScanResponse {
  items: ScanItem[];
  /** Pass as `after` for the next page; null once every partition is exhausted. */
  next: string | null;
}

/** One entry of POST /v1/restore (a line of a backup file, without its partition). */
export interface RestoreRequestEntry {
  key: string;
  version: string;
  value: string;
  encoding?: ValueEncoding;
  /** The key's expiry (unix ms) when it was written with a ttl: restored with it. */
  expiresAtMs?: number;
}

export interface RestoreResultItem {
  key: string;
  status: number;
  /** restored: this version is now held; newer: a replica held a newer version, which stays. */
  outcome?: 'restored' | 'newer';
  error?: ErrorBody['error'];
}

export interface RestoreResponse {
  results: RestoreResultItem[];
}

/** GET /v1/topology: the table's shape as this frontend holds it, and the frontends it knows. */
export interface TopologyResponse {
  epoch: number;
  digits: number;
  partitions: number;
  redundancy: number;
  /** Addresses (host:port) of the frontends the controller lists as up, this one included. */
  frontends?: string[];
}

/** Paths of the v1 API. */
export const V1_PATHS = {
  kv: '/v1/kv',
  batch: '/v1/batch',
  buckets: '/v1/buckets',
  locate: '/v1/locate',
  restore: '/v1/restore',
  topology: '/v1/topology',
} as const;
