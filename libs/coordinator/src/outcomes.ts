/** Per-replica outcomes, a fixed set so they can label metrics. */
export type ReplicaOutcome = 'ok' | 'stale' | 'error' | 'unreachable' | 'wrong_node';
export const REPLICA_OUTCOMES: readonly ReplicaOutcome[] = ['ok', 'stale', 'error', 'unreachable', 'wrong_node'];

/** What the coordinator tells the app about, for metrics and failure reports. */
export interface CoordinatorEvents {
  replicaOutcome(op: 'get' | 'put', outcome: ReplicaOutcome): void;
  readRepair(count: number): void;
  restamp(): void;
  /** A storage node could not be reached: evidence for the controller's failure detector. */
  unreachable(nodeId: string): void;
}

export const NO_EVENTS: CoordinatorEvents = {
  replicaOutcome: () => undefined,
  readRepair: () => undefined,
  restamp: () => undefined,
  unreachable: () => undefined,
};
