import type { HybridClock } from '@fog/clock';
import { compareEntries, isGone, type Entry } from '@fog/lww';
import { partitionOf } from '@fog/partitioning';
import {
  compareVersions, decodeWireEntry, DEFAULT_LIMITS, encodeWireEntry, FogError, internalAddressOf, type ErrorCode, type PartitionTable, type Timestamp,
  type Version, type WireEntry, type WireOp, type WireResult,
} from '@fog/protocol';
import { NO_EVENTS, type CoordinatorEvents, type ReplicaOutcome } from './outcomes';
import type { ReplicaReply, ReplicaTransport } from './replica-transport';
import { PUT_ACKED, PUT_ENDED, PUT_MISSED_KNOWN, PutRoundTally, READ_DONE, ReadRoundTally, type PutRound, type ReplicaErrors } from './batch-round';
import { CONDITIONAL_DEFAULTS, CasProposer, type ConditionalResult, type Decide } from './conditional';
import {
  KEYSPACE_SCAN_DEFAULTS, mergeKeyspacePages, mergeScanPages, perPartitionScanLimit, type PartitionScanPage, type ScanPageReply, type ScanResult,
} from './scan-merge';

/** Chooses the replicas a read asks, in order (a batch shares one order per partition). */
export type ReadOrder = (table: PartitionTable, partition: number) => string[];

export const COORDINATOR_DEFAULTS = {
  /**
   * How often a write may be re-stamped above a newer version a replica reported before the
   * client is told to retry. Each attempt is one more round trip to the replicas.
   */
  restampAttemptsMax: 3,
  /**
   * Operations of a batch sent to one replica in one multi-operation call (sendMany): a storage
   * node refuses internal requests of more than internalBatchOpsMax operations.
   */
  batchOpsPerReplicaCallMax: DEFAULT_LIMITS.internalBatchOpsMax,
} as const;

if (COORDINATOR_DEFAULTS.batchOpsPerReplicaCallMax > DEFAULT_LIMITS.internalBatchOpsMax || COORDINATOR_DEFAULTS.batchOpsPerReplicaCallMax < 1) {
  throw new Error('batchOpsPerReplicaCallMax must be within 1..internalBatchOpsMax');
}

export interface CoordinatorDeps {
  transport: ReplicaTransport;
  clock: HybridClock;
  nowMs: () => number;
  /** Uniform in [0, 1): which replicas a read asks first. */
  random: () => number;
  /** This frontend's id: the writer in every version it stamps. */
  writerId: string;
  table: () => PartitionTable | null;
  /** Fetch the newest table; called when a replica shows a newer epoch than ours. */
  refreshTable: () => Promise<void>;
  events?: CoordinatorEvents;
  restampAttemptsMax?: number;
  /** Pause between contended conditional rounds (default: none, for tests). */
  sleep?: (ms: number) => Promise<void>;
  casRoundsMax?: number;
  casBackoffStepMs?: number;
}

/** Where a key lives: by default its own partition; placeBy puts it in another key's partition (bucket items). */
export interface KeyPlacement {
  placeBy?: string;
}

export interface WriteResult {
  ver: Version;
  /** When the value written expires (ms since the epoch); absent: it does not. */
  exp?: number;
  partition: number;
  /** Active replicas that acknowledged before the answer. */
  acks: number;
}

export interface ReadResult {
  /** The newest entry among the replicas asked: null when none holds the key; a tombstone has value null. */
  entry: Entry | null;
  partition: number;
  answered: number;
}

/** A write of a batch (writeMany): the value (null: a tombstone) and how long it lives (null: for ever). */
export interface BatchWrite {
  key: string;
  value: Buffer | null;
  ttlMs: number | null;
}

/** The first round of a write, already run (by writeMany): writeNow goes on from its outcome. */
interface FirstRound {
  table: PartitionTable;
  ts: Timestamp;
  round: PutRound;
}

/** Requests to send, in order: operation ks[j] to replica ids[j]. */
interface Asks {
  ks: number[];
  ids: string[];
}

/** Where the writes of one partition go, in one writeMany. */
interface WritePlan {
  partition: number;
  /** Active replicas, then pending ones. */
  targets: string[];
  active: Set<string>;
  /** Per target, the list of operations sent to it (packed sends only), found once per plan. */
  lists: number[][] | null;
}

/** A replica's answer to operation k of a batch round (result null: none came). */
type OnReply = (k: number, id: string, result: WireResult | null, epoch: number) => void;

interface WriteWaiter {
  resolve: (r: WriteResult) => void;
  reject: (e: unknown) => void;
}

/** Writes to one key waiting for the one in flight; the newest value goes, with the highest w asked. */
interface WaitingWrite {
  key: string;
  value: Buffer | null;
  ttlMs: number | null;
  w: number;
  place: KeyPlacement;
  waiters: WriteWaiter[];
}

interface WaitingRead {
  key: string;
  r: number;
  place: KeyPlacement;
  waiters: Array<{ resolve: (r: ReadResult) => void; reject: (e: unknown) => void }>;
}

/** Storage refusals that say why the node cannot take writes: shown to the client as they are. */
const STORAGE_REFUSALS = new Set(['FOG_ERR_INSUFFICIENT_STORAGE', 'FOG_ERR_MEMORY_LIMIT']);

export function decodeEntry(w: WireEntry): Entry {
  return decodeWireEntry(w);
}

export function encodeEntry(e: Entry): WireEntry {
  return encodeWireEntry(e);
}

/**
 * The frontend's data path: stamp writes and fan them out to every replica, read from a quorum
 * and keep the newest, repair stale replicas, and never acknowledge a write that is ordered
 * before one acknowledged earlier (re-stamp above what a replica reports instead).
 */
