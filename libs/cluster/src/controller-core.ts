import { computePlacement, diffPlacement, type Placement, type PlacementInput, type PlacementNode } from '@fog/partitioning';
import {
  FogError, internalAddressOf, partitionCount, type HandoffReport, type MoveView, type MovesProgressView, type NodeRegistration, type PartitionEntry,
  type PartitionTable, type TableNode,
} from '@fog/protocol';
import { LatenessCredit } from './lateness-credit';
import { validateRegistration, type Member } from './member';
import { MoveProgress, moveRate } from './move-progress';

export const FAILURE_DEFAULTS = {
  /** Silence after which a node is `down`: reads avoid it, nothing moves yet. */
  downAfterMs: 3000,
  /** Silence after which a node is `out`: its partitions get new replicas. */
  outAfterMs: 15_000,
  /**
   * A frontend's report that a node is unreachable counts only if the node has also been
   * silent this long: a report is evidence, the heartbeats decide.
   */
  suspectAfterMs: 1500,
  /**
   * A frontend `out` this long (silent since its last heartbeat) is forgotten: frontends hold
   * nothing, and ones an orchestrator replaced would otherwise pile up in the membership.
   */
  frontendForgetAfterMs: 10 * 60_000,
} as const;

export interface ControllerConfig {
  /** Storage nodes needed before the first table is formed. */
  expectedStorage: number;
  /** K. */
  redundancy: number;
  /** D. */
  digits: number;
  downAfterMs: number;
  outAfterMs: number;
  suspectAfterMs: number;
  /**
   * Completed copies (a pending replica becoming active) wait up to this long to be published
   * together: during a large move many partitions finish every second, and each table goes to
   * every node. Failures, joins and leaves are published at the next tick regardless.
   */
  syncPublishIntervalMs?: number;
  /** See FAILURE_DEFAULTS.frontendForgetAfterMs; must exceed outAfterMs. */
  frontendForgetAfterMs?: number;
  /**
   * A gap between two ticks longer than this means the controller itself was stalled (a long
   * computation, a collector pause, a slow disk, the process stopped): heartbeats that arrived
   * meanwhile may still wait in its sockets. The gap beyond this bound is then credited to every
   * node's silence, so a stalled controller does not declare everyone down. Must be below
   * downAfterMs minus one heartbeat interval, or a node could be credited into being up.
   */
  stallAfterMs?: number;
  /**
   * The most a slow controller adds to the silence a verdict needs (down or out): see
   * LatenessCredit. Default: downAfterMs, so an overloaded controller at most doubles the time
   * to its verdict and a dead node is still found.
   */
  latenessCreditMsMax?: number;
  /**
   * When true, `tick` does not compute placements itself: it leaves a PlanRequest
   * (`takePlanRequest`) for the app to compute elsewhere (a worker thread) and hand back with
   * `completePlan`, so no turn of the app's event loop holds for a placement. When false (the
   * default: unit tests, the simulation), the same request is computed and completed inside
   * `tick`, synchronously and deterministically.
   */
  deferPlacement?: boolean;
  /**
   * The id the cluster takes when its first table forms here (the app draws it at random). A
   * controller with saved state keeps the saved id; one that recovers its table from the nodes
   * takes that table's id.
   */
  clusterId?: string;
}

export const SYNC_PUBLISH_INTERVAL_MS_DEFAULT = 1000;
export const STALL_AFTER_MS_DEFAULT = 500;

export interface RegisterResult {
  member: Member;
  /** True when the registration changed what the next table will say. */
  tableChanged: boolean;
  /** The address the id was registered with before, when it changed (its old node was dead). */
  previousAddress?: string;
}

export interface Move extends MoveView {
  /** Epoch of the table that first listed the node as pending. */
  epoch: number;
  /** The first progress report: the move's own rate is measured from it. */
  firstReport?: { atMs: number; bytes: number };
}

function newMove(partition: number, node: string, reason: Move['reason'], epoch: number, nowMs: number): Move {
  return { partition, node, reason, epoch, startedAtMs: nowMs, keysCopied: 0, bytesCopied: 0, bytesTotal: null, rateBytesPerSec: null, etaMs: null, done: false };
}

/** Everything the controller must not lose across a restart. */
export interface ControllerState {
  version: 1;
  config: { redundancy: number; digits: number; expectedStorage: number };
  table: PartitionTable | null;
  target: string[][] | null;
  targetWhy?: string[][];
  members: Member[];
  moves: Move[];
  /**
   * The working partition entries, which may be ahead of `table` (changes wait for the next
   * tick to be published). Without them a restart would pair the moves of the working entries
   * with the published table's pending replicas: a pending replica whose move was already
   * completed would have no move left, and stay pending for ever. Absent in older state files.
   */
  entries?: PartitionEntry[] | null;
  /** The cluster id, fixed when the first table formed (absent in older state files: taken from the table). */
  clusterId?: string;
}

/** A placement the controller needs: computed by the app (deferPlacement) and handed back with its id. */
export interface PlanRequest {
  id: number;
  /** True for the first table (no previous assignment). */
  first: boolean;
  input: PlacementInput;
}

/**
 * What became of a completed plan:
 * - applied: the table changes were made (and published when `published`);
 * - stale: the membership changed while it was computed so that it names a node no longer
 *   placed (or the table was recovered meanwhile); it was dropped and a new plan is owed;
 * - unknown: not the plan in flight (a result from before a restart of the worker).
 */
export type PlanOutcome = { outcome: 'applied'; published: boolean; replanOwed: boolean } | { outcome: 'stale' | 'unknown' };

/** A dry run: a node added or removed. */
export interface PlanChange {
  add?: { id: string; zone: string; weight: number };
  remove?: string;
}

