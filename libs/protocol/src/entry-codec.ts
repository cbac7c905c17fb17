/**
 * The one conversion between a stored entry (value as bytes) and its wire form (value as
 * base64, see wire.ts), expiry included. Structural, so that libs below the store need not
 * import it.
 */
import type { Version } from './version';

export interface EntryLike {
  readonly ver: Version;
  readonly value: Buffer | null;
  readonly exp?: number;
}

export interface WireEntryLike {
  ver: Version;
  val: string | null;
  exp?: number;
}

export function encodeWireEntry(e: EntryLike): { ver: Version; val: string | null; exp?: number } {
  const w: WireEntryLike = { ver: e.ver, val: e.value === null ? null : e.value.toString('base64') };
  if (e.exp !== undefined) w.exp = e.exp;
  return w;
}

export function decodeWireEntry(w: WireEntryLike): { ver: Version; value: Buffer | null; exp?: number } {
  const e: { ver: Version; value: Buffer | null; exp?: number } = { ver: w.ver, value: w.val === null ? null : Buffer.from(w.val, 'base64') };
  if (w.exp !== undefined) e.exp = w.exp;
  return e;
}
