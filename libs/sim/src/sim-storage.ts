import type { ReplicaReply } from '@fog/coordinator';
import type { Entry } from '@fog/lww';
import { FogError, type HandoffReport, type OpsRequest, type PartitionTable, type WireOp } from '@fog/protocol';
import {
  ANTI_ENTROPY_DEFAULTS, ByteThrottle, COPY_DEFAULTS, ContactTracker, CopyJob, DIGEST_BUCKETS, handleDiff, handleDigest, handlePush,
  handleSummaries, handleTree, peersOf, runPass, runRound, serving, type PassLocal, type PassTransport, type RoundLimits,
} from '@fog/replica-sync';
import { PARTITION_PAGE_DEFAULTS, ReplicaEngine, pagePartition, type PartitionPage } from '@fog/storage-core';
import { readSnapshot, scanRecords, type LogRecord } from '@fog/storage-log';
import { SimDisk, type DiskRecord, type FsyncPolicy } from './disk';
import { engineLocal } from './engine-local';
import { EscapedError, type Endpoint } from './network';
import type { SimController } from './sim-controller';
import type { World } from './world';

/** Anti-entropy bounds of one request as the storage app's replier applies them. */
const AE_KEYS_PER_REQUEST_MAX = 50_000;
/** Rounds one partition's reconciliation with one peer may take (anti-entropy-loop.ts). */
const SYNC_PARTITION_ROUNDS_MAX = 64;
/** While the disk is failing: first pause between two recovery snapshots, doubling up to the max (persistence.ts). */
const DISK_RETRY_INTERVAL_MS = 1000;
const DISK_RETRY_INTERVAL_MAX_MS = 30_000;
/** How often the recovery is checked (persistence.ts: min(snapshotCheckIntervalMs, diskRetryIntervalMs)). */
const DISK_CHECK_INTERVAL_MS = 1000;
/** everysec: pause between two fsyncs of the log. */
const EVERYSEC_SYNC_INTERVAL_MS = 1000;
/** A key the planted `throw` bug trips on. */
export const PLANTED_THROW_KEY_SUFFIX = '7';

/** A storage machine: its id, disk and clock outlive each process that runs on it. */
export class StorageHost {
  readonly disk: SimDisk;
  /** This machine's clock minus the simulated time. */
  skewMs = 0;
  proc: StorageProcess | null = null;
  /** Decommissioned and gone from the table: no longer part of the cluster. */
  left = false;
  incarnation = 0;

  constructor(readonly id: string, readonly zone: string, fsync: FsyncPolicy) {
    this.disk = new SimDisk(fsync);
  }

  get address(): string {
    return `${this.id}.sim:7000`;
  }
}

interface CopySlot {
  job: CopyJob;
  epoch: number;
  cancelled: boolean;
  queued: boolean;
  reportedEpoch: number;
  reportedSources: string[];
}

/**
 * One run of the storage app on a host, minus HTTP, disk I/O and timers: the real ReplicaEngine
 * (every entry through `ingest`), replay from the simulated disk, registration and heartbeats,
 * the ops route, the anti-entropy loop (runPass on a virtual-time schedule) and its five
 * replier handlers, partition pages, CopyJob driven step by step under one ByteThrottle, and
 * released partitions dropped only after their new replicas confirmed them.
 */
export class StorageProcess implements Endpoint {
  readonly id: string;
  readonly engine: ReplicaEngine;
  readonly local: PassLocal;
  private running = true;
  private registered = false;
  private readonly tracker: ContactTracker;
  private readonly confirming = new Set<number>();
  private readonly releasedAtMs = new Map<number, number>();
  private confirmingRelease = false;
  private readonly slots = new Map<number, CopySlot>();
  private readonly queue: number[] = [];
  private copiesRunning = 0;
  private readonly throttle: ByteThrottle;
  private aeCursor = -1;
  private aeTimerAt = Infinity;
  private aeRunning = false;
  private aeKickAgain = false;
  readonly stats = { aePasses: 0, copiesReported: 0, released: 0 };
  /** Persistence's writable flag: false from a failed write or fsync until a recovery snapshot succeeds. */
  private writable = true;
  private retryDelayMs = DISK_RETRY_INTERVAL_MS;
  private nextRetryMs = 0;
  readonly replay: ReplayReport;

