import type { FsyncPolicy } from './disk';
import type { EscapedError, SimNetwork } from './network';
import type { Rng } from './rng';
import type { Scheduler } from './scheduler';

/**
 * Bugs the self-test plants, one per invariant, to show the simulation catches each:
 * - copy-one-source: a partition copy reports done after paging one source, without
 *   reconciling with the other active replicas (lost acknowledged writes);
 * - lose-synced: the disk skips the fsync it claims (synced once a second), so a crash loses
 *   acknowledged writes;
 * - no-repair: hinted handoff and anti-entropy off (replicas never converge);
 * - ack-stale: a replica answers a stale write as applied (acknowledged order inverted);
 * - throw: a replica's ops handler throws on a rare key (an exception escapes a node);
 * - stale-controller-state: a restarted controller resumes from state saved long before
 *   (epochs go backwards);
 * - k-minus-one: the controller places K-1 replicas per partition (replicas short);
 * - replay-stops-at-damage: log replay takes a corrupt record for the end of the log and cuts
 *   the segment there, dropping the intact records after it (replay diverges from the disk);
 * - ack-unwritten: a node whose disk log failed (disk full, fsync error) keeps acknowledging
 *   writes, which are then in memory only (an acknowledged write not durable).
 */
export type PlantedBug = 'copy-one-source' | 'lose-synced' | 'no-repair' | 'ack-stale' | 'throw' | 'stale-controller-state' | 'k-minus-one' | 'replay-stops-at-damage' | 'ack-unwritten';
export const PLANTED_BUGS: readonly PlantedBug[] = [
  'copy-one-source', 'lose-synced', 'no-repair', 'ack-stale', 'throw', 'stale-controller-state', 'k-minus-one', 'replay-stops-at-damage', 'ack-unwritten',
];

/** Invariants a storage process checks about its own disk as it goes (the harness's knowledge of what the disk holds). */
export type DiskInvariant = 'replay-diverged' | 'ack-not-durable';

/** Timing of the simulated processes, each with its unit in its name. */
export interface ProcessTimings {
  heartbeatIntervalMs: number;
  registerRetryIntervalMs: number;
  controllerTickIntervalMs: number;
  antiEntropyIntervalMs: number;
  antiEntropyCatchUpDelayMs: number;
  antiEntropyRequestTimeoutMs: number;
  replicaRequestTimeoutMs: number;
  controllerRequestTimeoutMs: number;
  hintDeliveryIntervalMs: number;
  partitionDropDelayMs: number;
  partitionDropCheckIntervalMs: number;
  copyRequestTimeoutMs: number;
  copiesConcurrentMax: number;
  copyBytesPerSecMax: number;
  tombstoneGraceMs: number;
}

/** The apps' defaults (storage-node.ts, handoff.ts, anti-entropy-loop.ts, hint-delivery.ts). */
export const PROCESS_TIMINGS: ProcessTimings = {
  heartbeatIntervalMs: 500,
  registerRetryIntervalMs: 1000,
  controllerTickIntervalMs: 250,
  antiEntropyIntervalMs: 1000,
  antiEntropyCatchUpDelayMs: 20,
  antiEntropyRequestTimeoutMs: 5000,
  replicaRequestTimeoutMs: 2000,
  controllerRequestTimeoutMs: 2000,
  hintDeliveryIntervalMs: 100,
  partitionDropDelayMs: 10_000,
  partitionDropCheckIntervalMs: 2000,
  copyRequestTimeoutMs: 10_000,
  copiesConcurrentMax: 4,
  copyBytesPerSecMax: 32 * 1024 * 1024,
  tombstoneGraceMs: 10 * 60_000,
};

/** What every simulated process shares: the clock, the network, the seed and the failure sink. */
export interface World {
  readonly sched: Scheduler;
  readonly net: SimNetwork;
  readonly rng: Rng;
  readonly plant: PlantedBug | null;
  readonly timings: ProcessTimings;
  /** The fsync policy of every storage node of this run. */
  readonly fsync: FsyncPolicy;
  /** Frontends keep hints of the writes a replica missed. */
  readonly hintsEnabled: boolean;
  /** An exception escaped a process. */
  escaped(e: EscapedError): void;
  /** A storage process broke an invariant about its disk. */
  violated(invariant: DiskInvariant, detail: string): void;
}
