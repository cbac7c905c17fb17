import type { Timestamp, WireOp, WireResult } from '@fog/protocol';

/** One operation's answer from one replica, with what the replica told us about itself. */
export interface ReplicaReply {
  result: WireResult;
  /** The replica's table epoch. */
  epoch: number;
  /** The replica's hybrid clock. */
  clock: Timestamp;
}

/** Many operations' answers from one replica: one result per operation, in order. */
export interface ReplicaBatchReply {
  results: WireResult[];
  /** The replica's table epoch (the newest it showed when the answer came in parts). */
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
  /**
   * Many operations to one node, answered together (one promise for all of them instead of one
   * each): a batch's work for one replica. They travel in as few internal requests as the
   * transport's limits allow; when any of those fails, the promise rejects and none of the
   * operations counts as answered. Optional: without it, each operation is sent alone.
   */
  sendMany?(address: string, epoch: number, ops: WireOp[]): Promise<ReplicaBatchReply>;
}