  constructor(readonly host: StorageHost, private readonly world: World, private readonly controller: SimController, private readonly peer: (id: string) => StorageProcess | Endpoint) {
    this.id = host.id;
    this.engine = new ReplicaEngine(host.id);
    const disk = host.disk;
    // The harness's expectation, taken before replay touches the files.
    const expected = disk.expectedReplay();
    this.replay = replayDisk(this.engine, disk, world.plant === 'replay-stops-at-damage');
    const diverged = compareReplay(this.engine, expected);
    if (diverged) world.violated('replay-diverged', `${this.id} replayed its disk into a store other than the intact records it holds: ${diverged}; scanRecords found: ${this.replay.findings.join('; ') || 'nothing'}`);
    if (this.replay.damaged) {
      world.sched.note(`${this.id} replay: ${this.replay.corruptRecords} corrupt record(s) skipped, ${this.replay.tornBytes} torn bytes cut`);
      // persistence.ts: supersede the damaged files at once with a snapshot; if that fails, retry like any disk failure.
      if (!this.writeSnapshot()) this.diskFailed('snapshot');
    } else if (this.replay.tornBytes > 0) {
      world.sched.note(`${this.id} replay: ${this.replay.tornBytes} torn bytes cut`);
    }
    this.engine.onApplied = (partition, key, entry) => {
      if (!disk.append({ kind: 'entry', partition, key, entry })) this.diskFailed(disk.failed ?? 'write');
    };
    this.engine.onDropped = (partition) => {
      if (!disk.append({ kind: 'drop', partition })) this.diskFailed(disk.failed ?? 'write');
    };
    // durability.ts: while the log is failing every write is refused (planted: the gate is left open).
    if (world.plant !== 'ack-unwritten') this.engine.writeGate = () => (this.writable ? null : 'FOG_ERR_INSUFFICIENT_STORAGE');
    this.tracker = new ContactTracker(world.timings.tombstoneGraceMs, disk.lastContactMs);
    this.local = this.makeLocal();
    const burst = Math.min(world.timings.copyBytesPerSecMax, PARTITION_PAGE_DEFAULTS.pageBytesMax);
    this.throttle = new ByteThrottle(world.timings.copyBytesPerSecMax, burst);
  }

  alive(): boolean {
    return this.running;
  }

  nowMs(): number {
    return this.world.sched.nowMs + this.host.skewMs;
  }

  start(): void {
    const t = this.world.timings;
    this.every(0, t.heartbeatIntervalMs, 'link', () => this.linkTurn());
    this.every(t.partitionDropCheckIntervalMs, t.partitionDropCheckIntervalMs, 'drop released', () => this.dropReleased());
    const disk = this.host.disk;
    if (disk.fsync === 'everysec' || disk.skipFsync) {
      this.every(EVERYSEC_SYNC_INTERVAL_MS, EVERYSEC_SYNC_INTERVAL_MS, 'fsync', () => {
        if (!disk.sync()) this.diskFailed(disk.failed ?? 'fsync');
      });
    }
    this.every(DISK_CHECK_INTERVAL_MS, DISK_CHECK_INTERVAL_MS, 'disk check', () => this.diskCheck());
    if (this.world.plant !== 'no-repair') this.kickAntiEntropy();
  }

  /** The process dies (crash or disk loss): nothing of it runs any more. */
  kill(): void {
    this.running = false;
  }

  // ---- timers and guards ----

