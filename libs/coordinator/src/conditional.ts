import { compareEntries, isGone, type Entry } from '@fog/lww';
import { partitionOf } from '@fog/partitioning';
import {
  FogError, decodeWireEntry, encodeWireEntry, quorumOf, type CasPromise, type PartitionTable, type Version, type WireAccepted, type WireOp, type WireResult,
} from '@fog/protocol';
import type { HybridClock } from '@fog/clock';
import type { ReplicaReply } from './replica-transport';

export const CONDITIONAL_DEFAULTS = {
  /**
   * Paxos rounds one conditional write or append may take. A round is lost when a concurrent
   * conditional write on the same key promised a higher ballot first; after this many the
   * client is answered 503 (FOG_ERR_WRITE_CONTENDED, or FOG_ERR_OUTCOME_UNKNOWN when one of
   * its proposals may have been accepted).
   */
  casRoundsMax: 16,
  /** After the n-th lost round, pause a random time up to n times this, ms: contenders spread out. */
  casBackoffStepMs: 8,
} as const;

/**
 * Computes the new value from the current entry (null: the key was never written; a
 * tombstone has value null). Returns the new value, null for a tombstone, or throws a FogError
 * to refuse (the refusal is linearizable: it was decided against the latest committed value).
 */
export type Decide = (current: Entry | null) => Buffer | null;

export interface ConditionalResult {
  /** The committed entry (its version is the new version of the key). */
  entry: Entry;
  /** The entry the decision was made against. */
  previous: Entry | null;
  partition: number;
  /** Active replicas that stored the committed value before the answer. */
  acks: number;
  /** Paxos rounds used (1 without contention). */
  rounds: number;
}

export interface ProposerContext {
  clock: HybridClock;
  nowMs: () => number;
  random: () => number;
  writerId: string;
  sleep: (ms: number) => Promise<void>;
  requireTable: () => PartitionTable;
  refreshTable: () => Promise<void>;
  sendTo: (table: PartitionTable, id: string, op: WireOp, kind: 'get' | 'put') => Promise<ReplicaReply | null>;
  casRoundsMax: number;
  casBackoffStepMs: number;
}

type Phase1 =
  | { kind: 'granted'; promises: Array<{ id: string; promise: CasPromise }> }
  | { kind: 'lost' | 'failed' | 'fenced'; promised: Version | null; answered: number };

type Phase2 = { kind: 'accepted' } | { kind: 'lost' | 'failed' | 'fenced'; promised: Version | null; answered: number };

const sameVersion = (a: Version, b: Version) => a.ms === b.ms && a.c === b.c && a.w === b.w;

function newerBallot(a: Version | null, b: Version | null): Version | null {
  if (!a) return b;
  if (!b) return a;
  if (a.ms !== b.ms) return a.ms > b.ms ? a : b;
  if (a.c !== b.c) return a.c > b.c ? a : b;
  return a.w >= b.w ? a : b;
}

const decode = decodeWireEntry;
const encode = encodeWireEntry;

/**
 * The proposer side of single-key Paxos over the partition's active replicas, for conditional
 * writes and appends. A round: prepare with a fresh ballot at a majority (each promise carries
 * the replica's stored entry and the proposal it accepted last); finish a proposal that was
 * accepted but not committed (only when it was computed from the value now current); else
 * decide against the newest stored entry; propose the result; once a majority accepted it,
 * commit it with an ordinary put to every replica. Two conditional writes computed from the
 * same value can never both be accepted by a majority, so neither overwrites the other.
 *
 * A proposal that some replicas accepted in a lost round may still be finished by someone else:
 * the proposer remembers its own and, in later rounds, looks for them in what the replicas
 * report (accepted, stored, or recently committed) before computing a new one, so that an
 * append is never applied twice by its own retries.
 */
export class CasProposer {
  constructor(private readonly ctx: ProposerContext) {}

