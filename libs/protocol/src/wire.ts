/**
 * The frontend ⇄ storage wire format. One internal request carries many operations (the
 * frontend coalesces what is in flight for one node), each answered by its own result.
 * Values travel base64-encoded; null stands for a tombstone.
 */
import type { ErrorCode } from './errors';
import type { Timestamp, Version } from './version';

export const INTERNAL_PATHS = {
  ops: '/internal/v1/ops',
  table: '/internal/v1/table',
} as const;

export interface WireEntry {
  ver: Version;
  /** base64 value, or null for a tombstone. */
  val: string | null;
  /** Expiry (ms since the epoch, see ttl.ts); absent when the value does not expire. */
  exp?: number;
}

/**
 * Why a put reaches a replica when it is not the client's own write: a read repair, or a hint
 * (a write acknowledged without this replica, delivered later). Counted by the storage node.
 */
export type PutVia = 'repair' | 'hint';
export const PUT_VIAS: readonly PutVia[] = ['repair', 'hint'];

export type WireOp =
  | { op: 'get'; p: number; key: string }
  /** cas: this put commits a conditional round; the replica remembers its version (see CasPromise.commits). */
  | { op: 'put'; p: number; key: string; ver: Version; val: string | null; cas?: true; via?: PutVia; /** Expiry (ttl.ts). */ exp?: number }
  /** Entries of partition p whose key starts with prefix, after the cursor, in key order; tombstones included. */
  | { op: 'scan'; p: number; prefix: string; after: string | null; limit: number }
  /** Conditional writes (Paxos, phase 1): promise to refuse ballots below this one. */
  | { op: 'prepare'; p: number; key: string; ballot: Version }
  /** Phase 2: accept this entry at this ballot unless a higher ballot was promised. base: the version it was computed from. */
  | { op: 'propose'; p: number; key: string; ballot: Version; entry: WireEntry; base: Version | null };

/** One entry of a scan: its version and value size; size null is a tombstone. */
export interface WireScanItem {
  key: string;
  ver: Version;
  size: number | null;
}

/** A proposal a replica accepted and may not have seen committed. */
export interface WireAccepted {
  ballot: Version;
  entry: WireEntry;
  /** The stored version the proposal was computed from (null: the key was absent). */
  base: Version | null;
}

/**
 * A replica's answer to prepare. granted false: it promised a higher ballot (promised).
 * When granted: what it accepted last, what it stores, and the versions of the conditional
 * writes it saw committed most recently (newest last).
 */
export interface CasPromise {
  granted: boolean;
  promised: Version | null;
  accepted: WireAccepted | null;
  entry: WireEntry | null;
  commits: Version[];
}

/** A replica's answer to propose: accepted, or refused because it promised a higher ballot. */
export interface CasVote {
  accepted: boolean;
  promised: Version | null;
}

export interface OpsRequest {
  /** Epoch of the sender's table. */
  epoch: number;
  ops: WireOp[];
}

/**
 * applied: the write is now the stored version.
 * duplicate: this exact version was already stored (a resend): it counts as an acknowledgement.
 * stale: a version at least as new is stored (its version returned as cur): the write lost
 *   last-writer-wins.
 */
export type PutOutcome = 'applied' | 'duplicate' | 'stale';

export type WireResult =
  | { ok: true; entry: WireEntry | null }
  | { ok: true; outcome: PutOutcome; /** On stale: the stored version that won. */ cur?: Version }
  | { ok: true; items: WireScanItem[]; /** The limit cut the scan short: more entries follow the last one. */ more: boolean }
  | { ok: true; promise: CasPromise }
  | { ok: true; vote: CasVote }
  | { ok: false; code: ErrorCode; message?: string };

export interface OpsResponse {
  /** Epoch of the replica's table. */
  epoch: number;
  /** The replica's hybrid clock, so frontends keep each other's clocks close. */
  clock: Timestamp;
  results: WireResult[];
}