export interface PlanResult {
  moves: Array<{ partition: number; added: string[]; removed: string[] }>;
  replicasMoved: number;
  /** Replica slots moved, as a fraction of all P*K slots. */
  fractionMoved: number;
}

/**
 * The controller's decisions, with no network, disk or timers: membership, failure
 * detection, placement targets, pending replicas and epochs. The app feeds it registrations,
 * heartbeats, reports and time, and persists and pushes the tables it produces.
 *
 * Changes accumulate and become one new table per `tick` (and at once for the first table),
 * so a burst of events — or a flapping node — costs one epoch per tick, not one per event.
 */
export class ControllerCore {
  private readonly members = new Map<string, Member>();
  private current: PartitionTable | null = null;
  /** Desired replica set per partition; the table converges to it through pending replicas. */
  private target: string[][] | null = null;
  /** Placement reasons parallel to target. */
  private targetWhy: string[][] = [];
  /** Working partition entries (published on the next tick). */
  private entries: PartitionEntry[] | null = null;
  private readonly moves = new Map<string, Move>();
  private readonly progress = new MoveProgress();
  private dirty = false;
  /** Only completed copies wait to be published (see syncPublishIntervalMs). */
  private syncsUnpublished = false;
  private lastPublishMs = -Infinity;
  /** A placement is owed (joins, leaves, failures since the last tick): computed once, at the next tick. */
  private planReason: Move['reason'] | null = null;
  private lastTickMs: number | null = null;
  private readonly lateness: LatenessCredit;
  /** The placement being computed (at most one at a time), with what it was computed from. */
  private inFlight: { id: number; first: boolean; reason: Move['reason']; input: PlacementInput; nodesKey: string; target: string[][] | null } | null = null;
  /** The request the app has not taken yet (deferPlacement). */
  private planRequest: PlanRequest | null = null;
  private planSeq = 0;
  /** Set when registering nodes hold a table this controller does not have (it lost its state). */
  private recovery: { id: string; address: string; epoch: number } | null = null;
  /** Fixed when the first table forms (or is recovered); stamped on every table. */
  private fixedClusterId: string | null = null;

  constructor(readonly config: ControllerConfig) {
    if (!(config.expectedStorage >= 1)) throw new Error('expectedStorage must be >= 1');
    if (!(config.redundancy >= 1)) throw new Error('redundancy must be >= 1');
    if (config.redundancy > config.expectedStorage) {
      // K distinct replicas need at least K storage nodes.
      throw new Error(`redundancy ${config.redundancy} needs at least as many storage nodes, expected ${config.expectedStorage}`);
    }
    if (!(config.downAfterMs > 0 && config.outAfterMs > config.downAfterMs)) throw new Error('need 0 < downAfterMs < outAfterMs');
    if (config.frontendForgetAfterMs !== undefined && !(config.frontendForgetAfterMs > config.outAfterMs)) throw new Error('need frontendForgetAfterMs > outAfterMs');
    const creditMax = config.latenessCreditMsMax ?? config.downAfterMs;
    if (!(creditMax >= 0)) throw new Error('latenessCreditMsMax must be >= 0');
    // A delay long ago did not hold up the heartbeats whose silence is judged now.
    this.lateness = new LatenessCredit({ windowMs: config.downAfterMs + creditMax, creditMsMax: creditMax });
  }

  table(): PartitionTable | null {
    return this.current;
  }

  epoch(): number {
    return this.current?.epoch ?? 0;
  }

  member(id: string): Member | undefined {
    return this.members.get(id);
  }