  /** ttlMs: the committed value expires that long after its stamp (null: it does not expire). */
  async run(key: string, decide: Decide, w: number, placeBy: string, ttlMs: number | null = null): Promise<ConditionalResult> {
    const ctx = this.ctx;
    /** Our proposals some replica may have accepted: any of them may yet be the one committed. */
    const mine: Entry[] = [];
    /** The highest ballot a replica told us it promised: the next ballot goes above it. */
    let floor: Version | null = null;
    let lostRounds = 0;
    let fencedOnce = false;
    const lost = (promised: Version | null) => {
      lostRounds++;
      floor = newerBallot(floor, promised);
    };
    for (let round = 1; round <= ctx.casRoundsMax; round++) {
      if (lostRounds > 0) await ctx.sleep(ctx.random() * ctx.casBackoffStepMs * lostRounds);
      const table = ctx.requireTable();
      const partition = partitionOf(placeBy, table.digits);
      const active = table.partitions[partition].replicas;
      const targets = [...active, ...table.partitions[partition].pending];
      const need = quorumOf(active.length);
      if (w > active.length) throw quorumFailure(w, 0, active.length, mine.length > 0);
      const ballot = this.ballot(floor);

      const p1 = await this.prepare(table, partition, key, ballot, active, need);
      if (p1.kind !== 'granted') {
        if (p1.kind === 'fenced' && !fencedOnce) {
          fencedOnce = true;
          await ctx.refreshTable();
          continue;
        }
        if (p1.kind === 'lost') {
          lost(p1.promised);
          continue;
        }
        throw quorumFailure(need, p1.answered, active.length, mine.length > 0);
      }

      let current: Entry | null = null;
      const committed: Version[] = [];
      for (const { promise } of p1.promises) {
        if (promise.entry) {
          const e = decode(promise.entry);
          if (!current || compareEntries(e, current) > 0) current = e;
        }
        committed.push(...promise.commits);
      }

      // One of our earlier proposals already took effect: done, and not to be applied again.
      const ours = mine.find((m) => (current && sameVersion(current.ver, m.ver)) || committed.some((v) => sameVersion(v, m.ver)));
      if (ours) return { entry: ours, previous: null, partition, acks: await this.commit(table, partition, key, ours, targets, active, w), rounds: round };

      // Every replica that promised must hold the current value before anything computed from
      // it can be accepted: then any later majority includes one that holds it, and a proposal
      // computed from an older value is recognisably stale.
      const lagging = p1.promises.filter((pr) => current && (!pr.promise.entry || compareEntries(decode(pr.promise.entry), current) < 0)).map((pr) => pr.id);
      if (current && lagging.length > 0 && !(await this.repair(table, partition, key, current, lagging))) {
        lost(null);
        continue;
      }

      // A proposal computed from the current value, accepted by some (maybe by a majority) and
      // not committed: Paxos requires finishing the highest-ballot one before anything else.
      // Proposals computed from other values belong to earlier rounds of the key and are dead.
      let accepted: WireAccepted | null = null;
      for (const { promise } of p1.promises) {
        const a = promise.accepted;
        if (!a || !(a.base === null ? current === null : current !== null && sameVersion(a.base, current.ver))) continue;
        if (!accepted || newerBallot(a.ballot, accepted.ballot) === a.ballot) accepted = a;
      }
      if (accepted) {
        const pending = decode(accepted.entry);
        const p2 = await this.propose(table, partition, key, { ballot, entry: accepted.entry, base: accepted.base }, active, need);
        if (p2.kind !== 'accepted') {
          if (p2.kind === 'failed' || (p2.kind === 'fenced' && fencedOnce)) throw quorumFailure(need, p2.answered, active.length, mine.length > 0);
          if (p2.kind === 'fenced') {
            fencedOnce = true;
            await ctx.refreshTable();
          } else lost(p2.promised);
          continue;
        }
        const acks = await this.commit(table, partition, key, pending, targets, active, w);
        const mineFinished = mine.find((m) => sameVersion(m.ver, pending.ver));
        if (mineFinished) return { entry: mineFinished, previous: current, partition, acks, rounds: round };
        continue;
      }

      // An expired value is decided on as a deleted one: conditions and appends see no value.
      const value = decide(current && isGone(current, ctx.nowMs()) ? { ver: current.ver, value: null } : current);
      const ver = this.stampAbove(current?.ver ?? null);
      const proposal: Entry = ttlMs !== null && value !== null ? { ver, value, exp: ver.ms + ttlMs } : { ver, value };
      const p2 = await this.propose(table, partition, key, { ballot, entry: encode(proposal), base: current?.ver ?? null }, active, need);
      if (p2.kind === 'accepted') {
        const acks = await this.commit(table, partition, key, proposal, targets, active, w);
        return { entry: proposal, previous: current, partition, acks, rounds: round };
      }
      // Some replica may have accepted it: remember it, it may be finished by another proposer.
      mine.push(proposal);
      if (p2.kind === 'fenced' && !fencedOnce) {
        fencedOnce = true;
        await ctx.refreshTable();
        continue;
      }
      if (p2.kind === 'lost') {
        lost(p2.promised);
        continue;
      }
      throw quorumFailure(need, p2.answered, active.length, true);
    }
    if (mine.length > 0) {
      throw new FogError('FOG_ERR_OUTCOME_UNKNOWN', `lost ${ctx.casRoundsMax} rounds to concurrent conditional writes after a proposal of this request was accepted by some replicas`, { rounds: ctx.casRoundsMax });
    }
    throw new FogError('FOG_ERR_WRITE_CONTENDED', `lost ${ctx.casRoundsMax} rounds to concurrent conditional writes of the key; nothing was written`, { rounds: ctx.casRoundsMax });
  }

