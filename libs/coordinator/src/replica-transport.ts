import type { Timestamp, WireOp, WireResult } from '@fog/protocol';

/** One operation's answer from one replica, with what the replica told us about itself. */
export interface ReplicaReply {
  result: WireResult;
  /** The replica's table epoch. */
  epoch: number;
  /** The replica's hybrid clock. */
  clock: Timestamp;
}

/**
 * How the frontend reaches storage: send this operation to that node, get its result. The
 * implementation (pooled, batched, another client) can change without touching callers.
 * Rejects when the node cannot be reached or does not answer in time.
 */
export interface ReplicaTransport {
  send(address: string, epoch: number, op: WireOp): Promise<ReplicaReply>;
}
