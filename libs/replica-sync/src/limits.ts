/** Bounds of anti-entropy and tombstone collection, each with its unit in its name. */
export const ANTI_ENTROPY_DEFAULTS = {
  /** Pause between two passes of one node when the last one left nothing to do. */
  intervalMs: 1_000,
  /** Pause before the next pass when the last one hit a bound and left differences (catch-up). */
  catchUpDelayMs: 20,
  /**
   * Most of the wall time anti-entropy may keep a node busy while the differences it finds are
   * only writes in flight (younger than settleMs): the pause after such a pass is at least its
   * own length × (1 − this) / this (see pacing.ts).
   */
  inFlightDutyMax: 0.25,
  /** Differing partitions whose buckets and keys one pass exchanges with one peer. */
  partitionsPerRoundMax: 256,
  /** Keys one pass lists, pulls and pushes, over all its partitions and peers. */
  keysPerRoundMax: 10_000,
  /** Partition summaries in one request of the tree's second level. */
  summariesPerRequestMax: 4_096,
  /**
   * Entries younger than this when anti-entropy moves them were most likely still in flight
   * (a write reaching one replica before another): not counted as found missing.
   */
  settleMs: 2_000,
  /** Value bytes in one pull reply or push request (a message always carries at least one entry). */
  entryBytesPerMessageMax: 8 * 1024 * 1024,
  /** How long a node waits for a peer's answer to one anti-entropy request. */
  requestTimeoutMs: 5_000,
  /** How long a tombstone is kept before it may be purged. */
  tombstoneGraceMs: 10 * 60_000,
} as const;

/** Hash buckets per partition digest: a differing bucket is the unit of key exchange. */
export const DIGEST_BUCKETS = 128;

/**
 * The tombstone grace period must be at least this many anti-entropy intervals, so that a
 * replica that missed a delete has several rounds to receive the tombstone before any peer
 * may forget it (a round can fail or be skipped, and a full pass over the partitions can take
 * more than one round).
 */
export const TOMBSTONE_GRACE_FACTOR_MIN = 4;

/** Tombstone collection runs this many times per grace period: a tombstone lives between 1 and 1 + 1/N graces. */
export const TOMBSTONE_GC_PASSES_PER_GRACE = 4;

/** Why a grace period does not fit the anti-entropy interval, or null when it does. */
export function tombstoneGraceProblem(tombstoneGraceMs: number, antiEntropyIntervalMs: number): string | null {
  if (!(Number.isInteger(tombstoneGraceMs) && tombstoneGraceMs > 0)) return 'tombstone-grace-ms must be a positive integer';
  if (!(Number.isInteger(antiEntropyIntervalMs) && antiEntropyIntervalMs > 0)) return 'anti-entropy-interval-ms must be a positive integer';
  if (tombstoneGraceMs < TOMBSTONE_GRACE_FACTOR_MIN * antiEntropyIntervalMs) {
    return `tombstone-grace-ms (${tombstoneGraceMs}) must be at least ${TOMBSTONE_GRACE_FACTOR_MIN} x anti-entropy-interval-ms (${antiEntropyIntervalMs}) = ${TOMBSTONE_GRACE_FACTOR_MIN * antiEntropyIntervalMs}, or a replica that missed a delete could miss its tombstone too and bring the key back`;
  }
  return null;
}