  /**
   * A ballot above every one issued here and above `floor`. Ballots are only compared, never
   * taken as times, so a promise stamped by a clock far ahead is passed by counting above it.
   */
  private ballot(floor: Version | null): Version {
    const ts = this.ctx.clock.now(this.ctx.nowMs());
    const b: Version = { ms: ts.ms, c: ts.c, w: this.ctx.writerId };
    if (floor && newerBallot(floor, b) === floor) return { ms: floor.ms, c: floor.c + 1, w: this.ctx.writerId };
    return b;
  }

  /** A version ordered after `base`, so that the committed value wins last-writer-wins over it. */
  private stampAbove(base: Version | null): Version {
    if (base) this.ctx.clock.observe(base, this.ctx.nowMs());
    const ts = this.ctx.clock.now(this.ctx.nowMs());
    if (base && (ts.ms < base.ms || (ts.ms === base.ms && ts.c <= base.c))) {
      throw new FogError('FOG_ERR_WRITE_CONTENDED', 'the stored version is stamped too far in the future to order after');
    }
    return { ms: ts.ms, c: ts.c, w: this.ctx.writerId };
  }

  private async prepare(table: PartitionTable, partition: number, key: string, ballot: Version, active: string[], need: number): Promise<Phase1> {
    const promises: Array<{ id: string; promise: CasPromise }> = [];
    const r = await this.poll(table, { op: 'prepare', p: partition, key, ballot }, active, need, (id, res) => {
      if (!('promise' in res)) return null;
      if (!res.promise.granted) return { yes: false, promised: res.promise.promised };
      promises.push({ id, promise: res.promise });
      return { yes: true, promised: null };
    });
    return r.kind === 'yes' ? { kind: 'granted', promises: promises.slice(0, need) } : r;
  }

  private async propose(table: PartitionTable, partition: number, key: string, proposal: WireAccepted, active: string[], need: number): Promise<Phase2> {
    const r = await this.poll(table, { op: 'propose', p: partition, key, ...proposal }, active, need, (_id, res) =>
      'vote' in res ? { yes: res.vote.accepted, promised: res.vote.promised } : null);
    return r.kind === 'yes' ? { kind: 'accepted' } : r;
  }