  private every(firstMs: number, periodMs: number, what: string, fn: () => void): void {
    const turn = () => {
      if (!this.running) return;
      this.guard(what, fn);
      this.world.sched.after(periodMs, `${this.id} ${what}`, turn);
    };
    this.world.sched.after(firstMs, `${this.id} ${what}`, turn);
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.world.escaped(new EscapedError(this.id, what, err));
    }
  }

  /** Run an async step; an exception it lets out escaped the node. */
  private spawn(what: string, fn: () => Promise<void>): void {
    fn().catch((err: unknown) => {
      if (this.running) this.world.escaped(new EscapedError(this.id, what, err));
    });
  }

  // ---- the disk (persistence.ts and durability.ts, minus the file system) ----

  /** The first failed write or fsync marks the node not writable until a recovery snapshot succeeds. */
  private diskFailed(op: string): void {
    if (!this.writable) return;
    this.writable = false;
    this.retryDelayMs = DISK_RETRY_INTERVAL_MS;
    this.nextRetryMs = this.world.sched.nowMs + this.retryDelayMs;
    this.world.sched.note(`${this.id} disk failure (${op}): writes refused until the disk recovers`);
  }

  /** Persistence.tick while the disk is failing: a recovery snapshot, backing off while it fails. */
  private diskCheck(): void {
    if (this.writable) return;
    const now = this.world.sched.nowMs;
    if (now < this.nextRetryMs) return;
    if (this.writeSnapshot()) {
      this.retryDelayMs = DISK_RETRY_INTERVAL_MS;
      this.writable = true;
      this.world.sched.note(`${this.id} disk writable again: memory written to a fresh snapshot`);
    } else {
      this.nextRetryMs = now + this.retryDelayMs;
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, DISK_RETRY_INTERVAL_MAX_MS);
    }
  }

  private writeSnapshot(): boolean {
    const entries: Array<{ partition: number; key: string; entry: Entry }> = [];
    for (const p of this.engine.store.partitionIds()) for (const [key, entry] of this.engine.store.entries(p)) entries.push({ partition: p, key, entry });
    return this.host.disk.writeSnapshot(this.nowMs(), entries, this.engine.allHorizons());
  }

  /** Persistence.commit; a failure it finds marks the node not writable. */
  private commit(): boolean {
    const disk = this.host.disk;
    if (disk.commit()) return true;
    this.diskFailed(disk.failed ?? 'fsync');
    return false;
  }

  // ---- controller link ----

  private linkTurn(): void {
    const t = this.world.timings;
    if (!this.registered) {
      const st = this.engine.store.stats();
      const reg = { id: this.id, role: 'storage', address: this.host.address, zone: this.host.zone, weight: 1, empty: st.keys + st.tombstones === 0, epoch: this.engine.epoch() };
      this.world.net.rpc(this, this.controller, 'register', () => this.controller.register(reg), t.controllerRequestTimeoutMs).then((r) => {
        this.registered = true;
        if (r.table) this.adoptTable(r.table);
      }, () => undefined);
      return;
    }
    const epoch = this.engine.epoch();
    this.world.net.rpc(this, this.controller, 'heartbeat', () => this.controller.heartbeat(this.id, epoch), t.controllerRequestTimeoutMs).then((r) => {
      if (!r.known) this.registered = false;
      if (r.table) this.adoptTable(r.table);
    }, () => undefined);
  }

  refreshTable(): Promise<void> {
    return this.world.net.rpc(this, this.controller, 'table fetch', () => this.controller.table(), this.world.timings.controllerRequestTimeoutMs)
      .then((t) => {
        if (t) this.adoptTable(t);
      });
  }

  adoptTable(table: PartitionTable): void {
    const previous = this.engine.currentTable();
    const before = new Set(this.engine.heldPartitions());
    if (!this.engine.offerTable(table)) return;
    const now = this.nowMs();
    for (const p of before) if (!this.engine.holds(p) && !this.releasedAtMs.has(p)) this.releasedAtMs.set(p, now);
    for (const p of this.engine.heldPartitions()) this.releasedAtMs.delete(p);
    this.copiesOnTable(table);
    if (!previous || Object.entries(table.nodes).some(([id, n]) => n.state === 'up' && previous.nodes[id]?.state !== 'up')) this.kickAntiEntropy();
  }

  // ---- the ops route (frontends) and partition pages (copies) ----

  async ops(epoch: number, op: WireOp): Promise<ReplicaReply> {
    // A sender with a newer table knows something we do not: catch up before judging ownership.
    if (epoch > this.engine.epoch()) await this.refreshTable().catch(() => undefined);
    if (this.world.plant === 'throw' && op.op === 'put' && op.key.endsWith(PLANTED_THROW_KEY_SUFFIX) && op.key.startsWith('h')) {
      throw new Error('planted: ops handler failed');
    }
    const res = this.engine.handle({ epoch, ops: [op] } as OpsRequest, this.nowMs());
    let result = res.results[0];
    // durability.ts answerOps: a put is answered once its records are on disk as the fsync
    // policy promises; if that failed, it is refused (planted: acknowledged anyway).
    if (op.op === 'put' && result.ok && !this.commit() && this.world.plant !== 'ack-unwritten') {
      result = { ok: false, code: 'FOG_ERR_INSUFFICIENT_STORAGE', message: 'the write could not be made durable: the disk failed' };
    }
    if (op.op === 'put' && result.ok && 'outcome' in result && result.outcome === 'applied' && !this.host.disk.lastAppendWritten(op.p, op.key, op.ver)) {
      this.world.violated('ack-not-durable', `${this.id} acknowledged the write of ${op.key} at ${op.ver.ms}.${op.ver.c}.${op.ver.w} as applied, but its record is not in the log (the disk refused it)`);
    }
    if (this.world.plant === 'ack-stale' && result.ok && 'outcome' in result && result.outcome === 'stale') result = { ok: true, outcome: 'applied' };
    return { result, epoch: res.epoch, clock: res.clock };
  }

  page(p: number, after: string | null, limit: number, bytesMax: number): PartitionPage {
    const table = this.engine.currentTable();
    if (!table || !table.partitions[p]?.replicas.includes(this.id)) throw new FogError('FOG_ERR_WRONG_NODE', `not an active replica of partition ${p}`);
    return pagePartition(this.engine.keys, p, after, Math.min(limit, PARTITION_PAGE_DEFAULTS.pageKeysMax), Math.min(bytesMax, PARTITION_PAGE_DEFAULTS.pageBytesMax));
  }

  // ---- anti-entropy ----

  private makeLocal(): PassLocal {
    return engineLocal(this.engine, {
      tracker: this.tracker,
      nowMs: () => this.nowMs(),
      alsoHolds: (p) => this.confirming.has(p),
      afterContact: () => {
        this.host.disk.lastContactMs = this.tracker.lastContactMs;
      },
    });
  }

  /** The peer's replier, reached over the simulated network (requests and replies as JSON). */
  private transport(): PassTransport {
    const timeout = this.world.timings.antiEntropyRequestTimeoutMs;
    const call = <T>(peerId: string, what: string, handle: (peer: StorageProcess) => T): Promise<T> => {
      const peer = this.peer(peerId);
      return this.world.net.rpc(this, peer, what, () => {
        if (!(peer instanceof StorageProcess)) throw new FogError('FOG_ERR_NODE_NOT_FOUND');
        return wire(handle(peer));
      }, timeout);
    };
    return {
      tree: (id, req) => call(id, 'ae tree', (p) => handleTree(p.local, wire(req))),
      summaries: (id, req) => call(id, 'ae summaries', (p) => handleSummaries(p.local, wire(req))),
      digest: (id, req) => call(id, 'ae digest', (p) => handleDigest(p.local, wire(req))),
      diff: (id, req) => call(id, 'ae diff', (p) => handleDiff(p.local, wire(req), AE_KEYS_PER_REQUEST_MAX, ANTI_ENTROPY_DEFAULTS.entryBytesPerMessageMax).reply),
      push: (id, req) => call(id, 'ae push', (p) => handlePush(p.local, wire(req))),
    };
  }

  private roundLimits(): RoundLimits {
    return { buckets: DIGEST_BUCKETS, keysPerRoundMax: ANTI_ENTROPY_DEFAULTS.keysPerRoundMax, entryBytesPerMessageMax: ANTI_ENTROPY_DEFAULTS.entryBytesPerMessageMax };
  }

  /** Run a pass as soon as possible (after the one running now). */
  private kickAntiEntropy(): void {
    if (this.world.plant === 'no-repair') return;
    if (this.aeRunning) {
      this.aeKickAgain = true;
      return;
    }
    this.scheduleAntiEntropy(0);
  }

  private scheduleAntiEntropy(delayMs: number): void {
    const at = this.world.sched.nowMs + delayMs;
    if (at >= this.aeTimerAt) return;
    this.aeTimerAt = at;
    this.world.sched.at(at, `${this.id} anti-entropy`, () => {
      if (!this.running || this.aeTimerAt !== at) return;
      this.aeTimerAt = Infinity;
      this.aeRunning = true;
      this.antiEntropyPass().then((workLeft) => {
        this.aeRunning = false;
        const again = this.aeKickAgain;
        this.aeKickAgain = false;
        const t = this.world.timings;
        if (this.running) this.scheduleAntiEntropy(again || workLeft ? t.antiEntropyCatchUpDelayMs : t.antiEntropyIntervalMs);
      }, (err: unknown) => {
        this.aeRunning = false;
        if (this.running) this.world.escaped(new EscapedError(this.id, 'anti-entropy pass', err));
      });
    });
  }

  private async antiEntropyPass(): Promise<boolean> {
    const table = this.engine.currentTable();
    if (!table) return false;
    const held = this.engine.heldPartitions();
    const peers = new Set<string>();
    for (const p of held) for (const id of peersOf(table, p, this.id)) peers.add(id);
    if (peers.size === 0) return false;
    this.stats.aePasses++;
    const stats = await runPass(this.local, this.transport(), [...peers].sort(), {
      ...this.roundLimits(), summariesPerRequestMax: ANTI_ENTROPY_DEFAULTS.summariesPerRequestMax, partitionsPerPeerPerPassMax: ANTI_ENTROPY_DEFAULTS.partitionsPerRoundMax,
    }, this.aeCursor);
    if (!this.running) return false;
    this.tracker.onSynced(stats.synced);
    if (stats.differingListed.length > 0) this.aeCursor = stats.differingListed[stats.differingListed.length - 1];
    if (stats.peerEpochMax > this.engine.epoch()) void this.refreshTable().catch(() => undefined);
    return stats.workLeft;
  }

  // ---- released partitions ----

  private dropReleased(): void {
    if (this.confirmingRelease) return;
    const now = this.nowMs();
    for (const [p, at] of this.releasedAtMs) {
      if (now - at < this.world.timings.partitionDropDelayMs) continue;
      this.confirmingRelease = true;
      this.confirmRelease(p).catch(() => false).then((confirmed) => {
        this.confirmingRelease = false;
        if (!this.running || !confirmed || this.engine.holds(p) || !this.releasedAtMs.has(p)) return;
        this.releasedAtMs.delete(p);
        this.engine.dropPartition(p);
        this.stats.released++;
        this.world.sched.note(`${this.id} dropped released partition ${p} after its replicas confirmed`);
      }, (err: unknown) => this.world.escaped(new EscapedError(this.id, 'drop released', err)));
      return;
    }
  }

  private async confirmRelease(p: number): Promise<boolean> {
    const table = this.engine.currentTable();
    if (!table || this.engine.holds(p)) return false;
    const entry = table.partitions[p];
    if (!entry || entry.pending.length > 0 || entry.replicas.length === 0) return false;
    if (!entry.replicas.every((id) => serving(table.nodes[id]?.state))) return false;
    this.confirming.add(p);
    try {
      const stats = await runRound(this.local, this.transport(), { partitions: [p], peersOf: () => [...entry.replicas] }, this.roundLimits());
      return stats.failedExchanges === 0 && stats.synced.includes(p);
    } finally {
      this.confirming.delete(p);
    }
  }

  // ---- partition copies (handoff.ts, minus HTTP) ----

  private copiesOnTable(table: PartitionTable): void {
    table.partitions.forEach((entry, p) => {
      const pending = entry.pending.includes(this.id);
      const slot = this.slots.get(p);
      if (pending && !slot) {
        this.slots.set(p, { job: new CopyJob(p, this.id, this.nowMs(), COPY_DEFAULTS), epoch: table.epoch, cancelled: false, queued: false, reportedEpoch: 0, reportedSources: [] });
        this.enqueueCopy(p);
      } else if (pending && slot?.job.done && table.epoch > slot.reportedEpoch + 1) {
        // Still pending several tables after the copy was reported: the report was lost. Say it again.
        slot.reportedEpoch = table.epoch;
        const pr = slot.job.progress;
        const report: HandoffReport = { partition: p, epoch: table.epoch, keysCopied: pr.keys, bytesCopied: pr.bytes, done: true, sources: slot.reportedSources, keysRecovered: pr.recoveredKeys };
        void this.world.net.rpc(this, this.controller, 'copy report', () => this.controller.handoff(this.id, report), this.world.timings.controllerRequestTimeoutMs).catch(() => undefined);
      } else if (!pending && slot) {
        slot.cancelled = true;
        this.slots.delete(p);
      } else if (pending && slot && !slot.job.done && !slot.queued) {
        this.enqueueCopy(p);
      }
    });
    this.pumpCopies();
  }

  private enqueueCopy(p: number): void {
    const slot = this.slots.get(p);
    if (!slot || slot.queued || slot.cancelled) return;
    slot.queued = true;
    this.queue.push(p);
  }

  private pumpCopies(): void {
    while (this.running && this.copiesRunning < this.world.timings.copiesConcurrentMax && this.queue.length > 0) {
      const p = this.queue.shift()!;
      const slot = this.slots.get(p);
      if (!slot || slot.cancelled) continue;
      slot.queued = false;
      this.copiesRunning++;
      this.spawn('partition copy', () => this.runCopy(p, slot).finally(() => {
        this.copiesRunning--;
        this.pumpCopies();
      }));
    }
  }

  private async runCopy(p: number, slot: CopySlot): Promise<void> {
    const job = slot.job;
    for (;;) {
      const table = this.engine.currentTable();
      if (slot.cancelled || !this.running || !table) return;
      const step = job.next(table, this.nowMs());
      if (step.kind === 'done') return;
      if (step.kind === 'wait') {
        this.world.sched.after(Math.max(1, step.untilMs - this.nowMs()), `${this.id} copy ${p} retry`, () => {
          if (!this.running) return;
          this.enqueueCopy(p);
          this.pumpCopies();
        });
        return;
      }
      const source = step.kind === 'page' ? step.source : step.kind === 'reconcile' ? step.peer : '';
      try {
        if (step.kind === 'page') await this.copyPage(p, slot, step.source, step.after);
        else if (step.kind === 'reconcile') await this.copyReconcile(p, slot, step.peer);
        else await this.copyReport(p, slot, step.sources);
      } catch (err) {
        if (!(err instanceof Error) || err instanceof EscapedError) throw err;
        if (slot.cancelled || !this.running) return;
        job.onFailure(source, this.nowMs());
        this.world.sched.note(`${this.id} copy of ${p}: ${step.kind}${source ? ` with ${source}` : ''} failed (${err.message}); retry`);
      }
    }
  }

  private async copyPage(p: number, slot: CopySlot, source: string, after: string | null): Promise<void> {
    const peer = this.peer(source);
    const bytesMax = Math.max(1, Math.floor(Math.min(this.world.timings.copyBytesPerSecMax, PARTITION_PAGE_DEFAULTS.pageBytesMax) / this.world.timings.copiesConcurrentMax));
    const page = await this.world.net.rpc(this, peer, 'partition page', () => {
      if (!(peer instanceof StorageProcess)) throw new FogError('FOG_ERR_NODE_NOT_FOUND');
      return wire(peer.page(p, after, PARTITION_PAGE_DEFAULTS.pageKeysMax, bytesMax));
    }, this.world.timings.copyRequestTimeoutMs);
    if (slot.cancelled || !this.running) return;
    let bytes = 0;
    for (const e of page.entries) {
      const value = e.val === null ? null : Buffer.from(e.val, 'base64');
      const r = this.engine.ingest('copy', p, e.key, { ver: e.ver, value });
      if (r.outcome === 'refused') throw new Error(`entry refused: ${r.code}`);
      bytes += value ? value.length : 0;
    }
    slot.job.onPage(source, page.entries.length, bytes, page.next);
    const waitMs = this.throttle.reserve(bytes, this.world.sched.nowMs);
    if (waitMs > 0) await this.world.sched.sleep(waitMs);
  }

  private async copyReconcile(p: number, slot: CopySlot, peer: string): Promise<void> {
    if (this.world.plant === 'copy-one-source') {
      // Planted: claim the reconciliation happened without exchanging anything.
      slot.job.onReconciled(peer, true, 0, 0, this.nowMs());
      return;
    }
    let pulled = 0;
    let synced = false;
    for (let i = 0; i < SYNC_PARTITION_ROUNDS_MAX; i++) {
      const stats = await runRound(this.local, this.transport(), { partitions: [p], peersOf: () => [peer] }, this.roundLimits());
      pulled += stats.pulled;
      if (stats.failedExchanges > 0) throw new Error(`anti-entropy exchange with ${peer} failed`);
      if (stats.synced.includes(p) || !stats.divergence.has(p)) {
        synced = stats.synced.includes(p);
        break;
      }
    }
    if (slot.cancelled || !this.running) return;
    slot.job.onReconciled(peer, synced, pulled, 0, this.nowMs());
  }

  private async copyReport(p: number, slot: CopySlot, sources: string[]): Promise<void> {
    // Reported only once on disk as the fsync policy promises: the old replica may go after it.
    if (!this.commit()) throw new Error('the copy could not be made durable: the disk failed');
    const pr = slot.job.progress;
    const report: HandoffReport = { partition: p, epoch: slot.epoch, keysCopied: pr.keys, bytesCopied: pr.bytes, done: true, sources, keysRecovered: pr.recoveredKeys };
    await this.world.net.rpc(this, this.controller, 'copy report', () => this.controller.handoff(this.id, report), this.world.timings.controllerRequestTimeoutMs);
    slot.job.onReported();
    slot.reportedSources = sources;
    slot.reportedEpoch = this.engine.epoch();
    this.stats.copiesReported++;
    this.world.sched.note(`${this.id} copied partition ${p} from ${sources.join(',')} (${pr.keys} keys, ${pr.recoveredKeys} recovered)`);
  }
}

