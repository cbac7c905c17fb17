/**
 * Every bound in the system, with its unit in its name. Apps expose the ones an operator may
 * want to change as flags; the defaults live here so that every tier agrees on them.
 */
export const DEFAULT_LIMITS = {
  /** Longest key, in UTF-8 bytes. */
  keyBytesMax: 1024,
  /** Largest value, in bytes. */
  valueBytesMax: 1024 * 1024,
  /** Largest client request body, in bytes (a batch may carry several values). */
  requestBodyBytesMax: 8 * 1024 * 1024,
  /** Most operations in one client batch request. */
  batchItemsMax: 1000,
  /** Most items one bucket listing page returns (also the most entries one internal scan carries). */
  listItemsMax: 1000,
  /** Items a bucket listing page returns when the request names no limit. */
  listItemsDefault: 100,
  /** Most operations the frontend packs into one internal request to a storage node. */
  internalBatchOpsMax: 256,
  /** Largest internal request body, in bytes. Must hold internalBatchOpsMax encoded values. */
  internalBodyBytesMax: 64 * 1024 * 1024,
  /**
   * Bytes of internal request bodies one node buffers at once, summed over every request in
   * flight: a request that would take it over is refused with 503 before its body is read, so
   * memory stays bounded however many peers (or strays) send at once.
   */
  internalInflightBytesMax: 128 * 1024 * 1024,
  /** Most storage nodes one partition table may name. */
  tableNodesMax: 10_000,
} as const;

// Relations between bounds, checked when the module loads (a wrong edit fails every test).
if (DEFAULT_LIMITS.internalInflightBytesMax < DEFAULT_LIMITS.internalBodyBytesMax) {
  throw new Error('internalInflightBytesMax must hold at least one internal body of internalBodyBytesMax');
}

export type Limits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

export const DEFAULT_TIMEOUTS = {
  /** How long a frontend waits for one storage node to answer one internal request. */
  replicaRequestTimeoutMs: 2000,
  /** How long a client request may take at the frontend before it is answered 503/504. */
  clientRequestTimeoutMs: 5000,
  /** How long a node waits for the controller on register or table fetch. */
  controllerRequestTimeoutMs: 3000,
  /** Pause between attempts to register with an absent controller. */
  registerRetryIntervalMs: 500,
} as const;

/** Partition-digit bounds: 16^1 = 16 partitions at least, 16^4 = 65,536 at most. */
export const PARTITION_DIGITS_MIN = 1;
export const PARTITION_DIGITS_MAX = 4;
export const PARTITION_DIGITS_DEFAULT = 2;

export const REDUNDANCY_MIN = 1;
export const REDUNDANCY_MAX = 7;
export const REDUNDANCY_DEFAULT = 3;
