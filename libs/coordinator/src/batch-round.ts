import type { ErrorCode, Version, WireResult } from '@fog/protocol';

/** Error codes replicas answered in one round, with counts (never keys). */
export type ReplicaErrors = Record<string, number>;

/** How a write round ended: what the coordinator does next (acknowledge, re-stamp, refetch the table, fail). */
export type PutRound =
  | { kind: 'acked'; acks: number; newerEpoch: boolean }
  | { kind: 'stale'; newest: Version; acks: number }
  | { kind: 'fenced'; acks: number; errors: ReplicaErrors }
  | { kind: 'failed'; acks: number; errors: ReplicaErrors };

const WRONG_NODE: ErrorCode = 'FOG_ERR_WRONG_NODE';

/** What one reply changed for its operation (bits; 0: nothing the caller acts on). */
export const PUT_ACKED = 1;
/** The round ended without an acknowledgement (stale, fenced or failed): see `round(i)`. */
export const PUT_ENDED = 2;
/** The round was acknowledged and every reply is in: the replicas in `missed(i)` missed the version. */
export const PUT_MISSED_KNOWN = 4;

const OPEN = 0;
const ACKED = 1;
const ENDED = 2;

/**
 * The replies of one write round over many operations at once (a batch's puts and deletes),
 * counted in flat arrays: no promise, closure or object per operation and replica. Each
 * operation is judged exactly as a single write round judges it: acknowledged once `w` active
 * replicas applied it and none reported a version at least as new; otherwise, once every reply
 * is in, stale (re-stamp above the newest reported), fenced (a replica with a newer table
 * refused as the wrong node) or failed. Replicas that missed an acknowledged version are known
 * once all replies are in.
 */
export class PutRoundTally {
  private readonly acks: Uint16Array;
  private readonly pending: Uint16Array;
  private readonly state: Uint8Array;
  private readonly fenced: Uint8Array;
  private readonly newerEpoch: Uint8Array;
  private readonly newestMs: Float64Array;
  private readonly newestC: Float64Array;
  private readonly newestW: Array<string | undefined>;
  private readonly errors: Array<ReplicaErrors | undefined>;
  private readonly missedBy: Array<string[] | undefined>;

  /** size: operations in the round; w: the active replicas each needs to be acknowledged. */
  constructor(readonly size: number, private readonly w: number) {
    this.acks = new Uint16Array(size);
    this.pending = new Uint16Array(size);
    this.state = new Uint8Array(size);
    this.fenced = new Uint8Array(size);
    this.newerEpoch = new Uint8Array(size);
    this.newestMs = new Float64Array(size);
    this.newestC = new Float64Array(size);
    this.newestW = new Array<string | undefined>(size);
    this.errors = new Array<ReplicaErrors | undefined>(size);
    this.missedBy = new Array<string[] | undefined>(size);
  }

  /** Operation i goes to `targets` replicas; returns PUT_ACKED or PUT_ENDED if that alone decides it (w = 0, no target). */
  open(i: number, targets: number): number {
    this.pending[i] = targets;
    return this.settle(i);
  }

  /**
   * One replica's reply to operation i. result null: no answer (unreachable, timed out, not in
   * the table). active: the replica counts for the quorum (not a pending one). newerTable: the
   * replica holds a newer table than the round's.
   */
  reply(i: number, id: string, active: boolean, result: WireResult | null, newerTable: boolean): number {
    this.pending[i]--;
    if (result === null) this.miss(i, id);
    else {
      if (newerTable) this.newerEpoch[i] = 1;
      if (!result.ok) {
        const errs = this.errors[i] ?? (this.errors[i] = {});
        errs[result.code] = (errs[result.code] ?? 0) + 1;
        // A replica whose newer table no longer gives it the partition needs no hint: the
        // write is forwarded to the new table's replicas instead.
        if (result.code === WRONG_NODE && newerTable) this.fenced[i] = 1;
        else this.miss(i, id);
      } else if ('outcome' in result) {
        const cur = result.cur;
        if (result.outcome === 'stale' && cur) {
          if (this.newestW[i] === undefined || cur.ms > this.newestMs[i] || (cur.ms === this.newestMs[i] && cur.c > this.newestC[i])) {
            this.newestMs[i] = cur.ms;
            this.newestC[i] = cur.c;
            this.newestW[i] = cur.w;
          }
        } else if (active) this.acks[i]++;
      }
    }
    return this.settle(i);
  }