export class Coordinator {
  private readonly events: CoordinatorEvents;
  private readonly restampAttemptsMax: number;
  private readonly cas: CasProposer;
  /** Keys with a write in flight: the writes waiting for it (null: none waits). */
  private readonly writesInFlight = new Map<string, WaitingWrite | null>();
  /** Keys (and read levels) with a read in flight: the reads waiting for the next one. */
  private readonly readsInFlight = new Map<string, WaitingRead | null>();

  constructor(private readonly deps: CoordinatorDeps) {
    this.events = deps.events ?? NO_EVENTS;
    this.restampAttemptsMax = deps.restampAttemptsMax ?? COORDINATOR_DEFAULTS.restampAttemptsMax;
    this.cas = new CasProposer({
      clock: deps.clock,
      nowMs: deps.nowMs,
      random: deps.random,
      writerId: deps.writerId,
      sleep: deps.sleep ?? (() => Promise.resolve()),
      requireTable: () => this.requireTable(),
      refreshTable: deps.refreshTable,
      sendTo: (table, id, op, kind) => this.sendTo(table, id, op, kind),
      casRoundsMax: deps.casRoundsMax ?? CONDITIONAL_DEFAULTS.casRoundsMax,
      casBackoffStepMs: deps.casBackoffStepMs ?? CONDITIONAL_DEFAULTS.casBackoffStepMs,
    });
  }

  /**
   * Write a value (null: a tombstone) and resolve once `w` active replicas acknowledged.
   *
   * Writes to one key at this frontend coalesce: while one is in flight, later ones wait, and
   * when it ends only the newest of them goes to the replicas. The ones it supersedes are
   * stamped just before it (again at each re-stamp), so they are ordered just before it, as
   * writes overwritten at once; they are acknowledged with those versions when it is, or fail
   * with it. Many sets to one key thus cost one replica round at a time instead of racing
   * each other into re-stamps.
   */
  write(key: string, value: Buffer | null, w: number, place: KeyPlacement = {}, ttlMs: number | null = null): Promise<WriteResult> {
    const id = place.placeBy === undefined ? key : `${place.placeBy}\u0000${key}`;
    if (!this.writesInFlight.has(id)) {
      this.writesInFlight.set(id, null);
      return this.writeNow(key, value, w, place, 0, ttlMs).finally(() => this.nextWrite(id));
    }
    return new Promise<WriteResult>((resolve, reject) => {
      const waiter: WriteWaiter = { resolve, reject };
      const next = this.writesInFlight.get(id);
      if (next) {
        next.value = value;
        next.ttlMs = ttlMs;
        next.w = Math.max(next.w, w);
        next.waiters.push(waiter);
      } else this.writesInFlight.set(id, { key, value, ttlMs, w, place, waiters: [waiter] });
    });
  }

  /** The write to `id` in flight ended: send the newest waiting one, which answers them all. */
  private nextWrite(id: string): void {
    const next = this.writesInFlight.get(id);
    if (!next) {
      this.writesInFlight.delete(id);
      return;
    }
    this.writesInFlight.set(id, null);
    const superseded = next.waiters.length - 1;
    this.writeNow(next.key, next.value, next.w, next.place, superseded, next.ttlMs).then(
      (res) => {
        // res.before holds the versions stamped just below the one sent, oldest first.
        next.waiters.forEach((waiter, i) => waiter.resolve(i === superseded ? res : { ver: res.before?.[i] ?? res.ver, partition: res.partition, acks: res.acks }));
      },
      (err: unknown) => {
        for (const waiter of next.waiters) waiter.reject(err);
      },
    ).finally(() => this.nextWrite(id));
  }

  /**
   * Send one write now. With `superseded` > 0 the writes it replaces get the versions stamped
   * just before the one sent, in the same attempt (so a re-stamp moves them too), returned as
   * `before`. With `first`, the first round was already run (by writeMany) under that table
   * and stamp: the write goes on from its outcome as if this call had run it.
   */
  private async writeNow(
    key: string, value: Buffer | null, w: number, place: KeyPlacement, superseded = 0, ttlMs: number | null = null, first: FirstRound | null = null,
  ): Promise<WriteResult & { before?: Version[] }> {
    const encoded = value === null ? null : value.toString('base64');
    for (let fenceRetry = 0; ; fenceRetry++) {
      const table = first ? first.table : this.requireTable();
      const partition = partitionOf(place.placeBy ?? key, table.digits);
      const entry = table.partitions[partition];
      const active = new Set(entry.replicas);
      const targets = [...entry.replicas, ...entry.pending];
      if (active.size < w) throw quorumError('write', w, 0, active.size);
      let before = this.stampBlock(superseded);
      let ts = first ? first.ts : this.deps.clock.now(this.deps.nowMs());
      let round: PutRound = { kind: 'failed', acks: 0, errors: {} };
      for (let attempt = 0; attempt <= this.restampAttemptsMax; attempt++) {
        const ver: Version = { ms: ts.ms, c: ts.c, w: this.deps.writerId };
        // The expiry is derived from the stamp, so a re-stamp moves it too.
        const exp = ttlMs !== null && value !== null ? ver.ms + ttlMs : undefined;
        if (first) {
          round = first.round;
          first = null;
        } else round = await this.putRound(table, partition, key, ver, encoded, targets, active, w, exp);
        if (round.kind === 'acked') {
          if (round.newerEpoch) void this.forwardToNewReplicas(table, partition, key, ver, encoded, exp);
          const res: WriteResult & { before?: Version[] } = { ver, partition, acks: round.acks };
          if (exp !== undefined) res.exp = exp;
          if (superseded > 0) res.before = before;
          return res;
        }
        if (round.kind !== 'stale') break;
        // A replica holds a version at least as new: issue a stamp above it and send again, so
        // that this write is ordered after every write acknowledged before it started.
        this.events.restamp();
        this.deps.clock.observe(round.newest, this.deps.nowMs());
        before = this.stampBlock(superseded);
        ts = this.deps.clock.now(this.deps.nowMs());
        const lowest = before.length ? before[0] : ts;
        if (lowest.ms < round.newest.ms || (lowest.ms === round.newest.ms && lowest.c <= round.newest.c)) {
          // The clock refused the jump (implausibly far ahead): we cannot order after it.
          throw new FogError('FOG_ERR_WRITE_CONTENDED', 'a replica holds a version stamped too far in the future to order after');
        }
      }
      if (round.kind === 'fenced' && fenceRetry === 0) {
        await this.deps.refreshTable();
        continue;
      }
      if (round.kind === 'stale') throw new FogError('FOG_ERR_WRITE_CONTENDED');
      throw writeFailure(w, round.acks, active.size, round.errors);
    }
  }