  listMembers(): Member[] {
    return [...this.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  listMoves(): Move[] {
    return [...this.moves.values()].sort((a, b) => a.partition - b.partition || (a.node < b.node ? -1 : 1));
  }

  /** Moves still copying (cheap: no sorting, called every tick). */
  movesPendingCount(): number {
    let n = 0;
    for (const m of this.moves.values()) if (!m.done) n++;
    return n;
  }

  /** The moves as `GET /v1/cluster` shows them. */
  moveViews(): MoveView[] {
    return this.listMoves().map((m) => ({
      partition: m.partition, node: m.node, reason: m.reason, startedAtMs: m.startedAtMs, keysCopied: m.keysCopied, bytesCopied: m.bytesCopied,
      bytesTotal: m.bytesTotal, rateBytesPerSec: m.rateBytesPerSec, etaMs: m.etaMs, done: m.done,
    }));
  }

  /** Totals, rate and ETA of the moves since the cluster last had none. */
  movesProgress(nowMs: number): MovesProgressView {
    return this.progress.view(this.moveViews(), nowMs);
  }

  /** True when changes wait for the next tick to be published. */
  hasPendingChanges(): boolean {
    return this.dirty || this.syncsUnpublished || this.planReason !== null || this.firstTableDue();
  }

  /** A placement is owed (a change since the last one) or being computed: the moves are about to change. */
  planning(): boolean {
    return this.planReason !== null || this.inFlight !== null || this.firstTableDue();
  }

  /** A placement is being computed (deferPlacement: handed to the app and not completed yet). */
  planInFlight(): boolean {
    return this.inFlight !== null;
  }

  /** The placement to compute, once (deferPlacement); null when none is owed or it was taken. */
  takePlanRequest(): PlanRequest | null {
    const r = this.planRequest;
    this.planRequest = null;
    return r;
  }

  /** How much later than downAfterMs / outAfterMs a verdict comes now, for the controller's own lateness. */
  latenessCreditMs(nowMs: number): number {
    return this.lateness.creditMs(nowMs);
  }

  register(input: unknown, nowMs: number): RegisterResult {
    const { empty, epoch: nodeEpoch, boot, ...reg }: NodeRegistration = validateRegistration(input);
    for (const m of this.members.values()) {
      if (m.id !== reg.id && m.address === reg.address && m.state !== 'left' && m.state !== 'out') {
        throw new FogError('FOG_ERR_CLUSTER_MISMATCH', `address ${reg.address} is already registered as ${m.id}`, { id: m.id });
      }
    }
    const existing = this.members.get(reg.id);
    if (existing && existing.role !== reg.role) {
      throw new FogError('FOG_ERR_CLUSTER_MISMATCH', `id ${reg.id} is already registered as a ${existing.role}`, { id: reg.id });
    }
    // One id, one machine: while the node registered under this id is alive, another address
    // claiming the id is a mistake (a copied config, a second cluster) and would take over its
    // partitions. Once it is dead (down, out, left) the id may move, e.g. to a replacement host.
    if (existing && existing.address !== reg.address && (existing.state === 'up' || existing.state === 'leaving')) {
      throw new FogError('FOG_ERR_CLUSTER_MISMATCH', `id ${reg.id} is registered at another address and its node is ${existing.state}`, { id: reg.id, reason: 'id_taken' });
    }
    const previousAddress = existing && existing.address !== reg.address ? existing.address : undefined;
    const wasPlaced = existing !== undefined && (existing.state === 'up' || existing.state === 'down' || existing.state === 'leaving');
    // The same process run registering again (its answer was lost) has lost nothing.
    const sameRun = existing !== undefined && boot !== undefined && existing.boot === boot;
    const detailsChanged = existing !== undefined && (existing.address !== reg.address || existing.internal !== reg.internal || existing.zone !== reg.zone || existing.weight !== reg.weight);
    const member: Member = existing ?? { ...reg, state: 'up', registeredAtMs: nowMs, lastHeartbeatMs: nowMs };
    const previousState = member.state;
    Object.assign(member, { address: reg.address, zone: reg.zone, weight: reg.weight, lastHeartbeatMs: nowMs, ...(boot !== undefined ? { boot } : {}) });
    if (reg.internal !== undefined) member.internal = reg.internal;
    else delete member.internal;
    if (reg.weightBasis) member.weightBasis = reg.weightBasis;
    else delete member.weightBasis;
    // A decommissioned node stays out of placement when it restarts: leaving was the
    // operator's decision, and only a new id brings the machine back as a fresh node.
    if (member.state === 'left') return { member, tableChanged: false, previousAddress };
    // A leaving node that restarts keeps leaving; anything else registering is up.
    if (member.state !== 'leaving') member.state = 'up';
    this.members.set(member.id, member);

    if (!this.current && (nodeEpoch ?? 0) > (this.recovery?.epoch ?? 0)) {
      // The cluster existed before this controller's state did: recover its table from the
      // node that holds the newest one rather than form a new first table over live data.
      this.recovery = { id: member.id, address: internalAddressOf(member), epoch: nodeEpoch! };
    }
    if (member.role !== 'storage') return { member, tableChanged: false, previousAddress };
    // The first table forms at the next tick (off the request path), once enough nodes are up.
    if (!this.current) return { member, tableChanged: false, previousAddress };
    if (!wasPlaced || (detailsChanged && (existing!.zone !== reg.zone || existing!.weight !== reg.weight))) {
      // A new node, or one that was out or left: it joins and takes a share (at the next tick,
      // off the request path, one placement for every node that joined meanwhile).
      this.requestReplan('join');
    } else if (detailsChanged || previousState !== member.state) {
      this.dirty = true;
    }
    if (wasPlaced && empty && !sameRun && this.demoteToPending(member.id, nowMs) > 0) {
      // Published at once, so the node's registration answer already says it is pending and it
      // refuses reads it cannot answer (it lost its data) before any frontend asks.
      this.publish();
      return { member, tableChanged: true, previousAddress };
    }
    return { member, tableChanged: this.dirty || this.planReason !== null, previousAddress };
  }

  /** Record a heartbeat. False when the node is unknown or out (it should register again). */
  heartbeat(id: string, nowMs: number): boolean {
    const m = this.members.get(id);
    if (!m || m.state === 'out') return false;
    m.lastHeartbeatMs = nowMs;
    if (m.state === 'left') return true;
    if (m.state === 'down') {
      m.state = 'up';
      this.dirty = this.dirty || m.role === 'storage';
    }
    return true;
  }

  /** A frontend could not reach `id`. Marks it down only if its heartbeats agree. */
  suspect(id: string, nowMs: number): boolean {
    const m = this.members.get(id);
    if (!m || m.role !== 'storage' || m.state !== 'up') return false;
    if (nowMs - m.lastHeartbeatMs < this.config.suspectAfterMs) return false;
    m.state = 'down';
    this.dirty = true;
    return true;
  }

  /**
   * Graceful leave: hand every partition of the node to others, then mark it `left`. The moves
   * are planned (and their start times set) at the next tick.
   */
  decommission(id: string, _nowMs: number): Member {
    const m = this.members.get(id);
    if (!m || m.role !== 'storage') throw new FogError('FOG_ERR_NODE_NOT_FOUND', `no storage node ${id}`);
    if (m.state === 'left' || m.state === 'leaving') return m;
    if (m.state === 'out') throw new FogError('FOG_ERR_BAD_REQUEST', `node ${id} is out; its partitions are already being replaced`);
    if (!this.current) throw new FogError('FOG_ERR_NO_TABLE');
    const remaining = this.storageMembers().filter((x) => x.id !== id && placeable(x));
    if (remaining.length < this.config.redundancy) {
      throw new FogError('FOG_ERR_BAD_REQUEST', `decommissioning ${id} would leave ${remaining.length} storage nodes for K=${this.config.redundancy}`, { remaining: remaining.length });
    }
    m.state = 'leaving';
    this.requestReplan('decommission');
    return m;
  }

  /**
   * A pending node reports copy progress; `done` asks to become active. Only the pending
   * replica itself may report: a registered storage node, not out or left, that the table lists
   * as pending for that partition. (A `down` one may: it is evidently alive, and refusing it
   * would only delay the copy on a busy machine.)
   */
  handoff(id: string, report: unknown, nowMs: number): Move {
    const r = validateHandoff(report, this.config.digits);
    const m = this.members.get(id);
    if (!m || m.role !== 'storage') throw new FogError('FOG_ERR_NODE_NOT_FOUND', `no storage node ${id}`);
    if (m.state === 'out' || m.state === 'left') throw new FogError('FOG_ERR_WRONG_NODE', `${id} is ${m.state}: it cannot report copies`, { reason: 'not_pending' });
    const move = this.moves.get(moveKey(r.partition, id));
    const pendingInTable = this.entries?.[r.partition]?.pending.includes(id) ?? false;
    if (!move || !pendingInTable) throw new FogError('FOG_ERR_WRONG_NODE', `${id} is not pending for partition ${r.partition}`, { reason: 'not_pending' });
    if (move.done) return move; // a repeated completion report changes nothing
    if (r.done) {
      // Complete only if it holds what every active replica held: a copy from one replica that
      // missed writes would otherwise count as a replica, and the one that held them could go.
      const sources = new Set(r.sources ?? []);
      const missing = this.entries![r.partition].replicas.filter((x) => x !== id && this.isServing(x) && !sources.has(x));
      if (missing.length > 0) {
        throw new FogError('FOG_ERR_COPY_INCOMPLETE', `the copy of partition ${r.partition} did not reconcile with ${missing.join(', ')}`, { missing });
      }
    }
    this.progress.copied(r.bytesCopied - move.bytesCopied, nowMs);
    move.keysCopied = r.keysCopied;
    move.bytesCopied = r.bytesCopied;
    if (r.bytesTotal !== undefined) move.bytesTotal = r.bytesTotal;
    move.firstReport ??= { atMs: nowMs, bytes: r.bytesCopied };
    Object.assign(move, moveRate(move.firstReport, nowMs, move.bytesCopied, move.bytesTotal));
    if (r.done) {
      move.done = true;
      move.etaMs = 0;
      this.finishPartitionIfSynced(r.partition, nowMs);
    }
    return move;
  }

  /**
   * Failure detection, placement and publication. Returns true when a new table was produced.
   * `loopDelayMs` is how late the app's own event loop ran since the last tick (the longest
   * delay measured) and `loopBusyFraction` how much of that time it was busy (0..1): a
   * controller that is slow to read heartbeats gives the nodes more time (LatenessCredit)
   * before it calls them down or out.
   */
  tick(nowMs: number, loopDelayMs = 0, loopBusyFraction = 0): boolean {
    const stallMs = this.lastTickMs === null ? 0 : nowMs - this.lastTickMs;
    this.lastTickMs = nowMs;
    const stallAfterMs = this.config.stallAfterMs ?? STALL_AFTER_MS_DEFAULT;
    if (stallMs > stallAfterMs) {
      // The controller could not listen for that long: the silence is its own, not the nodes'.
      // Only the part beyond stallAfterMs is credited, so a controller that is late on every
      // tick still sees a dead node's silence grow.
      const creditMs = stallMs - stallAfterMs;
      for (const m of this.members.values()) m.lastHeartbeatMs = Math.min(nowMs, m.lastHeartbeatMs + creditMs);
    }
    this.lateness.observe(nowMs, loopDelayMs, loopBusyFraction);
    const lateMs = this.lateness.creditMs(nowMs);
    let replanNeeded = false;
    for (const m of this.members.values()) {
      const silentMs = nowMs - m.lastHeartbeatMs - lateMs;
      if ((m.state === 'up' || m.state === 'leaving') && silentMs > this.config.downAfterMs) {
        if (m.state === 'up') {
          m.state = 'down';
          this.dirty = this.dirty || m.role === 'storage';
        }
      }
      if (m.state === 'down' && silentMs > this.config.outAfterMs) {
        m.state = 'out';
        if (m.role === 'storage') replanNeeded = true;
      }
    }
    if (replanNeeded && this.current) this.requestReplan('replace');
    // One placement at a time: changes meanwhile wait for it and make the next one.
    if (this.inFlight === null) {
      if (this.firstTableDue()) {
        this.startPlan(true, 'rebalance', nowMs);
        if (this.current) {
          this.lastPublishMs = nowMs;
          return true;
        }
      } else if (this.planReason !== null && this.entries && this.target) {
        const reason = this.planReason;
        this.planReason = null;
        this.startPlan(false, reason, nowMs);
      }
    }
    this.retireLeftNodes();
    this.forgetLongOutFrontends(nowMs);
    const syncInterval = this.config.syncPublishIntervalMs ?? SYNC_PUBLISH_INTERVAL_MS_DEFAULT;
    if (this.syncsUnpublished && nowMs - this.lastPublishMs >= syncInterval) this.dirty = true;
    const published = this.publish();
    if (published) this.lastPublishMs = nowMs;
    this.progress.sample(nowMs, this.moves.size);
    return published;
  }

  /**
   * Remove a node from the membership for good (`DELETE /v1/cluster/nodes/{id}`): a `left`
   * node, an `out` storage node that no partition of the table names any more, or an `out`
   * frontend. Anything else is refused: forgetting a live node, or one whose partitions are
   * still being replaced, would lose track of data. A forgotten node that comes back joins as
   * a new node.
   */
  forget(id: string): Member {
    const m = this.members.get(id);
    if (!m) throw new FogError('FOG_ERR_NODE_NOT_FOUND', `no node ${id}`);
    const named = this.entries?.some((e) => e.replicas.includes(id) || e.pending.includes(id)) ?? false;
    const removable = m.state === 'left' || (m.state === 'out' && (m.role === 'frontend' || !named));
    if (!removable) {
      const why = m.state === 'out' ? 'the table still names it: its partitions are not all replaced yet' : `it is ${m.state}; decommission it (or wait until it is out) first`;
      throw new FogError('FOG_ERR_NODE_NOT_REMOVABLE', `node ${id} cannot be forgotten: ${why}`, { id, state: m.state });
    }
    this.members.delete(id);
    if (this.recovery?.id === id) this.recovery = null;
    // An out storage node is still listed in the table's nodes: publish a table without it.
    if (m.role === 'storage' && this.current?.nodes[id]) this.dirty = true;
    return m;
  }

  /** Frontends out longer than frontendForgetAfterMs are removed (they hold nothing). */
  private forgetLongOutFrontends(nowMs: number): void {
    const after = this.config.frontendForgetAfterMs ?? FAILURE_DEFAULTS.frontendForgetAfterMs;
    for (const m of [...this.members.values()]) {
      if (m.role === 'frontend' && m.state === 'out' && nowMs - m.lastHeartbeatMs > after) this.members.delete(m.id);
    }
  }

  /** The node to fetch the newest table from, while the controller has none but nodes do. */
  recoveryCandidate(): { id: string; address: string; epoch: number } | null {
    return this.current ? null : this.recovery;
  }

  /**
   * Adopt the table a node held, after this controller lost its state. Its nodes become
   * members (they re-register or go down and out as usual), pending replicas keep copying, and
   * the next table has a higher epoch than any node holds, so every node adopts it.
   */
  recoverTable(table: PartitionTable, nowMs: number): void {
    if (this.current) return;
    if (table.digits !== this.config.digits || table.redundancy !== this.config.redundancy) {
      throw new Error(
        `the cluster's table has K=${table.redundancy}, D=${table.digits} but the flags say K=${this.config.redundancy}, D=${this.config.digits}`,
      );
    }
    if (table.partitions.length !== partitionCount(table.digits)) throw new Error('recovered table has the wrong number of partitions');
    if (table.cluster) this.fixedClusterId = table.cluster;
    for (const n of Object.values(table.nodes)) {
      if (this.members.has(n.id)) continue;
      // Not heard from yet: given the usual time to speak up before it is declared down or out.
      this.members.set(n.id, { id: n.id, role: 'storage', address: n.address, zone: n.zone, weight: n.weight, state: n.state === 'leaving' ? 'leaving' : 'up', registeredAtMs: nowMs, lastHeartbeatMs: nowMs });
    }
    this.current = table;
    this.entries = table.partitions.map((e) => ({ replicas: [...e.replicas], pending: [...e.pending], ...(e.why ? { why: [...e.why] } : {}) }));
    this.target = table.partitions.map((e) => [...e.replicas, ...e.pending]);
    this.targetWhy = table.partitions.map((e) => e.why ?? []);
    this.recovery = null;
    // Placement trims partitions caught mid-move back to K and re-creates their moves.
    this.replan('rebalance', nowMs);
    this.dirty = true;
  }

  /** Which partitions would move if a node were added or removed (nothing changes). */
  plan(change: PlanChange): PlanResult {
    const input = this.planInput(change);
    return this.planOutcome(input, computePlacement(input));
  }

  /** The placement a dry run needs (to compute elsewhere and hand to planOutcome). */
  planInput(change: PlanChange): PlacementInput {
    if (!this.current || !this.target) throw new FogError('FOG_ERR_NO_TABLE');
    let nodes = this.placementNodes();
    if (change.remove) {
      if (!nodes.some((n) => n.id === change.remove)) throw new FogError('FOG_ERR_NODE_NOT_FOUND', `no placed storage node ${change.remove}`);
      nodes = nodes.filter((n) => n.id !== change.remove);
    }
    if (change.add) {
      if (this.members.has(change.add.id)) throw new FogError('FOG_ERR_CLUSTER_MISMATCH', `node ${change.add.id} already exists`);
      nodes = [...nodes, change.add];
    }
    if (nodes.length === 0) throw new FogError('FOG_ERR_BAD_REQUEST', 'no storage node would remain');
    return { nodes, redundancy: this.config.redundancy, partitions: partitionCount(this.config.digits), previous: this.target };
  }

  /** What a dry run's placement (computed from planInput's input) would move. */
  planOutcome(input: PlacementInput, placement: Placement): PlanResult {
    const moves = diffPlacement(input.previous ?? [], placement.replicas);
    const replicasMoved = moves.reduce((n, m) => n + m.added.length, 0);
    return { moves, replicasMoved, fractionMoved: replicasMoved / (partitionCount(this.config.digits) * this.config.redundancy) };
  }

  snapshot(): ControllerState {
    return {
      version: 1,
      config: { redundancy: this.config.redundancy, digits: this.config.digits, expectedStorage: this.config.expectedStorage },
      table: this.current,
      target: this.target,
      targetWhy: this.targetWhy,
      members: this.listMembers().map((m) => ({ ...m })),
      moves: this.listMoves().map((m) => ({ ...m })),
      entries: this.entries ? this.entries.map(copyEntry) : null,
      ...(this.fixedClusterId ? { clusterId: this.fixedClusterId } : {}),
    };
  }

  /** The cluster's id ('' until its first table formed or was recovered). */
  clusterId(): string {
    return this.fixedClusterId ?? '';
  }

  /**
   * Resume from saved state. Heartbeat clocks restart at `nowMs`: the controller was away, not
   * the nodes, so nobody is declared down for the controller's own absence.
   */
  static restore(state: ControllerState, config: ControllerConfig, nowMs: number): ControllerCore {
    if (state.version !== 1) throw new Error(`unknown controller state version ${String(state.version)}`);
    if (state.config.redundancy !== config.redundancy || state.config.digits !== config.digits) {
      throw new Error(
        `saved state has K=${state.config.redundancy}, D=${state.config.digits} but the flags say K=${config.redundancy}, D=${config.digits}; ` +
          'start with the saved values or a new data dir',
      );
    }
    const core = new ControllerCore(config);
    for (const m of state.members) core.members.set(m.id, { ...m, lastHeartbeatMs: nowMs });
    core.current = state.table;
    core.fixedClusterId = state.clusterId ?? state.table?.cluster ?? null;
    core.target = state.target;
    core.targetWhy = state.targetWhy ?? [];
    const published = state.table ? state.table.partitions.map(copyEntry) : null;
    core.entries = state.entries && published && state.entries.length === published.length ? state.entries.map(copyEntry) : published;
    // Changes that were saved but not yet published go out at the next tick: partition entries,
    // and member changes (a node marked up, down or out, or moved) the table does not show yet.
    core.dirty = JSON.stringify(core.entries) !== JSON.stringify(published)
      || (state.table !== null && !sameTableNodes(state.table.nodes, core.tableNodes()));
    for (const mv of state.moves) {
      // State files written before moves carried sizes and rates lack those fields.
      core.moves.set(moveKey(mv.partition, mv.node), { ...mv, bytesTotal: mv.bytesTotal ?? null, rateBytesPerSec: null, etaMs: null, firstReport: undefined });
      core.progress.started(nowMs);
    }
    core.replanIfTargetBehind();
    return core;
  }

  /**
   * A placement owed when the state was saved (a join, a decommission or a node out, between
   * the change and its plan: a plan takes a while on the placement thread) is not in the state
   * file: it shows as a target that does not place exactly the placeable nodes. Planned again.
   */
  private replanIfTargetBehind(): void {
    if (!this.target || !this.entries) return;
    const inTarget = new Set<string>();
    for (const row of this.target) for (const id of row) inTarget.add(id);
    const placeable = new Set(this.placementNodes().map((n) => n.id));
    let reason: Move['reason'] | null = null;
    for (const id of inTarget) {
      if (placeable.has(id)) continue;
      const state = this.members.get(id)?.state;
      reason = state === 'leaving' && reason === null ? 'decommission' : 'replace';
    }
    // With fewer placeable nodes than the target has room for, every one of them is in it.
    for (const id of placeable) if (!inTarget.has(id)) reason ??= 'join';
    if (reason !== null) this.requestReplan(reason);
  }

  // ---------------------------------------------------------------------------------------

  private storageMembers(): Member[] {
    return this.listMembers().filter((m) => m.role === 'storage');
  }

  private placementNodes(): PlacementNode[] {
    return this.storageMembers().filter(placeable).map((m) => ({ id: m.id, zone: m.zone, weight: m.weight }));
  }

  /** Enough storage nodes are up for the first table, and none was recovered or is on its way. */
  private firstTableDue(): boolean {
    if (this.current || this.recovery) return false;
    // Counted without sorting: this runs on every registration until the table forms.
    let up = 0;
    for (const m of this.members.values()) if (m.role === 'storage' && m.state === 'up') up += 1;
    return up >= this.config.expectedStorage;
  }

  private placementNodesKey(nodes: readonly PlacementNode[]): string {
    return nodes.map((n) => `${n.id}\u0000${n.zone}\u0000${n.weight}`).join('\u0001');
  }

  /** Ask for a placement of the current members (computed here at once unless deferPlacement). */
  private startPlan(first: boolean, reason: Move['reason'], nowMs: number): void {
    const nodes = this.placementNodes();
    if (nodes.length === 0) return;
    const input: PlacementInput = { nodes, redundancy: this.config.redundancy, partitions: partitionCount(this.config.digits), ...(first ? {} : { previous: this.target }) };
    const id = ++this.planSeq;
    this.inFlight = { id, first, reason, input, nodesKey: this.placementNodesKey(nodes), target: first ? null : this.target };
    if (this.config.deferPlacement) {
      this.planRequest = { id, first, input };
      return;
    }
    this.completePlan(id, computePlacement(input), nowMs);
  }

  /**
   * The placement asked for by request `id`, computed. Applied unless the membership changed
   * meanwhile so that it names a node no longer placed (out, left, leaving, forgotten), or the
   * table was recovered from a node meanwhile: then it is dropped and the next tick plans
   * again. A result computed for a membership that changed only by nodes joining (or going
   * down, or changing zone or weight) is still a valid step: it is applied, and another plan is
   * owed for the rest. The first table is published at once.
   */
  completePlan(id: number, placement: Placement, nowMs: number): PlanOutcome {
    const plan = this.inFlight;
    if (plan === null || plan.id !== id) return { outcome: 'unknown' };
    this.inFlight = null;
    const nodesNow = this.placementNodes();
    const placeableNow = new Set(nodesNow.map((n) => n.id));
    const valid = plan.input.nodes.every((n) => placeableNow.has(n.id)) && (plan.first ? this.current === null && this.recovery === null : this.target === plan.target);
    const changedSince = this.placementNodesKey(nodesNow) !== plan.nodesKey;
    if (!valid) {
      // A first table is owed again by itself (firstTableDue); a replan keeps its reason.
      if (!plan.first && this.entries && this.target && this.planReason === null) this.planReason = plan.reason;
      return { outcome: 'stale' };
    }
    if (plan.first) {
      this.formFirstTable(placement);
      if (changedSince) this.requestReplan('join');
      const published = this.publish();
      if (published) this.lastPublishMs = nowMs;
      return { outcome: 'applied', published, replanOwed: this.planReason !== null };
    }
    this.applyPlacement(placement, plan.reason, nowMs);
    if (changedSince) this.requestReplan(plan.reason);
    return { outcome: 'applied', published: false, replanOwed: this.planReason !== null };
  }

  private formFirstTable(placement: Placement): void {
    this.target = placement.replicas;
    this.targetWhy = placement.reasons;
    this.entries = placement.replicas.map((replicas, p) => ({ replicas: [...replicas], pending: [], why: placement.reasons[p] }));
    this.dirty = true;
  }

  /**
   * Several changes before one tick make one placement. A node going out decides the reason
   * shown for its moves ('replace'); otherwise the first change asked for names them.
   */
  private requestReplan(reason: Move['reason']): void {
    if (!this.entries || !this.target) return;
    if (this.planReason === null || reason === 'replace') this.planReason = reason;
  }

  /**
   * Recompute the target at once and turn the difference into pending replicas (adopting a
   * recovered table: a rare path, computed in place whatever deferPlacement says).
   */
  private replan(reason: Move['reason'], nowMs: number): void {
    if (!this.entries || !this.target) return;
    const nodes = this.placementNodes();
    if (nodes.length === 0) return;
    const placement = computePlacement({ nodes, redundancy: this.config.redundancy, partitions: partitionCount(this.config.digits), previous: this.target });
    this.applyPlacement(placement, reason, nowMs);
  }

  /** Make `placement` the target and turn the difference into pending replicas. */
  private applyPlacement(placement: Placement, reason: Move['reason'], nowMs: number): void {
    if (!this.entries || !this.target) return;
    const before = this.target;
    this.target = placement.replicas;
    this.targetWhy = placement.reasons;
    const epochNext = this.epoch() + 1;
    this.entries = this.entries.map((entry, p) => {
      const want = placement.replicas[p];
      // Most rows are the previous target's very array (placement hands unchanged rows back):
      // when the entry already holds it, settled and served, it stays as it is, with no
      // allocation — what the general case below would also conclude, at a fraction of the cost.
      if (want === before[p] && entry.pending.length === 0 && sameIds(entry.replicas, want) && want.every((id) => this.isServing(id))) return entry;
      // Dead replicas serve nothing: drop them now rather than wait for a copy.
      const alive = entry.replicas.filter((id) => this.isServing(id));
      const pending = want.filter((id) => !alive.includes(id));
      for (const id of entry.pending) if (!pending.includes(id)) this.moves.delete(moveKey(p, id));
      for (const id of pending) {
        if (!this.moves.has(moveKey(p, id))) {
          const why = alive.length < entry.replicas.length ? 'replace' : reason;
          this.moves.set(moveKey(p, id), newMove(p, id, why, epochNext, nowMs));
          this.progress.started(nowMs);
        }
      }
      if (alive.length === 0) {
        // Every replica is gone: nothing to copy from. Make the target active so the partition
        // serves again (empty) rather than refusing forever; the loss is logged by the app.
        for (const id of pending) this.moves.delete(moveKey(p, id));
        return { replicas: [...want], pending: [], why: placement.reasons[p] };
      }
      if (pending.length === 0) {
        // Unchanged: keep the entry (and the reasons it was first placed for), so the next
        // table's delta does not list it.
        if (entry.pending.length === 0 && sameIds(entry.replicas, want)) return entry;
        return { replicas: [...want], pending: [], why: placement.reasons[p] };
      }
      return { replicas: alive, pending, why: entry.why };
    });
    this.dirty = true;
  }

  /**
   * A placed node came back without its data: where another replica can serve as the source,
   * make it pending (it copies before it serves reads) instead of an active replica that
   * answers "not found" for keys it lost. Returns the number of partitions demoted.
   */
  private demoteToPending(id: string, nowMs: number): number {
    if (!this.entries) return 0;
    let demoted = 0;
    const epochNext = this.epoch() + 1;
    this.entries = this.entries.map((e, p) => {
      if (!e.replicas.includes(id)) return e;
      const rest = e.replicas.filter((x) => x !== id);
      if (!rest.some((x) => this.isServing(x))) return e;
      demoted++;
      this.moves.set(moveKey(p, id), newMove(p, id, 'replace', epochNext, nowMs));
      this.progress.started(nowMs);
      return { replicas: rest, pending: [...e.pending, id], why: e.why };
    });
    if (demoted > 0) this.dirty = true;
    return demoted;
  }

  private finishPartitionIfSynced(p: number, nowMs: number): void {
    const entry = this.entries![p];
    if (!entry.pending.every((id) => this.moves.get(moveKey(p, id))?.done)) return;
    const want = this.target![p];
    for (const id of entry.pending) {
      const key = moveKey(p, id);
      const move = this.moves.get(key);
      this.progress.finished(move?.bytesCopied ?? 0, move?.bytesTotal ?? null, nowMs);
      this.moves.delete(key);
    }
    this.entries![p] = { replicas: [...want], pending: [], why: this.targetWhy[p] };
    this.syncsUnpublished = true;
  }

  /** A leaving node that holds nothing any more has left. */
  private retireLeftNodes(): void {
    if (!this.entries) return;
    for (const m of this.members.values()) {
      if (m.state !== 'leaving') continue;
      const holds = this.entries.some((e) => e.replicas.includes(m.id) || e.pending.includes(m.id));
      if (!holds) {
        m.state = 'left';
        this.dirty = true;
      }
    }
  }

  private isServing(id: string): boolean {
    const m = this.members.get(id);
    return m !== undefined && m.state !== 'out' && m.state !== 'left';
  }

  /** The node list the next table would carry: every storage member that has not left. */
  private tableNodes(): Record<string, TableNode> {
    const nodes: Record<string, TableNode> = {};
    for (const m of this.storageMembers()) {
      if (m.state === 'left') continue;
      nodes[m.id] = { id: m.id, address: m.address, ...(m.internal ? { internal: m.internal } : {}), zone: m.zone, weight: m.weight, state: m.state };
    }
    return nodes;
  }

  private publish(): boolean {
    if (!this.dirty || !this.entries) return false;
    this.dirty = false;
    this.syncsUnpublished = false;
    const nodes = this.tableNodes();
    if (this.fixedClusterId === null && this.config.clusterId) this.fixedClusterId = this.config.clusterId;
    const table: PartitionTable = {
      epoch: this.epoch() + 1,
      digits: this.config.digits,
      redundancy: this.config.redundancy,
      // Entries are never changed in place (every change makes a new one), so the published
      // table shares them with the working set: an epoch costs O(P) references, not a copy.
      partitions: this.entries.slice(),
      nodes,
      ...(this.fixedClusterId ? { cluster: this.fixedClusterId } : {}),
    };
    assertTable(table, this.current);
    this.current = table;
    return true;
  }
}

function copyEntry(e: PartitionEntry): PartitionEntry {
  return { ...e, replicas: [...e.replicas], pending: [...e.pending], ...(e.why ? { why: [...e.why] } : {}) };
}

/** Whether two node lists are the same, node by node (id, addresses, zone, weight, state). */
function sameTableNodes(a: Record<string, TableNode>, b: Record<string, TableNode>): boolean {
  const ids = Object.keys(a);
  if (ids.length !== Object.keys(b).length) return false;
  return ids.every((id) => {
    const x = a[id];
    const y = b[id];
    return y !== undefined && x.address === y.address && x.internal === y.internal && x.zone === y.zone && x.weight === y.weight && x.state === y.state;
  });
}

/** Whether two tables list the same node ids, each in a state that serves (or not) alike. */
function sameNodeSet(a: PartitionTable, b: PartitionTable): boolean {
  const ids = Object.keys(b.nodes);
  if (ids.length !== Object.keys(a.nodes).length) return false;
  const serving = (n: TableNode | undefined): boolean => n !== undefined && n.state !== 'out' && n.state !== 'left';
  return ids.every((id) => a.nodes[id] !== undefined && serving(a.nodes[id]) === serving(b.nodes[id]));
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

function placeable(m: Member): boolean {
  return m.state === 'up' || m.state === 'down';
}

function moveKey(partition: number, node: string): string {
  return `${partition}:${node}`;
}

/** Sources one copy report may name (a partition has at most the largest K of active replicas). */
const HANDOFF_SOURCES_MAX = 16;

function validateHandoff(x: unknown, digits: number): HandoffReport {
  const r = x as Partial<HandoffReport>;
  const ok = typeof r === 'object' && r !== null &&
    Number.isInteger(r.partition) && r.partition! >= 0 && r.partition! < partitionCount(digits) &&
    Number.isSafeInteger(r.keysCopied) && r.keysCopied! >= 0 &&
    Number.isSafeInteger(r.bytesCopied) && r.bytesCopied! >= 0 &&
    typeof r.done === 'boolean' &&
    (r.bytesTotal === undefined || (Number.isSafeInteger(r.bytesTotal) && r.bytesTotal >= 0)) &&
    (r.sources === undefined || (Array.isArray(r.sources) && r.sources.length <= HANDOFF_SOURCES_MAX && r.sources.every((s) => typeof s === 'string'))) &&
    (r.keysRecovered === undefined || (Number.isSafeInteger(r.keysRecovered) && r.keysRecovered >= 0));
  if (!ok) throw new FogError('FOG_ERR_BAD_REQUEST', 'handoff report needs partition, keysCopied, bytesCopied, done (and optionally bytesTotal, sources[], keysRecovered)');
  return r as HandoffReport;
}

/** What must never happen in a published table: crash loudly rather than serve it. */
export function assertTable(t: PartitionTable, previous: PartitionTable | null = null): void {
  if (previous && t.epoch <= previous.epoch) throw new Error(`epoch went from ${previous.epoch} to ${t.epoch}`);
  if (t.partitions.length !== partitionCount(t.digits)) throw new Error(`table has ${t.partitions.length} partitions, expected ${partitionCount(t.digits)}`);
  const serving = Object.values(t.nodes).filter((n) => n.state !== 'out' && n.state !== 'left').length;
  const want = Math.min(t.redundancy, serving);
  // Runs on every epoch over every partition: plain loops, no allocation per partition. An
  // entry shared with the previous table was checked then, unless what it is checked against
  // (the node list, the replica count owed) changed since.
  const same = previous !== null && sameNodeSet(previous, t) &&
    Math.min(previous.redundancy, Object.values(previous.nodes).filter((n) => n.state !== 'out' && n.state !== 'left').length) === want;
  for (let p = 0; p < t.partitions.length; p++) {
    const entry = t.partitions[p];
    if (same && previous.partitions[p] === entry) continue;
    if (entry.replicas.length + entry.pending.length < want) {
      throw new Error(`partition ${p} has ${entry.replicas.length} replicas and ${entry.pending.length} pending, fewer than ${want}`);
    }
    if (entry.replicas.length === 0 && want > 0) throw new Error(`partition ${p} has no active replica`);
    const all = entry.pending.length === 0 ? entry.replicas : [...entry.replicas, ...entry.pending];
    for (let i = 0; i < all.length; i++) {
      if (!t.nodes[all[i]]) throw new Error(`partition ${p} names unknown node ${all[i]}`);
      for (let j = 0; j < i; j++) if (all[j] === all[i]) throw new Error(`partition ${p} names a node twice`);
    }
  }
}