/** Through JSON, as on the wire: no object is shared between two processes. */
function wire<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

export interface ReplayReport {
  snapshotEntries: number;
  logRecords: number;
  segments: number;
  corruptRecords: number;
  tornBytes: number;
  /** What scanRecords reported, segment by segment (for a failure's detail). */
  findings: string[];
  /** Corrupt records or a damaged snapshot: a recovery snapshot supersedes the files. */
  damaged: boolean;
}

/**
 * Persistence.load, minus the file system: load the snapshot (readSnapshot over scanRecords),
 * then replay the log segments it does not cover through scanRecords, cutting a torn tail and
 * skipping corrupt records; then open a new segment for appending. Planted
 * (`replay-stops-at-damage`): a corrupt record is taken for the end of the log, and the
 * segment is cut there.
 */
export function replayDisk(engine: ReplicaEngine, disk: SimDisk, stopAtDamage = false): ReplayReport {
  const report: ReplayReport = { snapshotEntries: 0, logRecords: 0, segments: 0, corruptRecords: 0, tornBytes: 0, findings: [], damaged: false };
  const files = disk.files();
  let firstSegment = 0;
  if (files.snapshot) {
    const scan = scanRecords(files.snapshot);
    const snap = readSnapshot(scan);
    for (const { partition, key, entry } of snap.entries) engine.ingest('replay', partition, key, entry);
    for (const { partition, ms } of snap.horizons) engine.raiseHorizon(partition, ms);
    report.snapshotEntries = snap.entries.length;
    firstSegment = snap.firstSegment;
    if (snap.problems.length) {
      report.damaged = true;
      report.corruptRecords += scan.corrupt.length;
      firstSegment = 0;
    }
  }
  for (const { seq, bytes } of files.segments) {
    if (seq < firstSegment) {
      disk.deleteSegmentsBefore(seq + 1);
      continue;
    }
    report.segments++;
    let scan = scanRecords(bytes);
    if (stopAtDamage && scan.corrupt.length > 0) {
      const cut = scan.corrupt[0].offset;
      scan = { ...scanRecords(bytes.subarray(0, cut)), validBytes: cut, tornBytes: bytes.length - cut, corrupt: [] };
    }
    for (const rec of scan.records) applyReplayed(engine, rec);
    report.logRecords += scan.records.length;
    for (const c of scan.corrupt) report.findings.push(`segment ${seq}: corrupt region at ${c.offset}, ${c.bytes} bytes (${c.reason})`);
    if (scan.tornBytes > 0) report.findings.push(`segment ${seq}: torn tail at ${scan.validBytes}, ${scan.tornBytes} bytes (${scan.tornReason})`);
    if (scan.tornBytes > 0) {
      report.tornBytes += scan.tornBytes;
      disk.truncateSegment(seq, scan.validBytes);
    }
    if (scan.corrupt.length > 0) {
      report.damaged = true;
      report.corruptRecords += scan.corrupt.length;
    }
  }
  disk.openSegment();
  return report;
}

