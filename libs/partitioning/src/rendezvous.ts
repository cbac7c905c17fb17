import { sha1Prefix } from './sha1';

/** Bits of the variate: all a double's mantissa holds exactly. */
const UNIFORM_BITS = 52;
const UNIFORM_SCALE = 2 ** UNIFORM_BITS;
/** The 52 bits are the first 32-bit word and the top 20 bits of the second. */
const WORD_SCALE = 2 ** 20;
const SECOND_WORD_SHIFT = 12;
/** Odd multipliers from murmur3 and the golden ratio: they spread consecutive partitions. */
const MIX_PARTITION = 0x9e3779b1;
const MIX_SECOND = 0x85ebca6b;
const FMIX_1 = 0x85ebca6b;
const FMIX_2 = 0xc2b2ae35;

/**
 * A node's identity for placement: the first 8 bytes of SHA-1(id), as two unsigned 32-bit words.
 * Hashed once per node; every (partition, node) variate is then a few integer multiplications.
 */
export interface NodeHash {
  hi: number;
  lo: number;
}

export function nodeHash(nodeId: string): NodeHash {
  const [hi, lo] = sha1Prefix(nodeId);
  return { hi, lo };
}

/** murmur3's finalizer: every input bit affects every output bit. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, FMIX_1);
  h ^= h >>> 13;
  h = Math.imul(h, FMIX_2);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in (0, 1) for (partition, node): deterministic, independent across pairs. */
export function uniformOf(partition: number, node: NodeHash): number {
  const first = fmix32(node.hi ^ Math.imul(partition + 1, MIX_PARTITION));
  const second = fmix32(node.lo ^ first ^ Math.imul(partition + 1, MIX_SECOND));
  const bits = first * WORD_SCALE + (second >>> SECOND_WORD_SHIFT);
  // The half step keeps u off 0 and 1, where ln(u) would give an infinite or zero score.
  return (bits + 0.5) / UNIFORM_SCALE;
}

/** Weighted rendezvous score from a precomputed node hash; higher wins. */
export function scoreOf(partition: number, node: NodeHash, weight: number): number {
  return -weight / Math.log(uniformOf(partition, node));
}

/** Uniform in (0, 1), from SHA-1 of the node id mixed with the partition number. */
export function rendezvousUniform(partition: number, nodeId: string): number {
  return uniformOf(partition, nodeHash(nodeId));
}

/**
 * Weighted rendezvous score, higher wins: -weight / ln(u). With u uniform this is the
 * "logarithmic method": a node wins a partition with probability weight / total weight, and
 * adding or removing a node only changes the partitions that node wins or held.
 */
export function rendezvousScore(partition: number, nodeId: string, weight: number): number {
  return scoreOf(partition, nodeHash(nodeId), weight);
}
