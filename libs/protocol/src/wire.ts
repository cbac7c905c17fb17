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
}

export type WireOp =
  | { op: 'get'; p: number; key: string }
  | { op: 'put'; p: number; key: string; ver: Version; val: string | null };

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
  | { ok: false; code: ErrorCode; message?: string };

export interface OpsResponse {
  /** Epoch of the replica's table. */
  epoch: number;
  /** The replica's hybrid clock, so frontends keep each other's clocks close. */
  clock: Timestamp;
  results: WireResult[];
}