  /**
   * Send one Paxos message to every active replica and count the answers: 'yes' once `need`
   * said yes; 'lost' as soon as a refusal makes that impossible (a higher ballot is about, so
   * retry at once); otherwise wait for every answer, so that the error says how many answered.
   */
  private poll(
    table: PartitionTable, op: WireOp, active: string[], need: number,
    judge: (id: string, res: Extract<WireResult, { ok: true }>) => { yes: boolean; promised: Version | null } | null,
  ): Promise<{ kind: 'yes' } | { kind: 'lost' | 'failed' | 'fenced'; promised: Version | null; answered: number }> {
    return new Promise((resolve) => {
      let yes = 0;
      let no = 0;
      let outstanding = active.length;
      let promised: Version | null = null;
      let fenced = false;
      let done = false;
      const settle = () => {
        if (done) return;
        if (yes >= need) {
          done = true;
          resolve({ kind: 'yes' });
        } else if (no > 0 && yes + outstanding < need) {
          done = true;
          resolve({ kind: 'lost', promised, answered: yes + no });
        } else if (outstanding === 0) {
          done = true;
          resolve({ kind: fenced ? 'fenced' : 'failed', promised, answered: yes + no });
        }
      };
      for (const id of active) {
        void this.ctx.sendTo(table, id, op, op.op === 'prepare' ? 'get' : 'put').then((reply) => {
          outstanding--;
          const res = reply?.result;
          const verdict = res && res.ok ? judge(id, res) : null;
          if (verdict?.yes) yes++;
          else if (verdict) {
            no++;
            promised = newerBallot(promised, verdict.promised);
          } else if (res && !res.ok && res.code === 'FOG_ERR_WRONG_NODE' && reply!.epoch > table.epoch) fenced = true;
          settle();
        });
      }
      settle();
    });
  }

  /** Store the current entry on replicas that lag behind it; true when every one of them did. */
  private async repair(table: PartitionTable, partition: number, key: string, current: Entry, ids: string[]): Promise<boolean> {
    const op: WireOp = { op: 'put', p: partition, key, ...encode(current), cas: true };
    const replies = await Promise.all(ids.map((id) => this.ctx.sendTo(table, id, op, 'put')));
    return replies.every((r) => r !== null && r.result.ok && 'outcome' in r.result);
  }

  /**
   * Store the chosen entry on every replica (pending ones too) with its own version: no
   * re-stamping, since the version is what later rounds recognise it by. A replica holding a
   * newer version counts: the chosen value is already superseded there. Resolves with the
   * number of active replicas that answered once `w` did; throws when fewer could.
   */
  private commit(table: PartitionTable, partition: number, key: string, entry: Entry, targets: string[], active: string[], w: number): Promise<number> {
    const op: WireOp = { op: 'put', p: partition, key, ...encode(entry), cas: true };
    const activeSet = new Set(active);
    return new Promise((resolve, reject) => {
      let acks = 0;
      let outstanding = targets.length;
      let done = false;
      const settle = () => {
        if (done) return;
        if (acks >= w) {
          done = true;
          resolve(acks);
        } else if (outstanding === 0) {
          done = true;
          reject(new FogError(
            'FOG_ERR_OUTCOME_UNKNOWN',
            `a majority accepted the write but only ${acks} of the ${w} replica(s) required stored it; a later conditional write of the key will finish it`,
            { required: w, answered: acks, replicas: active.length },
          ));
        }
      };
      for (const id of targets) {
        void this.ctx.sendTo(table, id, op, 'put').then((reply) => {
          outstanding--;
          const res = reply?.result;
          if (res && res.ok && 'outcome' in res && activeSet.has(id)) acks++;
          settle();
        });
      }
      settle();
    });
  }
}

function quorumFailure(required: number, answered: number, replicas: number, proposed: boolean): FogError {
  const message = `conditional write needed ${required} replica(s), ${answered} of ${replicas} answered`;
  if (proposed) return new FogError('FOG_ERR_OUTCOME_UNKNOWN', `${message}, after a proposal of this request reached some of them`, { required, answered, replicas });
  return new FogError('FOG_ERR_QUORUM_NOT_MET', message, { required, answered, replicas });
}
