import { sha1Prefix } from './sha1';

/** Bits of the digest that make the uniform variate: all a double's mantissa holds exactly. */
const UNIFORM_BITS = 52;
const UNIFORM_SCALE = 2 ** UNIFORM_BITS;
/** The 52 bits are the first 32-bit word and the top 20 bits of the second. */
const WORD_SCALE = 2 ** 20;
const SECOND_WORD_SHIFT = 12;

/** Uniform in (0, 1), from the first 52 bits of SHA-1 of `${partition}:${nodeId}`. */
export function rendezvousUniform(partition: number, nodeId: string): number {
  const [first, second] = sha1Prefix(`${partition}:${nodeId}`);
  const bits = first * WORD_SCALE + (second >>> SECOND_WORD_SHIFT);
  // The half step keeps u off 0 and 1, where ln(u) would give an infinite or zero score.
  return (bits + 0.5) / UNIFORM_SCALE;
}

/**
 * Weighted rendezvous score, higher wins: -weight / ln(u). With u uniform this is the
 * "logarithmic method": a node wins a partition with probability weight / total weight, and
 * adding or removing a node only changes the partitions that node wins or held.
 */
export function rendezvousScore(partition: number, nodeId: string, weight: number): number {
  return -weight / Math.log(rendezvousUniform(partition, nodeId));
}
