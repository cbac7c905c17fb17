/** Per-request consistency: a number 1..K, `one`, `quorum` or `all`, resolved against K. */
export type ConsistencyLevel = number | 'one' | 'quorum' | 'all';

export function quorumOf(redundancy: number): number {
  return Math.floor(redundancy / 2) + 1;
}

/** Replicas required for the level at redundancy K, or null when the text is not a level. */
export function resolveConsistency(text: string | undefined, redundancy: number, fallback: 'quorum' | 'one' | 'all' = 'quorum'): number | null {
  const level = text === undefined || text === '' ? fallback : text;
  switch (level) {
    case 'one':
      return 1;
    case 'quorum':
      return quorumOf(redundancy);
    case 'all':
      return redundancy;
    default: {
      if (!/^\d{1,2}$/.test(level)) return null;
      const n = Number(level);
      return n >= 1 && n <= redundancy ? n : null;
    }
  }
}
