import type { Version } from '@fog/protocol';

/** Per-replica outcomes, a fixed set so they can label metrics. */
export type ReplicaOutcome = 'ok' | 'stale' | 'error' | 'unreachable' | 'wrong_node';
export const REPLICA_OUTCOMES: readonly ReplicaOutcome[] = ['ok', 'stale', 'error', 'unreachable', 'wrong_node'];

/** What the coordinator tells the app about, for metrics and failure reports. */
export interface CoordinatorEvents {
  replicaOutcome(op: 'get' | 'put', outcome: ReplicaOutcome): void;
  /** The same as `count` calls of replicaOutcome (a batch's replies from one replica, told at once). */
  replicaOutcomes?(op: 'get' | 'put', outcome: ReplicaOutcome, count: number): void;
  readRepair(count: number): void;
  restamp(): void;
  /** A storage node could not be reached: evidence for the controller's failure detector. */
  unreachable(nodeId: string): void;
  /**
   * An acknowledged write did not reach this replica (no answer, timed out, refused with an
   * error code, or refused as the wrong node by a replica whose table is not newer than the
   * round's). Told once every reply of the acknowledged round is in, once per failed replica;
   * never for a round that was not acknowledged (re-stamped or failed) nor for conditional
   * writes. val is the value as it travels (base64), null for a tombstone.
   */
  missedWrite(nodeId: string, partition: number, key: string, ver: Version, val: string | null, exp?: number): void;
  /** A read with a receipt found only older versions on its r replicas and asked this many more. */
  receiptRead?(extraReplicas: number): void;
}

export const NO_EVENTS: CoordinatorEvents = {
  replicaOutcome: () => undefined,
  readRepair: () => undefined,
  restamp: () => undefined,
  unreachable: () => undefined,
  missedWrite: () => undefined,
};