  /**
   * Write an entry with the version it already has (a restore from a backup), to every replica
   * of its partition, merged last-writer-wins as any write is: where a replica holds a newer
   * version (written since the backup), that one stays. Resolves once `w` active replicas hold
   * this version or a newer one: `restored` when none held newer, `newer` otherwise. Not
   * coalesced with client writes and never re-stamped: the version is the point.
   */
  async restore(
    key: string, ver: Version, value: Buffer, w: number, place: KeyPlacement = {}, exp?: number,
  ): Promise<{ outcome: 'restored' | 'newer'; partition: number; acks: number }> {
    // Later writes from this frontend are stamped above what it restores.
    this.deps.clock.observe(ver, this.deps.nowMs());
    const encoded = value.toString('base64');
    for (let fenceRetry = 0; ; fenceRetry++) {
      const table = this.requireTable();
      const partition = partitionOf(place.placeBy ?? key, table.digits);
      const entry = table.partitions[partition];
      const active = new Set(entry.replicas);
      if (active.size < w) throw quorumError('write', w, 0, active.size);
      // The entry goes back with its expiry, if it had one (an expired one then reads as missing).
      const round = await this.putRound(table, partition, key, ver, encoded, [...entry.replicas, ...entry.pending], active, w, exp);
      if (round.kind === 'acked') {
        if (round.newerEpoch) void this.forwardToNewReplicas(table, partition, key, ver, encoded, exp);
        return { outcome: 'restored', partition, acks: round.acks };
      }
      // A replica holds this version or a newer one: the newer one stays, as it would for any
      // write that lost last-writer-wins; the entry was offered to every replica.
      if (round.kind === 'stale') return { outcome: 'newer', partition, acks: round.acks };
      if (round.kind === 'fenced' && fenceRetry === 0) {
        await this.deps.refreshTable();
        continue;
      }
      throw writeFailure(w, round.acks, active.size, round.errors);
    }
  }

  /**
   * Read from `r` active replicas (retrying others on failure) and return the newest entry.
   *
   * Concurrent reads of one key share quorum reads: while one is in flight, the reads that
   * arrive wait and then share the next one. A read never joins a read that started before it
   * did, so it still sees every write acknowledged before it began. (A batch's reads, which
   * bring their own replica order, go alone.)
   */
  read(key: string, r: number, place: KeyPlacement = {}, orderFor?: ReadOrder, after: Version | null = null): Promise<ReadResult> {
    // A read with a receipt goes alone: it may ask more replicas than r.
    if (orderFor || after) return this.readNow(key, r, place, orderFor, after);
    const id = place.placeBy === undefined ? `${r}\u0000${key}` : `${r}\u0000${place.placeBy}\u0000${key}`;
    if (!this.readsInFlight.has(id)) {
      this.readsInFlight.set(id, null);
      return this.readNow(key, r, place).finally(() => this.nextRead(id));
    }
    return new Promise<ReadResult>((resolve, reject) => {
      const next = this.readsInFlight.get(id);
      if (next) next.waiters.push({ resolve, reject });
      else this.readsInFlight.set(id, { key, r, place, waiters: [{ resolve, reject }] });
    });
  }

  private nextRead(id: string): void {
    const next = this.readsInFlight.get(id);
    if (!next) {
      this.readsInFlight.delete(id);
      return;
    }
    this.readsInFlight.set(id, null);
    this.readNow(next.key, next.r, next.place).then(
      (res) => {
        for (const waiter of next.waiters) waiter.resolve(res);
      },
      (err: unknown) => {
        for (const waiter of next.waiters) waiter.reject(err);
      },
    ).finally(() => this.nextRead(id));
  }