function applyReplayed(engine: ReplicaEngine, rec: LogRecord | DiskRecord): void {
  if (rec.kind === 'entry') engine.ingest('replay', rec.partition, rec.key, rec.entry);
  else if (rec.kind === 'horizon') engine.raiseHorizon(rec.partition, rec.ms);
  else if (rec.kind === 'drop') engine.dropPartition(rec.partition);
}

/**
 * How a replayed store differs from the store the intact records (the harness's own list of
 * what the disk was given, minus what was never synced, torn or damaged) make; null when equal.
 */
export function compareReplay(engine: ReplicaEngine, expected: readonly DiskRecord[]): string | null {
  const ref = new ReplicaEngine(engine.nodeId);
  for (const rec of expected) applyReplayed(ref, rec);
  const parts = new Set([...engine.store.partitionIds(), ...ref.store.partitionIds()]);
  for (const p of [...parts].sort((a, b) => a - b)) {
    if (engine.horizonMs(p) !== ref.horizonMs(p)) return `partition ${p}: horizon ${engine.horizonMs(p)}, expected ${ref.horizonMs(p)}`;
    const got = new Map(engine.store.entries(p));
    const want = new Map(ref.store.entries(p));
    for (const [key, e] of want) {
      const g = got.get(key);
      if (!g) return `partition ${p}: ${key} missing (expected version ${e.ver.ms}.${e.ver.c}.${e.ver.w})`;
      if (g.ver.ms !== e.ver.ms || g.ver.c !== e.ver.c || g.ver.w !== e.ver.w || !sameValue(g.value, e.value)) return `partition ${p}: ${key} replayed as ${g.ver.ms}.${g.ver.c}.${g.ver.w}, expected ${e.ver.ms}.${e.ver.c}.${e.ver.w}`;
    }
    for (const key of got.keys()) if (!want.has(key)) return `partition ${p}: ${key} replayed but no intact record holds it`;
  }
  return null;
}

function sameValue(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}