  /** How operation i's round ended (valid once reply() returned PUT_ACKED or PUT_ENDED for it). */
  round(i: number): PutRound {
    const acks = this.acks[i];
    if (this.state[i] === ACKED) return { kind: 'acked', acks, newerEpoch: this.newerEpoch[i] === 1 };
    const w = this.newestW[i];
    if (w !== undefined) return { kind: 'stale', newest: { ms: this.newestMs[i], c: this.newestC[i], w }, acks };
    return { kind: this.fenced[i] ? 'fenced' : 'failed', acks, errors: this.errors[i] ?? {} };
  }

  /** The replicas that missed operation i's version (no answer, or refused it), in reply order. */
  missed(i: number): readonly string[] {
    return this.missedBy[i] ?? [];
  }

  private miss(i: number, id: string): void {
    const m = this.missedBy[i];
    if (m) m.push(id);
    else this.missedBy[i] = [id];
  }

  private settle(i: number): number {
    let out = 0;
    if (this.state[i] === OPEN) {
      if (this.acks[i] >= this.w && this.newestW[i] === undefined) {
        this.state[i] = ACKED;
        out = PUT_ACKED;
      } else if (this.pending[i] === 0) {
        this.state[i] = ENDED;
        out = PUT_ENDED;
      }
    }
    // The last reply of an acknowledged round: every replica it missed is now known.
    if (this.state[i] === ACKED && this.pending[i] === 0 && this.missedBy[i] !== undefined) out |= PUT_MISSED_KNOWN;
    return out;
  }
}

/** reply() or launch() decided the operation: see `result(i)`. */
export const READ_DONE = 1;

/** One replica's usable answer to a read. */
export interface ReadAnswer<E> {
  id: string;
  entry: E | null;
}

/**
 * The replies of one read round over many operations at once (a batch's gets), in flat arrays.
 * Each operation is judged as a single read round judges it: it asks the first `r` replicas of
 * its order, asks the next one in order for each that fails, and ends once `r` answered (ok),
 * or when no replica is left to ask (fenced if a replica with a newer table refused as the wrong
 * node, failed otherwise). `ask(i, id)` is called for every request to send.
 */
export class ReadRoundTally<E> {
  private readonly next: Uint16Array;
  private readonly inflight: Uint16Array;
  private readonly state: Uint8Array;
  private readonly fenced: Uint8Array;
  private readonly answers: Array<Array<ReadAnswer<E>>>;

  constructor(readonly size: number, private readonly r: number, private readonly ask: (i: number, id: string) => void) {
    this.next = new Uint16Array(size);
    this.inflight = new Uint16Array(size);
    this.state = new Uint8Array(size);
    this.fenced = new Uint8Array(size);
    this.answers = new Array<Array<ReadAnswer<E>>>(size);
  }

  /** Start operation i over its replica order; READ_DONE when there is nobody to ask (failed). */
  open(i: number, order: readonly string[]): number {
    this.answers[i] = [];
    this.launch(i, order);
    if (this.inflight[i] === 0) {
      this.state[i] = ENDED;
      return READ_DONE;
    }
    return 0;
  }

  /**
   * One replica's reply to operation i: its entry (null: it holds none), or undefined when it
   * gave no usable answer; newerTableRefusal: it refused as the wrong node under a newer table.
   */
  reply(i: number, id: string, entry: E | null | undefined, newerTableRefusal: boolean, order: readonly string[]): number {
    this.inflight[i]--;
    const answers = this.answers[i];
    if (entry !== undefined) answers.push({ id, entry });
    else if (newerTableRefusal) this.fenced[i] = 1;
    if (this.state[i] !== OPEN) return 0;
    if (answers.length >= this.r) {
      this.state[i] = ACKED;
      return READ_DONE;
    }
    this.launch(i, order);
    if (this.inflight[i] === 0) {
      this.state[i] = ENDED;
      return READ_DONE;
    }
    return 0;
  }

  /** How operation i's round ended (valid once it returned READ_DONE), with the answers it had. */
  result(i: number): { kind: 'ok' | 'failed' | 'fenced'; replies: Array<ReadAnswer<E>> } {
    const kind = this.state[i] === ACKED ? 'ok' : this.fenced[i] ? 'fenced' : 'failed';
    return { kind, replies: this.answers[i] };
  }

  private launch(i: number, order: readonly string[]): void {
    const answers = this.answers[i];
    while (this.inflight[i] + answers.length < this.r && this.next[i] < order.length) {
      const id = order[this.next[i]++];
      this.inflight[i]++;
      this.ask(i, id);
    }
  }
}