  /**
   * Write many keys at once (a batch's puts and deletes), each exactly as write() writes it —
   * its own stamp, quorum, re-stamps, hints for the replicas it missed — but with the work for
   * each replica packed together: the first round of every write goes out as one multi-operation
   * call per replica (a few for a large batch), and the replies are counted in one flat tally.
   * What the first round does not settle (a re-stamp, a newer table, a failure) goes on one
   * write at a time, as write() would go on. A key with a write in flight at this frontend (or
   * given twice) joins it as write() does. One result or error per item, in order.
   */
  async writeMany(items: readonly BatchWrite[], w: number): Promise<Array<WriteResult | FogError>> {
    const out = new Array<WriteResult | FogError>(items.length);
    const table = this.requireTable();
    const waits: Array<Promise<void>> = [];
    const flat: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const key = items[i].key;
      if (this.writesInFlight.has(key)) {
        const it = items[i];
        waits.push(this.write(key, it.value, w, {}, it.ttlMs).then((res) => void (out[i] = res), (err: unknown) => void (out[i] = asFogError(err))));
      } else {
        this.writesInFlight.set(key, null);
        flat.push(i);
      }
    }
    const n = flat.length;
    const partitions = this.partitionsOf(flat.map((i) => items[i].key), table);
    // Per partition: where its writes go; per replica: the operations it is sent (packed), or
    // without sendMany every request in order.
    const plans = new Map<number, WritePlan>();
    const planOfOp = new Array<WritePlan>(n);
    const packed = this.deps.transport.sendMany !== undefined;
    const byNode = new Map<string, number[]>();
    const asks: Asks = { ks: [], ids: [] };
    const ops = new Array<Extract<WireOp, { op: 'put' }>>(n);
    const stamps = new Array<Timestamp>(n);
    const tally = new PutRoundTally(n, w);
    let open = n;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const finish = (k: number): void => {
      this.nextWrite(items[flat[k]].key);
      if (--open === 0) allDone();
    };
    const decided = (k: number, bits: number): void => {
      const op = ops[k];
      if (bits & PUT_ACKED) {
        const round = tally.round(k);
        if (round.kind === 'acked' && round.newerEpoch) void this.forwardToNewReplicas(table, op.p, op.key, op.ver, op.val, op.exp);
        const res: WriteResult = { ver: op.ver, partition: op.p, acks: round.acks };
        if (op.exp !== undefined) res.exp = op.exp;
        out[flat[k]] = res;
        finish(k);
      } else if (bits & PUT_ENDED) {
        const i = flat[k];
        const it = items[i];
        this.writeNow(it.key, it.value, w, {}, 0, it.ttlMs, { table, ts: stamps[k], round: tally.round(k) }).then(
          (res) => void (out[i] = res),
          (err: unknown) => void (out[i] = asFogError(err)),
        ).finally(() => finish(k));
      }
      if (bits & PUT_MISSED_KNOWN) for (const id of tally.missed(k)) this.events.missedWrite(id, op.p, op.key, op.ver, op.val, op.exp);
    };
    const nowMs = this.deps.nowMs();
    let plan: WritePlan | undefined;
    for (const k of byPartition(partitions)) {
      const it = items[flat[k]];
      const p = partitions[k];
      if (plan?.partition !== p) {
        plan = plans.get(p);
        if (!plan) {
          const entry = table.partitions[p];
          plans.set(p, (plan = { partition: p, targets: [...entry.replicas, ...entry.pending], active: new Set(entry.replicas), lists: null }));
        }
      }
      planOfOp[k] = plan;
      if (plan.active.size < w) {
        out[flat[k]] = quorumError('write', w, 0, plan.active.size);
        finish(k);
        continue;
      }
      const ts = this.deps.clock.now(nowMs);
      const ver: Version = { ms: ts.ms, c: ts.c, w: this.deps.writerId };
      stamps[k] = ts;
      // The expiry is derived from the stamp, so a re-stamp moves it too.
      const exp = it.ttlMs !== null && it.value !== null ? ver.ms + it.ttlMs : undefined;
      ops[k] = withExp({ op: 'put', p, key: it.key, ver, val: it.value === null ? null : it.value.toString('base64') }, exp) as Extract<WireOp, { op: 'put' }>;
      if (packed) {
        if (!plan.lists) plan.lists = plan.targets.map((id) => listOf(byNode, id));
        for (const list of plan.lists) list.push(k);
      } else {
        for (const id of plan.targets) {
          asks.ks.push(k);
          asks.ids.push(id);
        }
      }
      const bits = tally.open(k, plan.targets.length);
      if (bits) decided(k, bits);
    }
    this.dispatch(table, 'put', packed ? byNode : asks, ops, (k, id, result, epoch) => {
      const bits = tally.reply(k, id, planOfOp[k].active.has(id), result, epoch > table.epoch);
      if (bits) decided(k, bits);
    });
    if (n === 0) allDone();
    await Promise.all([done, ...waits]);
    return out;
  }

  /**
   * Read many keys at once (a batch's gets), each exactly as read() reads it with this replica
   * order — r answers, the next replica asked for each that fails, the newest kept, stale
   * replicas repaired — with the requests for each replica packed into one multi-operation call
   * (a few for a large batch) and the replies counted in one flat tally. One result or error
   * per key, in order.
   */
  async readMany(keys: readonly string[], r: number, orderFor: ReadOrder): Promise<Array<ReadResult | FogError>> {
    const out = new Array<ReadResult | FogError>(keys.length);
    const n = keys.length;
    const table = this.requireTable();
    const partitions = this.partitionsOf(keys, table);
    const orders = new Array<string[]>(n);
    const ops = new Array<WireOp>(n);
    let asks: Asks = { ks: [], ids: [] };
    const tally = new ReadRoundTally<Entry>(n, r, (k, id) => {
      asks.ks.push(k);
      asks.ids.push(id);
    });
    const waits: Array<Promise<void>> = [];
    const concluded = (k: number): void => {
      const key = keys[k];
      const p = partitions[k];
      const { kind, replies } = tally.result(k);
      if (kind === 'fenced') {
        // A replica holds a newer table: fetch it and read again, as read() does once.
        waits.push(this.deps.refreshTable().then(() => this.readNow(key, r, {}, orderFor, null, 1)).then(
          (res) => void (out[k] = res),
          (err: unknown) => void (out[k] = asFogError(err)),
        ));
        return;
      }
      const replicas = table.partitions[p].replicas.length;
      if (kind !== 'ok') {
        out[k] = quorumError('read', r, replies.length, replicas);
        return;
      }
      let newest: Entry | null = null;
      for (const a of replies) if (a.entry && (!newest || compareEntries(a.entry, newest) > 0)) newest = a.entry;
      if (newest) this.readRepair(table, p, key, newest, replies);
      // An expired value reads as missing, as a tombstone does (see readNow).
      if (newest && newest.value !== null && isGone(newest, this.deps.nowMs())) newest = { ver: newest.ver, value: null };
      out[k] = { entry: newest, partition: p, answered: replies.length };
    };
    let unanswered = n;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const end = (k: number): void => {
      concluded(k);
      if (--unanswered === 0) allDone();
    };
    for (const k of byPartition(partitions)) {
      const p = partitions[k];
      const replicas = table.partitions[p].replicas;
      if (replicas.length < r) {
        out[k] = quorumError('read', r, 0, replicas.length);
        if (--unanswered === 0) allDone();
        continue;
      }
      orders[k] = orderFor(table, p);
      ops[k] = { op: 'get', p, key: keys[k] };
      if (tally.open(k, orders[k]) === READ_DONE) end(k);
    }
    // Replies ask the next replica for the reads that lost one: those requests leave together
    // once the reply that caused them is counted.
    const onReply: OnReply = (k, id, result, epoch) => {
      const entry = result && result.ok && 'entry' in result ? (result.entry ? decodeEntry(result.entry) : null) : undefined;
      const refusedNewer = result !== null && !result.ok && result.code === 'FOG_ERR_WRONG_NODE' && epoch > table.epoch;
      if (tally.reply(k, id, entry, refusedNewer, orders[k]) === READ_DONE) end(k);
    };
    const flush = (): void => {
      if (asks.ks.length === 0) return;
      const now = asks;
      asks = { ks: [], ids: [] };
      this.dispatch(table, 'get', now, ops, onReply, flush);
    };
    flush();
    if (unanswered === 0) allDone();
    await done;
    await Promise.all(waits);
    return out;
  }

  /** Partition of each key under the table. */
  private partitionsOf(keys: readonly string[], table: PartitionTable): Uint32Array {
    const out = new Uint32Array(keys.length);
    for (let k = 0; k < keys.length; k++) out[k] = partitionOf(keys[k], table.digits);
    return out;
  }

  /**
   * Send batch requests, given in order or already grouped by replica: with a transport that
   * takes many operations at once, one call per replica for all the operations it is asked
   * (split at batchOpsPerReplicaCallMax), answered through onReply in order; otherwise each
   * alone, in the order asked. `after` runs once the replies of one call were all counted.
   */
  private dispatch(table: PartitionTable, kind: 'get' | 'put', asks: Asks | Map<string, number[]>, ops: WireOp[], onReply: OnReply, after?: () => void): void {
    const sendMany = this.deps.transport.sendMany?.bind(this.deps.transport);
    let byNode: Map<string, number[]>;
    if (asks instanceof Map) byNode = asks;
    else if (sendMany) {
      byNode = new Map();
      for (let j = 0; j < asks.ks.length; j++) listOf(byNode, asks.ids[j]).push(asks.ks[j]);
    } else {
      const { ks, ids } = asks;
      for (let j = 0; j < ks.length; j++) {
        const k = ks[j];
        const id = ids[j];
        void this.sendTo(table, id, ops[k], kind).then((reply) => {
          onReply(k, id, reply ? reply.result : null, reply ? reply.epoch : 0);
          after?.();
        });
      }
      return;
    }
    if (!sendMany) throw new Error('operations grouped by replica need a transport with sendMany');
    const max = COORDINATOR_DEFAULTS.batchOpsPerReplicaCallMax;
    for (const [id, list] of byNode) {
      // Even parts: 300 operations go as 150 + 150, not 256 + 44.
      const parts = Math.ceil(list.length / max);
      const size = Math.ceil(list.length / parts);
      for (let start = 0; start < list.length; start += size) {
        this.sendBatch(sendMany, table, id, kind, parts === 1 ? list : list.slice(start, start + size), ops, onReply, after);
      }
    }
  }

  /** One multi-operation call to one replica; its outcomes counted as sendTo counts them. */
  private sendBatch(
    sendMany: NonNullable<ReplicaTransport['sendMany']>, table: PartitionTable, id: string, kind: 'get' | 'put', ks: number[], ops: WireOp[], onReply: OnReply, after?: () => void,
  ): void {
    const node = table.nodes[id];
    const fail = (outcome: ReplicaOutcome): void => {
      this.countOutcome(kind, outcome, ks.length);
      if (outcome === 'unreachable') this.events.unreachable(id);
      for (const k of ks) onReply(k, id, null, 0);
      after?.();
    };
    if (!node) {
      queueMicrotask(() => fail('error'));
      return;
    }
    const batch = new Array<WireOp>(ks.length);
    for (let j = 0; j < ks.length; j++) batch[j] = ops[ks[j]];
    sendMany(internalAddressOf(node), table.epoch, batch).then((reply) => {
      if (reply.results.length !== ks.length) return fail('error');
      this.deps.clock.observe(reply.clock, this.deps.nowMs());
      if (reply.epoch > table.epoch) void this.deps.refreshTable();
      let ok = 0;
      let stale = 0;
      let wrongNode = 0;
      let error = 0;
      for (const res of reply.results) {
        if (res.ok) {
          if ('outcome' in res && res.outcome === 'stale') stale++;
          else ok++;
        } else if (res.code === 'FOG_ERR_WRONG_NODE') wrongNode++;
        else error++;
      }
      this.countOutcome(kind, 'ok', ok);
      this.countOutcome(kind, 'stale', stale);
      this.countOutcome(kind, 'wrong_node', wrongNode);
      this.countOutcome(kind, 'error', error);
      for (let j = 0; j < ks.length; j++) onReply(ks[j], id, reply.results[j], reply.epoch);
      after?.();
    }, () => fail('unreachable'));
  }

  private countOutcome(kind: 'get' | 'put', outcome: ReplicaOutcome, count: number): void {
    if (count === 0) return;
    if (this.events.replicaOutcomes) this.events.replicaOutcomes(kind, outcome, count);
    else for (let i = 0; i < count; i++) this.events.replicaOutcome(kind, outcome);
  }

  /**
   * after (a receipt): the answer must be that version of the key or a newer one. When the r
   * replicas asked hold only older ones, the others are asked too; when none has it,
   * FOG_ERR_RECEIPT_NOT_MET.
   */
  private async readNow(key: string, r: number, place: KeyPlacement, orderFor?: ReadOrder, after: Version | null = null, fenceRetryFrom = 0): Promise<ReadResult> {
    for (let fenceRetry = fenceRetryFrom; ; fenceRetry++) {
      const table = this.requireTable();
      const partition = partitionOf(place.placeBy ?? key, table.digits);
      const replicas = table.partitions[partition].replicas;
      if (replicas.length < r) throw quorumError('read', r, 0, replicas.length);
      const order = orderFor ? orderFor(table, partition) : this.readOrder(table, partition);
      const answers = await this.readRound(table, partition, key, order, r);
      if (answers.kind === 'fenced' && fenceRetry === 0) {
        await this.deps.refreshTable();
        continue;
      }
      if (answers.kind !== 'ok') throw quorumError('read', r, answers.replies.length, replicas.length);
      let newest: Entry | null = null;
      for (const a of answers.replies) if (a.entry && (!newest || compareEntries(a.entry, newest) > 0)) newest = a.entry;
      if (after && (!newest || compareVersions(newest.ver, after) < 0)) {
        const asked = new Set(answers.replies.map((a) => a.id));
        const others = order.filter((id) => !asked.has(id));
        const more = await this.askEach(table, partition, key, others);
        this.events.receiptRead?.(others.length);
        answers.replies.push(...more);
        for (const a of more) if (a.entry && (!newest || compareEntries(a.entry, newest) > 0)) newest = a.entry;
        if (!newest || compareVersions(newest.ver, after) < 0) {
          throw new FogError('FOG_ERR_RECEIPT_NOT_MET', undefined, { asked: answers.replies.length, replicas: replicas.length, newest: newest ? `${newest.ver.ms}.${newest.ver.c}.${newest.ver.w}` : null });
        }
      }
      if (newest) this.readRepair(table, partition, key, newest, answers.replies);
      // An expired value reads as missing, as a tombstone does (it is still the newest version:
      // repair spreads it, so no older write of the key comes back).
      if (newest && newest.value !== null && isGone(newest, this.deps.nowMs())) newest = { ver: newest.ver, value: null };
      return { entry: newest, partition, answered: answers.replies.length };
    }
  }

  /**
   * Which replicas a read asks, in order: random among live replicas, down ones last (asked
   * only if the live ones fail).
   */
  readOrder(table: PartitionTable, partition: number): string[] {
    const replicas = table.partitions[partition].replicas;
    return this.shuffle(replicas.filter((id) => table.nodes[id]?.state === 'up'))
      .concat(this.shuffle(replicas.filter((id) => table.nodes[id]?.state !== 'up')));
  }

  /**
   * A conditional write (compare-and-set, append): decide computes the new value (null: a
   * tombstone) from the current entry, or throws to refuse. Linearizable among conditional
   * writes of the key (single-key Paxos over the active replicas, see conditional.ts).
   */
  conditionalWrite(key: string, decide: Decide, w: number, place: KeyPlacement = {}, ttlMs: number | null = null): Promise<ConditionalResult> {
    return this.cas.run(key, decide, w, place.placeBy ?? key, ttlMs);
  }

  /** One page of the entries of a partition whose keys start with prefix, merged over r replicas. */
  async scan(placeBy: string, prefix: string, after: string | null, limit: number, r: number): Promise<ScanResult> {
    return this.scanPartition(partitionOf(placeBy, this.requireTable().digits), prefix, after, limit, r);
  }

  /**
   * One page of the whole keyspace (or of the partitions named), in key order: every
   * partition's replicas are asked as a quorum read asks them (r replicas, newest version
   * wins, tombstones hidden), at most `inFlightMax` partitions at once, and the pages merged.
   */
  async scanKeyspace(req: { prefix: string; after: string | null; limit: number; r: number; partitions?: number[]; inFlightMax?: number }): Promise<{ items: ScanResult['items']; next: string | null }> {
    const table = this.requireTable();
    const partitions = req.partitions ?? Array.from({ length: table.partitions.length }, (_, p) => p);
    const perPartition = perPartitionScanLimit(req.limit, partitions.length);
    const pages: PartitionScanPage[] = new Array(partitions.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < partitions.length) {
        const i = next++;
        const page = await this.scanPartition(partitions[i], req.prefix, req.after, perPartition, req.r);
        pages[i] = { items: page.items, next: page.next };
      }
    };
    const inFlight = Math.max(1, Math.min(req.inFlightMax ?? KEYSPACE_SCAN_DEFAULTS.scanPartitionsInFlightMax, partitions.length));
    await Promise.all(Array.from({ length: inFlight }, worker));
    return mergeKeyspacePages(pages, req.limit);
  }

  /** One page of one partition's entries whose keys start with prefix, merged over r replicas. */
  async scanPartition(partition: number, prefix: string, after: string | null, limit: number, r: number): Promise<ScanResult> {
    for (let fenceRetry = 0; ; fenceRetry++) {
      const table = this.requireTable();
      const replicas = table.partitions[partition].replicas;
      if (replicas.length < r) throw quorumError('read', r, 0, replicas.length);
      const order = this.readOrder(table, partition);
      const op: WireOp = { op: 'scan', p: partition, prefix, after, limit };
      const pages: ScanPageReply[] = [];
      let fenced = false;
      let next = 0;
      // Ask r replicas at once; each failure is replaced by the next replica in order.
      const ask = async (): Promise<void> => {
        while (pages.length < r && next < order.length) {
          const reply = await this.sendTo(table, order[next++], op, 'get');
          const res = reply?.result;
          if (res && res.ok && 'items' in res) {
            pages.push({ items: res.items, more: res.more });
            return;
          }
          if (res && !res.ok && res.code === 'FOG_ERR_WRONG_NODE' && reply!.epoch > table.epoch) fenced = true;
        }
      };
      await Promise.all(Array.from({ length: r }, ask));
      if (pages.length < r && fenced && fenceRetry === 0) {
        await this.deps.refreshTable();
        continue;
      }
      if (pages.length < r) throw quorumError('read', r, pages.length, replicas.length);
      return { ...mergeScanPages(pages.slice(0, r), limit), partition, answered: r };
    }
  }

  requireTable(): PartitionTable {
    const t = this.deps.table();
    if (!t) throw new FogError('FOG_ERR_NO_TABLE');
    return t;
  }

  /**
   * A replica answered with a newer table while this write was acknowledged under the old one:
   * the partition may have gained replicas we did not write to. Send them the same version
   * (idempotent) so the write is on every replica of the new table, not only on a quorum of
   * the old one. Best effort: anti-entropy covers what this misses.
   */
  private async forwardToNewReplicas(old: PartitionTable, partition: number, key: string, ver: Version, val: string | null, exp: number | undefined): Promise<void> {
    await this.deps.refreshTable();
    const table = this.deps.table();
    if (!table || table.epoch <= old.epoch) return;
    const before = new Set([...old.partitions[partition].replicas, ...old.partitions[partition].pending]);
    const entry = table.partitions[partition];
    const op: WireOp = withExp({ op: 'put', p: partition, key, ver, val }, exp);
    for (const id of [...entry.replicas, ...entry.pending]) if (!before.has(id)) void this.sendTo(table, id, op, 'put');
  }

  private putRound(
    table: PartitionTable, partition: number, key: string, ver: Version, val: string | null,
    targets: string[], active: Set<string>, w: number, exp: number | undefined,
  ): Promise<PutRound> {
    const op: WireOp = withExp({ op: 'put', p: partition, key, ver, val }, exp);
    return new Promise((resolve) => {
      let acks = 0;
      let pendingReplies = targets.length;
      let newest: Version | null = null;
      let fenced = false;
      let newerEpoch = false;
      const errors: ReplicaErrors = {};
      /** Replicas this version did not reach: told as missed writes if the round is acknowledged. */
      const missed: string[] = [];
      let acked = false;
      let done = false;
      const settle = () => {
        if (!done && acks >= w && !newest) {
          done = true;
          acked = true;
          resolve({ kind: 'acked', acks, newerEpoch });
        } else if (!done && pendingReplies === 0) {
          done = true;
          if (newest) resolve({ kind: 'stale', newest, acks });
          else resolve({ kind: fenced ? 'fenced' : 'failed', acks, errors });
        }
        // The last reply of an acknowledged round: every replica it missed is now known.
        if (acked && pendingReplies === 0) for (const id of missed) this.events.missedWrite(id, partition, key, ver, val, exp);
      };
      for (const id of targets) {
        this.sendTo(table, id, op, 'put').then((reply) => {
          pendingReplies--;
          if (!reply) missed.push(id);
          if (reply) {
            const res = reply.result;
            if (reply.epoch > table.epoch) newerEpoch = true;
            if (!res.ok) errors[res.code] = (errors[res.code] ?? 0) + 1;
            // A replica whose newer table no longer gives it the partition needs no hint: the
            // write is forwarded to the new table's replicas instead (forwardToNewReplicas).
            if (!res.ok && !(res.code === 'FOG_ERR_WRONG_NODE' && reply.epoch > table.epoch)) missed.push(id);
            if (res.ok && 'outcome' in res) {
              if (res.outcome === 'stale' && res.cur) {
                const cur = res.cur;
                if (!newest || cur.ms > newest.ms || (cur.ms === newest.ms && cur.c > newest.c)) newest = cur;
              } else if (active.has(id)) acks++;
            } else if (!res.ok && res.code === 'FOG_ERR_WRONG_NODE' && reply.epoch > table.epoch) {
              fenced = true;
            }
          }
          settle();
        });
      }
      settle();
    });
  }

  private readRound(
    table: PartitionTable, partition: number, key: string, order: string[], r: number,
  ): Promise<{ kind: 'ok' | 'failed' | 'fenced'; replies: Array<{ id: string; entry: Entry | null }> }> {
    const op: WireOp = { op: 'get', p: partition, key };
    return new Promise((resolve) => {
      const replies: Array<{ id: string; entry: Entry | null }> = [];
      let next = 0;
      let inflight = 0;
      let fenced = false;
      let done = false;
      const launch = () => {
        while (!done && inflight + replies.length < r && next < order.length) {
          const id = order[next++];
          inflight++;
          this.sendTo(table, id, op, 'get').then((reply) => {
            inflight--;
            const res = reply?.result;
            if (res && res.ok && 'entry' in res) replies.push({ id, entry: res.entry ? decodeEntry(res.entry) : null });
            else if (res && !res.ok && res.code === 'FOG_ERR_WRONG_NODE' && reply!.epoch > table.epoch) fenced = true;
            if (done) return;
            if (replies.length >= r) {
              done = true;
              resolve({ kind: 'ok', replies });
              return;
            }
            launch();
            if (inflight === 0) {
              done = true;
              resolve({ kind: fenced ? 'fenced' : 'failed', replies });
            }
          });
        }
      };
      launch();
      if (!done && inflight === 0) resolve({ kind: 'failed', replies });
    });
  }

  /** Read the key from each of these replicas at once; the answers of those that answered. */
  private async askEach(table: PartitionTable, partition: number, key: string, ids: string[]): Promise<Array<{ id: string; entry: Entry | null }>> {
    const op: WireOp = { op: 'get', p: partition, key };
    const replies = await Promise.all(ids.map(async (id) => {
      const res = (await this.sendTo(table, id, op, 'get'))?.result;
      return res && res.ok && 'entry' in res ? { id, entry: res.entry ? decodeEntry(res.entry) : null } : null;
    }));
    return replies.filter((x): x is { id: string; entry: Entry | null } => x !== null);
  }

  /** Send one op to one node; resolves null when it failed (already counted and reported). */
  async sendTo(table: PartitionTable, id: string, op: WireOp, kind: 'get' | 'put'): Promise<ReplicaReply | null> {
    const node = table.nodes[id];
    if (!node) {
      this.events.replicaOutcome(kind, 'error');
      return null;
    }
    try {
      const reply = await this.deps.transport.send(internalAddressOf(node), table.epoch, op);
      this.deps.clock.observe(reply.clock, this.deps.nowMs());
      if (reply.epoch > table.epoch) void this.deps.refreshTable();
      const res = reply.result;
      if (res.ok) this.events.replicaOutcome(kind, 'outcome' in res && res.outcome === 'stale' ? 'stale' : 'ok');
      else this.events.replicaOutcome(kind, res.code === 'FOG_ERR_WRONG_NODE' ? 'wrong_node' : 'error');
      return reply;
    } catch {
      this.events.replicaOutcome(kind, 'unreachable');
      this.events.unreachable(id);
      return null;
    }
  }

  /** n consecutive stamps, oldest first. */
  private stampBlock(n: number): Version[] {
    const out: Version[] = [];
    for (let i = 0; i < n; i++) {
      const ts = this.deps.clock.now(this.deps.nowMs());
      out.push({ ms: ts.ms, c: ts.c, w: this.deps.writerId });
    }
    return out;
  }

  /** Write the newest entry back to replicas that answered with an older one (background). */
  private readRepair(table: PartitionTable, partition: number, key: string, newest: Entry, replies: Array<{ id: string; entry: Entry | null }>): void {
    const stale = replies.filter((a) => !a.entry || compareEntries(a.entry, newest) < 0);
    if (stale.length === 0) return;
    this.events.readRepair(stale.length);
    const op: WireOp = { op: 'put', p: partition, key, ...encodeWireEntry(newest) };
    for (const a of stale) void this.sendTo(table, a.id, op, 'put');
  }

  private shuffle<T>(items: T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.deps.random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}

