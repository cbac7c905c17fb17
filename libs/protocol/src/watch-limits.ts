/** Bounds of watches (GET /v1/kv/{key}?watch=VERSION&wait=...), per frontend. */
export const WATCH_LIMITS = {
  /**
   * Watches one frontend holds open at once; one more is refused 429 FOG_ERR_TOO_MANY_WATCHES.
   * With watchPollIntervalMs this bounds the reads watches cost: at most
   * watchersMax / watchPollIntervalMs quorum reads, fewer when watches share keys.
   */
  watchersMax: 512,
  /** How long a watch waits when the request names no wait, ms. */
  watchWaitMsDefault: 30_000,
  /** Longest wait a watch may ask for, ms (a longer one is refused 400). */
  watchWaitMsMax: 120_000,
  /**
   * How often a frontend reads the watched keys (one quorum read per key, shared by its
   * watches), ms: the longest a write through another frontend goes unnoticed. Writes through
   * this frontend wake watches at once.
   */
  watchPollIntervalMs: 500,
} as const;
