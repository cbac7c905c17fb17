/**
 * Why a replica sits where it does, as `locate` reports it.
 * - kept: already held it in the previous assignment and still within quota
 * - rank: chosen fresh: first among eligible nodes under quota in the partition's weighted
 *   pseudo-random order (weighted draws, then weighted-rendezvous score)
 * - zone: chosen fresh and the rendezvous winner was skipped to put the replica in a zone not
 *   yet used by this partition
 * - fallback: no node under quota could take it (constraints); least-loaded eligible node, or
 *   moved there afterwards to bring every node back to its quota
 */
export type ReplicaReason = 'kept' | 'rank' | 'zone' | 'fallback';

export const REPLICA_REASONS: readonly ReplicaReason[] = ['kept', 'rank', 'zone', 'fallback'];

const SENTENCES: Record<ReplicaReason, string> = {
  kept: 'This node already held the partition in the previous table and is still within its fair share, so it kept it (no data moved).',
  rank: 'Chosen because this node came first in the partition\'s weighted pseudo-random order (weighted draws, then weighted rendezvous score) among the nodes that still had room under their fair share.',
  zone: 'Chosen over a higher-ranked node so that the partition\'s replicas sit in different zones (failure domains).',
  fallback:
    'Placed here because no better-ranked node could take the replica without exceeding its fair share or repeating a node, so the node with the most spare capacity took it to keep the cluster balanced.',
};

/** Human sentence for a reason code, for the locate API. */
export function describeReason(reason: ReplicaReason): string {
  const sentence = SENTENCES[reason];
  if (sentence === undefined) throw new Error(`unknown replica reason: ${String(reason)}`);
  return sentence;
}
