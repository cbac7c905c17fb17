import type { ControllerState } from '@fog/cluster';
import type { PartitionTable } from '@fog/protocol';
import type { FsyncPolicy } from './disk';
import { History, compareVersions, formatVer, type OpRecord } from './history';
import { CALM_NETWORK, EscapedError, SimNetwork, type Endpoint } from './network';
import { Rng } from './rng';
import { Scheduler, TRACE_LINES_MAX } from './scheduler';
import { SimController, type TableSink } from './sim-controller';
import { FrontendProcess } from './sim-frontend';
import { StorageHost, StorageProcess } from './sim-storage';
import { PROCESS_TIMINGS, type DiskInvariant, type PlantedBug, type ProcessTimings, type World } from './world';

export const FAULT_KINDS = [
  'crash', 'long-crash', 'disk-loss', 'power-loss', 'isolate', 'one-way', 'controller-cut', 'frontend-cut',
  'lossy', 'clock-jump', 'frontend-restart', 'controller-restart', 'join', 'decommission',
  'torn-crash', 'corrupt-record', 'disk-full', 'fsync-error',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The shape of one run, each bound with its unit in its name. */
export interface SimOptions {
  seed: number;
  plant: PlantedBug | null;
  storageNodesInitial: number;
  /** Storage nodes that may join during the run. */
  joinsMax: number;
  redundancy: number;
  digits: number;
  frontends: number;
  /** Virtual time with faults and client traffic. */
  faultPhaseMs: number;
  /** After faults stop, every replica must converge within this much virtual time. */
  convergeWithinMs: number;
  clientOpsPerSecMax: number;
  hotKeys: number;
  /** Quiet virtual time after a node fault ends before the next one may start. */
  faultGapMs: number;
  /** Largest clock skew of a process, either way. */
  clockSkewMsMax: number;
  /** Frontends keep hints of missed writes (--hints-per-node-max 0 turns them off). */
  hintsEnabled: boolean;
  /** Overrides of the processes' timings (world.ts). */
  timings: Partial<ProcessTimings>;
  /** Events kept for a failure's trace. */
  traceLines: number;
  /** The fault kinds this run may draw from (swarm weights apply among them); default: all. */
  faultKinds: readonly FaultKind[];
  /**
   * The storage nodes' fsync policy; null: drawn from the seed (everysec in about one run in
   * EVERYSEC_RUN_SHARE, always otherwise; always when a bug is planted).
   */
  fsync: FsyncPolicy | null;
}

/** Share of runs whose storage nodes run with fsync everysec when the seed draws the policy. */
export const EVERYSEC_RUN_SHARE = 0.25;

/** The configuration the copy bug's self-test runs in (see the Cluster constructor). */
export const COPY_BUG_TIMINGS: Partial<ProcessTimings> = { antiEntropyIntervalMs: 120_000 };
/** Convergence bound in that configuration: more than one anti-entropy interval. */
export const COPY_BUG_CONVERGE_WITHIN_MS = 180_000;
/**
 * Client load in that configuration. The frontends coalesce concurrent reads and writes of one
 * key, so at the default load too few reads reach a stale copy before repair: more load makes
 * the bug show within a few seeds.
 */
export const COPY_BUG_CLIENT_OPS_PER_SEC_MAX = 200;

export const SIM_DEFAULTS: Omit<SimOptions, 'seed'> = {
  plant: null,
  storageNodesInitial: 5,
  joinsMax: 1,
  redundancy: 3,
  digits: 1,
  frontends: 2,
  faultPhaseMs: 60_000,
  convergeWithinMs: 60_000,
  clientOpsPerSecMax: 40,
  hotKeys: 8,
  faultGapMs: 3_000,
  clockSkewMsMax: 2_000,
  hintsEnabled: true,
  timings: {},
  faultKinds: FAULT_KINDS,
  traceLines: TRACE_LINES_MAX,
  fsync: null,
};

/**
 * The fault mix the self-test runs each planted bug under: the faults that can expose it, so
 * that it is caught within a few seeds (the full mix catches them too, over more seeds).
 */
export const PLANTED_BUG_FAULTS: Record<PlantedBug, readonly FaultKind[]> = {
  'copy-one-source': ['frontend-cut', 'long-crash', 'crash', 'lossy'],
  'lose-synced': ['power-loss', 'crash', 'lossy'],
  'no-repair': FAULT_KINDS,
  'ack-stale': FAULT_KINDS,
  throw: FAULT_KINDS,
  'stale-controller-state': ['controller-restart', 'crash', 'join'],
  'k-minus-one': FAULT_KINDS,
  'replay-stops-at-damage': ['corrupt-record', 'crash', 'lossy'],
  'ack-unwritten': ['disk-full', 'fsync-error', 'crash'],
};

/** Bounds of the harness itself, each with its unit in its name. */
const HARNESS_LIMITS = {
  /** Before the first client operation and fault: the first table forms. */
  warmupMs: 2_000,
  /** Client operations in flight at once; beyond it the workload skips a turn. */
  clientOpsInFlightMax: 64,
  /** How often convergence is checked after the faults stop. */
  convergenceCheckIntervalMs: 250,
  /** How often every process's epoch is audited. */
  epochAuditIntervalMs: 500,
  /** The final r=all reads must all answer within this much virtual time. */
  finalReadsWithinMs: 30_000,
  /** No fault starts this close to the end of the fault phase. */
  faultPhaseTailMs: 5_000,
} as const;

export type Invariant = 'lost-write' | 'order-inverted' | 'stale-quorum-read' | 'no-convergence' | 'epoch-regressed' | 'replicas-short' | 'exception-escaped' | DiskInvariant;

export interface SimFailure {
  invariant: Invariant;
  detail: string;
  atMs: number;
  trace: string[];
}

export interface SimResult {
  seed: number;
  plant: PlantedBug | null;
  /** Which fault kinds the run drew from: all, the self-test's mix for its planted bug, or another list. */
  faultMix: 'all' | 'self-test' | 'custom';
  /** The fault kinds drawn from (for the replay command of a custom mix). */
  faultKinds: readonly FaultKind[];
  failure: SimFailure | null;
  /** Virtual time simulated. */
  virtualMs: number;
  /** From the end of faults to convergence (null: did not converge, or the run stopped early). */
  convergenceMs: number | null;
  faults: number;
  events: number;
  messages: number;
  ops: ReturnType<History['counts']>;
  finalEpoch: number;
  /** The controller's members at the end, with the partitions each is an active replica of. */
  finalMembers: Array<{ id: string; role: string; state: string; activePartitions: number }>;
  /** Storage nodes that some published table marked out, sorted. */
  nodesEverOut: string[];
  fsync: FsyncPolicy;
  /** Disk events over every storage machine of the run (SimDisk stats, summed). */
  disk: SimDiskTotals;
}

export interface SimDiskTotals {
  tornCrashes: number;
  corruptions: number;
  writeErrors: number;
  fsyncErrors: number;
  snapshots: number;
  snapshotsFailed: number;
}

/** Everything of one run; `runSimulation` drives it. */
export class Cluster implements World {
  readonly sched: Scheduler;
  readonly rng: Rng;
  readonly net: SimNetwork;
  readonly timings: ProcessTimings;
  readonly fsync: FsyncPolicy;
  readonly plant: PlantedBug | null;
  readonly hintsEnabled: boolean;
  readonly controller: SimController;
  readonly hosts = new Map<string, StorageHost>();
  readonly frontends: FrontendProcess[] = [];
  readonly history = new History();
  failure: SimFailure | null = null;
  faults = 0;
  private readonly faultRng: Rng;
  /**
   * Swarm testing: each seed weighs the fault kinds differently (some not at all), so that some
   * seeds pile up one kind of fault (disk losses one after another) that an even mix rarely does.
   */
  private readonly swarm: FaultKind[] = [];
  private readonly workRng: Rng;
  private lastEpoch = 0;
  private readonly seenEpochs = new Map<Endpoint, number>();
  private nodeFaultUntilMs = 0;
  private firstControllerState: ControllerState | null = null;
  /** Frontends cut from one storage node: may overlap one node fault (still within K-1 replicas). */
  private cutFaultUntilMs = 0;
  private joined = 0;
  private uniqueKeys = 0;
  private inFlight = 0;
  private readonly deadFrontend: Endpoint = { id: 'none', alive: () => false };
  /** Storage nodes some published table marked out. */
  private readonly nodesEverOut = new Set<string>();

  constructor(readonly opts: SimOptions) {
    this.sched = new Scheduler(opts.traceLines);
    this.rng = new Rng(opts.seed);
    this.plant = opts.plant;
    // Hints and anti-entropy at its default interval repair a stale replica within a second,
    // before a copy from it can matter: the copy bug's self-test runs with hints off and a long
    // anti-entropy interval (both allowed configurations), where a stale source lasts.
    this.timings = { ...PROCESS_TIMINGS, ...opts.timings, ...(opts.plant === 'copy-one-source' ? COPY_BUG_TIMINGS : {}) };
    this.hintsEnabled = opts.hintsEnabled && opts.plant !== 'copy-one-source' && opts.plant !== 'no-repair';
    this.faultRng = this.rng.fork();
    this.workRng = this.rng.fork();
    const fsyncDraw = this.rng.next();
    this.fsync = opts.fsync ?? (opts.plant === null && fsyncDraw < EVERYSEC_RUN_SHARE ? 'everysec' : 'always');
    for (const kind of opts.faultKinds) for (let w = this.faultRng.int(0, 3); w > 0; w--) this.swarm.push(kind);
    if (this.swarm.length === 0) this.swarm.push(opts.faultKinds[0] ?? 'crash');
    this.net = new SimNetwork(this.sched, this.rng.fork(), (e) => this.escaped(e));
    const placed = opts.plant === 'k-minus-one' ? opts.redundancy - 1 : opts.redundancy;
    this.controller = new SimController(this, { expectedStorage: opts.storageNodesInitial, redundancy: placed, digits: opts.digits }, () => this.sinks());
    this.controller.onPublish = (t) => {
      for (const n of Object.values(t.nodes)) if (n.state === 'out') this.nodesEverOut.add(n.id);
      this.checkTable(t);
    };
  }

  escaped(e: EscapedError): void {
    this.fail('exception-escaped', e.message.split('\n').slice(0, 4).join('\n'));
  }

  violated(invariant: DiskInvariant, detail: string): void {
    this.fail(invariant, detail);
  }

  fail(invariant: Invariant, detail: string): void {
    if (this.failure) return;
    this.sched.note(`INVARIANT ${invariant}: ${detail.split('\n')[0]}`);
    this.failure = { invariant, detail, atMs: this.sched.nowMs, trace: this.sched.lastTrace() };
    this.sched.stopped = true;
  }

  // ---- processes ----

  private sinks(): TableSink[] {
    const out: TableSink[] = [];
    for (const h of this.hosts.values()) if (h.proc) out.push(h.proc);
    for (const f of this.frontends) out.push(f);
    return out;
  }

  storageById = (id: string): StorageProcess | Endpoint => this.hosts.get(id)?.proc ?? this.deadFrontend;

  storageAt = (address: string): StorageProcess | Endpoint => {
    for (const h of this.hosts.values()) if (h.address === address) return h.proc ?? this.deadFrontend;
    return this.deadFrontend;
  };

  addHost(): StorageHost {
    const id = `s${this.hosts.size + 1}`;
    const host = new StorageHost(id, `zone-${this.hosts.size % 3}`, this.fsync);
    host.disk.skipFsync = this.plant === 'lose-synced';
    host.skewMs = this.rng.int(-this.opts.clockSkewMsMax / 4, this.opts.clockSkewMsMax / 4);
    this.hosts.set(id, host);
    this.startStorage(host);
    return host;
  }

  startStorage(host: StorageHost): void {
    host.incarnation++;
    host.proc = new StorageProcess(host, this, this.controller, this.storageById);
    host.proc.start();
  }

  /**
   * A crash of an fsync always node is taken as a machine crash (only what was synced
   * survives: the stronger promise); of an everysec node as a process crash (what was written
   * survives), since a machine crash may lose its last second of acknowledged writes, as
   * documented. `restart`: the process stops and the machine stays up. `torn`: a machine crash
   * with a write in flight, `tornFraction` of which reached the disk.
   */
  stopStorage(host: StorageHost, how: 'crash' | 'disk loss' | 'restart' | 'torn', tornFraction = 0.5): void {
    host.proc?.kill();
    host.proc = null;
    if (how === 'disk loss') host.disk.wipe();
    else if (how === 'torn') host.disk.crash('machine', tornFraction);
    else host.disk.crash(how === 'crash' && host.disk.fsync === 'always' ? 'machine' : 'process');
  }

  startFrontend(i: number, skewMs: number): void {
    const f = new FrontendProcess(`f${i + 1}`, this, this.controller, this.storageAt, skewMs);
    this.frontends[i] = f;
    f.start();
  }

  // ---- invariants checked as the run goes ----

  private checkTable(t: PartitionTable): void {
    if (t.epoch <= this.lastEpoch) this.fail('epoch-regressed', `controller published epoch ${t.epoch} after ${this.lastEpoch}`);
    this.lastEpoch = t.epoch;
    const up = Object.values(t.nodes).filter((n) => n.state === 'up').length;
    const k = this.opts.redundancy;
    if (up < k) return;
    t.partitions.forEach((e, p) => {
      const distinct = new Set([...e.replicas, ...e.pending]).size;
      if (distinct < k) this.fail('replicas-short', `epoch ${t.epoch}: partition ${p} has ${distinct} distinct replicas with ${up} nodes up, K=${k}`);
    });
  }

  /** Every process's epoch only grows within one run of it. */
  private auditEpochs(): void {
    const procs: Array<{ ep: Endpoint; epoch: number }> = [];
    for (const h of this.hosts.values()) if (h.proc) procs.push({ ep: h.proc, epoch: h.proc.engine.epoch() });
    for (const ep of [...this.seenEpochs.keys()]) if (!ep.alive()) this.seenEpochs.delete(ep);
    for (const { ep, epoch } of procs) {
      const seen = this.seenEpochs.get(ep) ?? 0;
      if (epoch < seen) this.fail('epoch-regressed', `${ep.id} went from epoch ${seen} to ${epoch}`);
      this.seenEpochs.set(ep, epoch);
    }
  }

  // ---- workload ----

  private clientOp(): void {
    const live = this.frontends.filter((f) => f.alive() && f.hasTable());
    if (live.length === 0 || this.inFlight >= HARNESS_LIMITS.clientOpsInFlightMax) return;
    const fe = this.workRng.pick(live);
    const r = this.workRng.next();
    const quorum = Math.floor(this.opts.redundancy / 2) + 1;
    if (r < 0.35) {
      this.write(fe, `u${this.uniqueKeys++}`, quorum);
    } else if (r < 0.7) {
      this.write(fe, `h${this.workRng.int(0, this.opts.hotKeys - 1)}`, quorum);
    } else {
      const keys = this.history.ackedKeys();
      const key = keys.length > 0 && this.workRng.chance(0.5) ? this.workRng.pick(keys) : `h${this.workRng.int(0, this.opts.hotKeys - 1)}`;
      this.read(fe, key, quorum);
    }
  }

  private write(fe: FrontendProcess, key: string, w: number): void {
    const del = key.startsWith('h') && this.workRng.chance(0.05);
    const op = this.history.begin('write', key, fe.id, this.sched.nowMs, null);
    op.value = del ? null : `v${op.id}`;
    this.inFlight++;
    fe.coordinator.write(key, op.value === null ? null : Buffer.from(op.value), w).then((res) => {
      this.inFlight--;
      op.endMs = this.sched.nowMs;
      op.ok = true;
      op.ver = res.ver;
      const before = this.history.newestAckedBefore(key, op.startMs);
      if (before && compareVersions(res.ver, before.ver!) <= 0) {
        this.fail('order-inverted', `write #${op.id} of ${key} started at ${op.startMs} after write #${before.id} was acknowledged at ${before.endMs} with ${formatVer(before.ver)}, but was acknowledged with the older ${formatVer(res.ver)}`);
      }
      this.history.recordAck(op);
      this.sched.note(`${fe.id} write #${op.id} ${key} acked ${formatVer(res.ver)}`);
    }, (err: Error) => {
      this.inFlight--;
      op.endMs = this.sched.nowMs;
      op.ok = false;
      op.error = (err as { code?: string }).code ?? err.message;
    });
  }

  private read(fe: FrontendProcess, key: string, r: number): void {
    const op = this.history.begin('read', key, fe.id, this.sched.nowMs, null);
    this.inFlight++;
    fe.coordinator.read(key, r).then((res) => {
      this.inFlight--;
      op.endMs = this.sched.nowMs;
      op.ok = true;
      op.ver = res.entry?.ver ?? null;
      op.value = res.entry?.value ? res.entry.value.toString() : null;
      const before = this.history.newestAckedBefore(key, op.startMs);
      if (before && (!op.ver || compareVersions(op.ver, before.ver!) < 0)) {
        this.fail('stale-quorum-read', `read #${op.id} of ${key} at r=${r} started at ${op.startMs} returned ${formatVer(op.ver)}, older than write #${before.id} acknowledged at ${before.endMs} (w=quorum) with ${formatVer(before.ver)}`);
      }
    }, (err: Error) => {
      this.inFlight--;
      op.endMs = this.sched.nowMs;
      op.ok = false;
      op.error = (err as { code?: string }).code ?? err.message;
    });
  }

  // ---- faults ----

  private liveHosts(): StorageHost[] {
    return [...this.hosts.values()].filter((h) => h.proc && !h.left && !this.leaving(h.id));
  }

  private leaving(id: string): boolean {
    const s = this.controller.core.member(id)?.state;
    return s === 'leaving' || s === 'left';
  }

  private settled(): boolean {
    const t = this.controller.core.table();
    return t !== null && t.partitions.every((e) => e.pending.length === 0) && Object.values(t.nodes).every((n) => n.state === 'up');
  }

  private injectFault(): void {
    const rng = this.faultRng;
    const now = this.sched.nowMs;
    const nodeFaultFree = now >= this.nodeFaultUntilMs;
    const kind = this.swarm[rng.int(0, this.swarm.length - 1)];
    const note = (s: string) => {
      this.faults++;
      this.sched.note(`FAULT ${s}`);
    };
    const busyUntil = (ms: number) => {
      this.nodeFaultUntilMs = now + ms + this.opts.faultGapMs;
    };
    const live = this.liveHosts();
    const restartAfter = (host: StorageHost, downMs: number) => this.sched.after(downMs, `restart ${host.id}`, () => {
      if (host.proc) return;
      this.startStorage(host);
      this.sched.note(`restart ${host.id}`);
    });
    switch (kind) {
      case 'torn-crash': {
        // A machine crash in the middle of a write: only fsync always nodes (see stopStorage).
        if (!nodeFaultFree || live.length === 0 || this.fsync !== 'always') return;
        const host = rng.pick(live);
        const downMs = rng.int(500, 8_000);
        this.stopStorage(host, 'torn', rng.next());
        note(`torn-crash ${host.id} for ${downMs} ms (a partial record left at the end of its log)`);
        busyUntil(downMs);
        restartAfter(host, downMs);
        return;
      }
      case 'corrupt-record': {
        // Media damage in a synced record, found when the node next starts: it restarts now.
        if (!nodeFaultFree || live.length === 0 || !this.settled()) return;
        const host = rng.pick(live);
        // Half the time one flipped bit, else a damaged byte.
        const mask = rng.chance(0.5) ? 1 << rng.int(0, 7) : rng.int(1, 255);
        // Half the time among the newest records (most likely to hold a key's newest version).
        const which = rng.chance(0.5) ? 1 - rng.next() * 0.05 : rng.next();
        const where = host.disk.corrupt(which, rng.next(), mask);
        if (!where) return;
        const downMs = rng.int(200, 3_000);
        this.stopStorage(host, 'restart');
        note(`corrupt-record on ${host.id} (${where}); restart in ${downMs} ms`);
        busyUntil(downMs);
        restartAfter(host, downMs);
        return;
      }
      case 'disk-full': {
        if (!nodeFaultFree || live.length === 0) return;
        const host = rng.pick(live);
        const ms = rng.int(1_000, 10_000);
        host.disk.full = true;
        note(`disk-full on ${host.id} for ${ms} ms`);
        busyUntil(ms);
        this.sched.after(ms, 'disk space back', () => {
          host.disk.full = false;
          this.sched.note(`disk space back on ${host.id}`);
        });
        return;
      }
      case 'fsync-error': {
        // The next fsync within the window fails (EIO).
        if (!nodeFaultFree || live.length === 0) return;
        const host = rng.pick(live);
        const ms = 2_000;
        host.disk.fsyncFailsNext = true;
        note(`fsync-error on ${host.id}: its next fsync fails`);
        busyUntil(ms);
        this.sched.after(ms, 'fsync errors end', () => {
          host.disk.fsyncFailsNext = false;
        });
        return;
      }
      case 'crash':
      case 'long-crash':
      case 'disk-loss': {
        if (!nodeFaultFree || live.length === 0 || (kind !== 'crash' && !this.settled())) return;
        const host = rng.pick(live);
        const downMs = kind === 'long-crash' ? rng.int(16_000, 24_000) : rng.int(500, 8_000);
        this.stopStorage(host, kind === 'disk-loss' ? 'disk loss' : 'crash');
        note(`${kind} ${host.id} for ${downMs} ms`);
        busyUntil(downMs);
        this.sched.after(downMs, `restart ${host.id}`, () => {
          if (host.proc) return;
          this.startStorage(host);
          this.sched.note(`restart ${host.id}`);
        });
        return;
      }
      case 'power-loss': {
        // Several machines lose power at once: their disks keep what was synced.
        if (!nodeFaultFree || live.length === 0) return;
        // Machine crashes hit fsync always nodes only (see stopStorage).
      const hit = live.filter(() => this.fsync === 'always' && rng.chance(0.7));
        if (hit.length === 0) return;
        let longest = 0;
        for (const host of hit) {
          const downMs = rng.int(500, 4_000);
          longest = Math.max(longest, downMs);
          this.stopStorage(host, 'crash');
          this.sched.after(downMs, `restart ${host.id}`, () => {
            if (host.proc) return;
            this.startStorage(host);
            this.sched.note(`restart ${host.id}`);
          });
        }
        note(`power loss: ${hit.map((h) => h.id).join(',')}`);
        busyUntil(longest);
        return;
      }
      case 'frontend-cut': {
        // The frontends cannot reach one storage node, which stays up for everyone else.
        if (now < this.cutFaultUntilMs || live.length === 0) return;
        const host = rng.pick(live);
        const ms = rng.int(1_000, 10_000);
        for (const f of this.frontends) this.net.cut(f.id, host.id);
        this.cutFaultUntilMs = now + ms + this.opts.faultGapMs;
        note(`frontends cut from ${host.id} for ${ms} ms`);
        this.sched.after(ms, 'heal frontend cut', () => {
          for (const f of this.frontends) this.net.uncut(f.id, host.id);
          this.sched.note(`heal frontend cut of ${host.id}`);
        });
        return;
      }
      case 'isolate':
      case 'one-way':
      case 'controller-cut': {
        if (!nodeFaultFree || live.length === 0) return;
        const host = rng.pick(live);
        const ms = rng.int(500, 10_000);
        const others = [...[...this.hosts.keys()].filter((id) => id !== host.id), ...this.frontends.map((f) => f.id), 'controller'];
        if (kind === 'isolate') this.net.partition([host.id], others);
        else if (kind === 'controller-cut') this.net.cut(host.id, 'controller');
        else this.net.cut(rng.pick(others.filter((id) => id !== 'controller')), host.id);
        note(`${kind} ${host.id} for ${ms} ms`);
        busyUntil(ms);
        const cuts = this.net.cutsOf(host.id);
        this.sched.after(ms, 'heal', () => {
          for (const [a, b] of cuts) this.net.uncut(a, b);
          this.sched.note(`heal ${kind} of ${host.id}`);
        });
        return;
      }
      case 'lossy': {
        const ms = rng.int(1000, 8000);
        this.net.config = { delayMinMs: 1, delayMaxMs: rng.int(5, 80), lossRate: rng.int(1, 10) / 100, duplicateRate: rng.int(0, 10) / 100 };
        note(`lossy network for ${ms} ms: ${JSON.stringify(this.net.config)}`);
        this.sched.after(ms, 'calm network', () => {
          this.net.config = { ...CALM_NETWORK };
        });
        return;
      }
      case 'clock-jump': {
        const jump = rng.int(-this.opts.clockSkewMsMax, this.opts.clockSkewMsMax);
        if (rng.chance(0.5) && live.length > 0) {
          const host = rng.pick(live);
          host.skewMs = jump;
          note(`clock of ${host.id} set to skew ${jump} ms`);
        } else {
          const f = rng.pick(this.frontends);
          f.skewMs = jump;
          note(`clock of ${f.id} set to skew ${jump} ms`);
        }
        return;
      }
      case 'frontend-restart': {
        const i = rng.int(0, this.frontends.length - 1);
        const f = this.frontends[i];
        f.kill();
        note(`restart ${f.id} (its hints are lost)`);
        this.startFrontend(i, f.skewMs);
        return;
      }
      case 'controller-restart': {
        if (!this.controller.alive()) return;
        const ms = rng.int(200, 5_000);
        // Planted: it resumes from the first state it saved, not the last.
        const state = this.plant === 'stale-controller-state' ? this.firstControllerState : this.controller.saved;
        this.controller.stop();
        note(`controller down for ${ms} ms`);
        this.sched.after(ms, 'controller restart', () => {
          if (this.controller.alive()) return;
          this.controller.restart(state);
          this.sched.note(`controller restarted at epoch ${this.controller.core.epoch()}`);
        });
        return;
      }
      case 'join': {
        if (this.joined >= this.opts.joinsMax) return;
        this.joined++;
        const host = this.addHost();
        note(`join ${host.id}`);
        return;
      }
      case 'decommission': {
        if (!nodeFaultFree || !this.controller.alive() || !this.settled() || live.length <= this.opts.redundancy + 1) return;
        const host = rng.pick(live);
        try {
          this.controller.core.decommission(host.id, this.sched.nowMs);
        } catch {
          return;
        }
        this.controller.save();
        note(`decommission ${host.id}`);
        busyUntil(20_000);
        return;
      }
    }
  }

  // ---- convergence ----

  /** Why the cluster has not converged yet, or null when it has. */
  convergenceProblem(): string | null {
    const t = this.controller.core.table();
    if (!t) return 'no table';
    for (const h of this.hosts.values()) {
      if (h.left || !t.nodes[h.id]) continue;
      if (!h.proc) return `${h.id} is not running`;
      if (h.proc.engine.epoch() !== t.epoch) return `${h.id} holds epoch ${h.proc.engine.epoch()}, the controller ${t.epoch}`;
    }
    for (const n of Object.values(t.nodes)) if (n.state !== 'up' && n.state !== 'leaving') return `${n.id} is ${n.state}`;
    for (let p = 0; p < t.partitions.length; p++) {
      const e = t.partitions[p];
      if (e.pending.length > 0) return `partition ${p} has pending replicas ${e.pending.join(',')}`;
      let first: string | null = null;
      for (const id of e.replicas) {
        const proc = this.hosts.get(id)?.proc;
        if (!proc) return `${id} (replica of ${p}) is not running`;
        const s = proc.engine.digests.summary(p).join('/');
        if (first === null) first = s;
        else if (s !== first) return `partition ${p}: replicas ${e.replicas.join(',')} hold different digests`;
      }
    }
    return null;
  }

  // ---- the run ----

  async run(): Promise<SimResult> {
    const o = this.opts;
    for (let i = 0; i < o.storageNodesInitial; i++) this.addHost();
    for (let i = 0; i < o.frontends; i++) this.startFrontend(i, this.rng.int(-o.clockSkewMsMax / 4, o.clockSkewMsMax / 4));
    this.controller.start();
    const audit = () => {
      this.auditEpochs();
      this.sched.after(HARNESS_LIMITS.epochAuditIntervalMs, 'audit', audit);
    };
    this.sched.after(HARNESS_LIMITS.epochAuditIntervalMs, 'audit', audit);

    const warmupMs = HARNESS_LIMITS.warmupMs;
    const faultEndMs = warmupMs + o.faultPhaseMs;
    this.sched.after(warmupMs, 'controller state kept', () => {
      this.firstControllerState = this.controller.saved;
    });
    const load = () => {
      if (this.sched.nowMs >= faultEndMs) return;
      this.clientOp();
      this.sched.after(this.workRng.int(1, Math.ceil(2000 / o.clientOpsPerSecMax)), 'client op', load);
    };
    this.sched.after(warmupMs, 'client op', load);
    const faults = () => {
      if (this.sched.nowMs >= faultEndMs - HARNESS_LIMITS.faultPhaseTailMs) return;
      this.injectFault();
      this.sched.after(this.faultRng.int(500, 4_000), 'fault', faults);
    };
    this.sched.after(warmupMs + 1_000, 'fault', faults);
    await this.sched.run(faultEndMs);

    // Faults stop: heal the network, restart every stopped process, and let the cluster converge.
    let convergenceMs: number | null = null;
    if (!this.failure) {
      this.net.healAll();
      this.net.config = { ...CALM_NETWORK };
      if (!this.controller.alive()) this.controller.restart();
      for (const h of this.hosts.values()) {
        h.disk.full = false;
        h.disk.fsyncFailsNext = false;
      }
      for (const h of this.hosts.values()) if (!h.proc && !h.left) this.startStorage(h);
      this.sched.note('faults stop: network healed, disks healthy, every node restarted');
      let problem: string | null = 'not checked';
      const check = () => {
        problem = this.convergenceProblem();
        if (problem === null) convergenceMs = this.sched.nowMs - faultEndMs;
        else this.sched.after(HARNESS_LIMITS.convergenceCheckIntervalMs, 'convergence check', check);
      };
      this.sched.after(HARNESS_LIMITS.convergenceCheckIntervalMs, 'convergence check', check);
      await this.sched.run(faultEndMs + o.convergeWithinMs, () => convergenceMs !== null);
      if (convergenceMs === null && !this.failure) this.fail('no-convergence', `not converged ${o.convergeWithinMs} ms after faults stopped: ${problem}`);
    }
    if (!this.failure) await this.checkNoLostWrites();
    return {
      seed: o.seed,
      plant: this.plant,
      faultMix: o.faultKinds === FAULT_KINDS ? 'all' : this.plant && o.faultKinds === PLANTED_BUG_FAULTS[this.plant] ? 'self-test' : 'custom',
      faultKinds: o.faultKinds,
      failure: this.failure,
      virtualMs: this.sched.nowMs,
      convergenceMs,
      faults: this.faults,
      events: this.sched.eventsRun,
      messages: this.net.messages,
      ops: this.history.counts(),
      finalEpoch: this.controller.core.epoch(),
      finalMembers: this.finalMembers(),
      nodesEverOut: [...this.nodesEverOut].sort(),
      fsync: this.fsync,
      disk: this.diskTotals(),
    };
  }

  private diskTotals(): SimDiskTotals {
    const t: SimDiskTotals = { tornCrashes: 0, corruptions: 0, writeErrors: 0, fsyncErrors: 0, snapshots: 0, snapshotsFailed: 0 };
    for (const h of this.hosts.values()) {
      const s = h.disk.stats;
      t.tornCrashes += s.tornCrashes;
      t.corruptions += s.corruptions;
      t.writeErrors += s.writeErrors;
      t.fsyncErrors += s.fsyncErrors;
      t.snapshots += s.snapshots;
      t.snapshotsFailed += s.snapshotsFailed;
    }
    return t;
  }

  private finalMembers(): SimResult['finalMembers'] {
    const table = this.controller.core.table();
    return this.controller.core.listMembers().map((m) => ({
      id: m.id, role: m.role, state: m.state,
      activePartitions: table ? table.partitions.filter((e) => e.replicas.includes(m.id)).length : 0,
    }));
  }

  /** Every acknowledged key reads back at r=all with its newest acknowledged version or a newer one. */
  private async checkNoLostWrites(): Promise<void> {
    const fe = this.frontends.find((f) => f.alive())!;
    const newest = this.history.newestAcked();
    const all = this.opts.redundancy;
    const results = new Map<string, OpRecord | string>();
    for (const [key, w] of newest) {
      fe.coordinator.read(key, all).then((res) => {
        const ver = res.entry?.ver ?? null;
        results.set(key, ver && compareVersions(ver, w.ver!) >= 0 ? w : `write #${w.id} of ${key} acknowledged at ${w.endMs} with ${formatVer(w.ver)}; r=all reads ${formatVer(ver)}`);
      }, (err: Error) => results.set(key, `r=all read of ${key} failed: ${(err as { code?: string }).code ?? err.message}`));
    }
    const until = this.sched.nowMs + HARNESS_LIMITS.finalReadsWithinMs;
    await this.sched.run(until, () => results.size === newest.size);
    for (const [key, r] of results) {
      if (typeof r === 'string') {
        const holders = this.describeKey(key);
        this.fail('lost-write', `${r}\n  replicas: ${holders}`);
        return;
      }
    }
    if (results.size !== newest.size) this.fail('lost-write', `${newest.size - results.size} r=all reads never answered`);
  }

  private describeKey(key: string): string {
    const out: string[] = [];
    for (const h of this.hosts.values()) {
      if (!h.proc) continue;
      for (const p of h.proc.engine.store.partitionIds()) {
        const e = h.proc.engine.store.get(p, key);
        if (e) out.push(`${h.id}[p${p}${h.proc.engine.holds(p) ? '' : ' released'}]=${formatVer(e.ver)}`);
      }
    }
    return out.join(' ') || 'no node holds it';
  }
}

/** One whole-cluster run from one seed. */
export function runSimulation(opts: Partial<SimOptions> & { seed: number }): Promise<SimResult> {
  const bound = opts.plant === 'copy-one-source' ? { convergeWithinMs: COPY_BUG_CONVERGE_WITHIN_MS, clientOpsPerSecMax: COPY_BUG_CLIENT_OPS_PER_SEC_MAX } : {};
  return new Cluster({ ...SIM_DEFAULTS, ...bound, ...opts }).run();
}

/** The command that replays a run. */
export function replayCommand(r: Pick<SimResult, 'seed' | 'plant' | 'faultMix' | 'faultKinds'>): string {
  const mix = r.faultMix === 'self-test' ? ' --self-test-faults' : r.faultMix === 'custom' ? ` --faults ${r.faultKinds.join(',')}` : '';
  return `npm run sim -- --seed ${r.seed}${r.plant ? ` --plant ${r.plant}` : ''}${mix}`;
}

/** A failure as printed: seed, invariant, detail, the last events, and the replay command. */
export function formatFailure(r: SimResult): string {
  const f = r.failure;
  if (!f) return `seed ${r.seed}: ok`;
  return [
    `seed ${r.seed}${r.plant ? ` (planted bug: ${r.plant})` : ''}: invariant ${f.invariant} failed at ${f.atMs} ms (virtual)`,
    `  ${f.detail}`,
    `  last events (virtual ms):`,
    ...f.trace.map((l) => `    ${l}`),
    `  replay: ${replayCommand(r)}`,
  ].join('\n');
}
