import type { CasPromise, CasVote, Version, WireAccepted } from '@fog/protocol';

export const CAS_REGISTER_DEFAULTS = {
  /**
   * Keys with conditional-write state held at once. A prepare for a new key beyond this is
   * refused (FOG_ERR_OVERLOADED) rather than forgetting a promise that a round in flight
   * relies on.
   */
  keysMax: 10_000,
  /**
   * State untouched for this long is forgotten. Far longer than any client request may take
   * (clientRequestTimeoutMs), so no round that is still running depends on it.
   */
  idleMs: 60_000,
  /**
   * Versions of recent conditional commits kept per key, for a proposer checking whether its
   * own proposal was finished by another. More commits than this on one key while a request's
   * proposal is in doubt can make that request apply its value a second time.
   */
  commitsKeptMax: 32,
} as const;

export type CasRegisterOptions = { -readonly [K in keyof typeof CAS_REGISTER_DEFAULTS]: number };

interface Register {
  promised: Version | null;
  accepted: WireAccepted | null;
  commits: Version[];
  touchedMs: number;
}

/** Ballot order: timestamp, then the proposer id. Ballots of different frontends never tie. */
export function compareBallots(a: Version, b: Version): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.c !== b.c) return a.c < b.c ? -1 : 1;
  if (a.w !== b.w) return a.w < b.w ? -1 : 1;
  return 0;
}

/**
 * The acceptor side of single-key Paxos, used for conditional writes and appends: per key the
 * highest ballot promised, the last proposal accepted, and the versions recently committed.
 * Decisions only; the values themselves are committed through ordinary puts into the store.
 * Held in memory: a restarted node has forgotten its promises (see docs/api.md).
 */
export class CasRegisters {
  /** Insertion order is recency order: a touched key moves to the end, the idle ones sit first. */
  private readonly regs = new Map<string, Register>();
  private readonly opts: CasRegisterOptions;

  constructor(options: Partial<CasRegisterOptions> = {}) {
    this.opts = { ...CAS_REGISTER_DEFAULTS, ...options };
  }

  get size(): number {
    return this.regs.size;
  }

  /** Promise the ballot unless a higher one was promised; null when the node holds too many keys. */
  prepare(partition: number, key: string, ballot: Version, nowMs: number): CasPromise | null {
    const reg = this.touch(partition, key, nowMs);
    if (!reg) return null;
    if (reg.promised && compareBallots(ballot, reg.promised) <= 0) {
      return { granted: false, promised: reg.promised, accepted: null, entry: null, commits: [] };
    }
    reg.promised = ballot;
    return { granted: true, promised: ballot, accepted: reg.accepted, entry: null, commits: [...reg.commits] };
  }

  /** Accept the proposal unless a higher ballot was promised. */
  propose(partition: number, key: string, proposal: WireAccepted, nowMs: number): CasVote | null {
    const reg = this.touch(partition, key, nowMs);
    if (!reg) return null;
    if (reg.promised && compareBallots(proposal.ballot, reg.promised) < 0) return { accepted: false, promised: reg.promised };
    reg.promised = proposal.ballot;
    reg.accepted = proposal;
    return { accepted: true, promised: proposal.ballot };
  }

  /**
   * A conditional write's value reached this node: remember its version, and drop an accepted
   * proposal it covers (this node now stores that value or a newer one, which every later
   * round sees as the current value), so that large values are not held twice.
   */
  committed(partition: number, key: string, ver: Version, nowMs: number): void {
    const reg = this.touch(partition, key, nowMs);
    if (!reg) return;
    if (reg.accepted && compareBallots(reg.accepted.entry.ver, ver) <= 0) reg.accepted = null;
    if (reg.commits.some((v) => compareBallots(v, ver) === 0)) return;
    reg.commits.push(ver);
    if (reg.commits.length > this.opts.commitsKeptMax) reg.commits.shift();
  }

  private touch(partition: number, key: string, nowMs: number): Register | null {
    this.forgetIdle(nowMs);
    // Keys never hold control characters, so NUL separates the partition unambiguously.
    const id = `${partition}\u0000${key}`;
    let reg = this.regs.get(id);
    if (reg) this.regs.delete(id);
    else if (this.regs.size >= this.opts.keysMax) return null;
    else reg = { promised: null, accepted: null, commits: [], touchedMs: nowMs };
    reg.touchedMs = nowMs;
    this.regs.set(id, reg);
    return reg;
  }

  private forgetIdle(nowMs: number): void {
    for (const [id, reg] of this.regs) {
      if (nowMs - reg.touchedMs < this.opts.idleMs) break;
      this.regs.delete(id);
    }
  }
}
