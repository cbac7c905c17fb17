import { createHash } from 'node:crypto';

/** Bits of the digest that make the uniform variate: all a double's mantissa holds exactly. */
const UNIFORM_BITS = 52;
const UNIFORM_SCALE = 2 ** UNIFORM_BITS;
/** The 52 bits are 6 whole bytes (48 bits) and the high nibble of the 7th. */
const UNIFORM_WHOLE_BYTES = 6;
const NIBBLE_BITS = 4;
const NIBBLE_SCALE = 16;

/** Uniform in (0, 1), from SHA-1 of `${partition}:${nodeId}`. */
export function rendezvousUniform(partition: number, nodeId: string): number {
  const digest = createHash('sha1').update(`${partition}:${nodeId}`, 'utf8').digest();
  const bits = digest.readUIntBE(0, UNIFORM_WHOLE_BYTES) * NIBBLE_SCALE + (digest[UNIFORM_WHOLE_BYTES] >> NIBBLE_BITS);
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
