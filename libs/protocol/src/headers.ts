/** Header names, lower case as Node presents them. */
export const HEADERS = {
  /** Version of the value returned or written: `<ms>.<counter>.<writer>`. */
  version: 'x-fog-version',
  /** Epoch of the partition table the sender holds. */
  epoch: 'x-fog-epoch',
  /** Id of the node that answered. */
  nodeId: 'x-fog-node-id',
  /** Partition a key belongs to (hex). */
  partition: 'x-fog-partition',
  /** How many replicas acknowledged a write or answered a read. */
  replicasAcked: 'x-fog-replicas',
  /** A read's receipt: answer with this version of the key or a newer one (see docs/api.md, Receipts). */
  after: 'x-fog-after',
  /** Milliseconds the value read has left to live (only on values written with a ttl). */
  ttlMs: 'x-fog-ttl-ms',
} as const;