/**
 * Why a write failed. When every replica that answered refused for the same storage reason
 * (disk full, memory limit), that reason is the answer; otherwise a quorum error whose details
 * count the replicas' error codes.
 */
function writeFailure(required: number, acks: number, replicas: number, errors: ReplicaErrors): FogError {
  const codes = Object.keys(errors);
  const refusals = Object.values(errors).reduce((a, b) => a + b, 0);
  if (codes.length === 1 && STORAGE_REFUSALS.has(codes[0]) && acks === 0) {
    return new FogError(codes[0] as ErrorCode, undefined, { required, answered: acks, replicas, refused: refusals });
  }
  const e = quorumError('write', required, acks, replicas);
  return refusals > 0 ? new FogError(e.code, e.message, { ...e.details, replicaErrors: errors }) : e;
}

function listOf(byNode: Map<string, number[]>, id: string): number[] {
  let list = byNode.get(id);
  if (!list) byNode.set(id, (list = []));
  return list;
}

/** Indexes 0..n-1 in partition order (stable): a batch asks its replicas partition by partition. */
function byPartition(partitions: Uint32Array): number[] {
  const n = partitions.length;
  // One number per index, partition first: a typed sort needs no comparator call.
  const sortKeys = new Float64Array(n);
  for (let k = 0; k < n; k++) sortKeys[k] = partitions[k] * n + k;
  sortKeys.sort();
  const order = new Array<number>(n);
  for (let j = 0; j < n; j++) order[j] = sortKeys[j] % n;
  return order;
}

function asFogError(err: unknown): FogError {
  return err instanceof FogError ? err : new FogError('FOG_ERR_INTERNAL');
}

function withExp(op: Extract<WireOp, { op: 'put' }>, exp: number | undefined): WireOp {
  if (exp !== undefined) op.exp = exp;
  return op;
}

function quorumError(kind: 'read' | 'write', required: number, answered: number, replicas: number): FogError {
  return new FogError(
    'FOG_ERR_QUORUM_NOT_MET',
    `${kind} needed ${required} replica(s), ${answered} of ${replicas} answered`,
    { required, answered, replicas },
  );
}
