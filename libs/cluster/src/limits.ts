/** Bounds of what the controller keeps and shows about health, moves and events. */
export const CLUSTER_VIEW_LIMITS = {
  /** Most affected partitions listed in the health summary (the counts cover all of them). */
  healthAffectedPartitionsMax: 64,
  /** Largest D for which the health summary carries a per-partition map (16^3 = 4096 characters). */
  healthMapDigitsMax: 3,
  /** Recent events kept for the status page (a ring: the oldest goes first). */
  eventsMax: 100,
  /**
   * The cluster copy rate is measured over this much recent time: long enough to smooth the
   * bursts of completed copies, short enough that the ETA follows a changed throttle or load.
   */
  moveRateWindowMs: 10_000,
  /** A rate is only shown once it was measured over at least this long. */
  moveRateSpanMinMs: 1000,
  /** Most moves `GET /v1/cluster` lists (`?movesMax=` asks for fewer); the counts cover all of them. */
  clusterViewMovesMax: 10_000,
  /** Most rate samples kept (one per tick; older ones fall out of the window anyway). */
  moveRateSamplesMax: 512,
} as const;

// Relations that must hold between the bounds.
if (CLUSTER_VIEW_LIMITS.moveRateSpanMinMs >= CLUSTER_VIEW_LIMITS.moveRateWindowMs) throw new Error('moveRateSpanMinMs must be shorter than moveRateWindowMs');
if (CLUSTER_VIEW_LIMITS.healthMapDigitsMax > 3) throw new Error('a health map above D=3 would be too large for the cluster view');
