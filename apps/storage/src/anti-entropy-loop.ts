import type express from 'express';
import fs from 'node:fs';
import path from 'node:path';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import {
  ANTI_ENTROPY_DEFAULTS, ANTI_ENTROPY_PATHS, ContactTracker, DIGEST_BUCKETS, TOMBSTONE_GC_PASSES_PER_GRACE, TREE_GROUPS_MAX, nextPassDelayMs,
  diffRequestProblem, digestRequestProblem, handleDiff, handleDigest, handlePush, handleSummaries, handleTree,
  peersOf, pushRequestProblem, runPass, runRound, serving, sharedPartitions,
  summaryRequestProblem, treeRequestProblem, type DiffRequest, type DigestRequest, type PassLocal, type PassStats, type PassTransport,
  type PassOutcome, type PushRequest, type SummaryRequest, type SyncKind, type SyncReply, type TreeRequest,
} from '@fog/replica-sync';
import { asyncHandler, op, type Logger } from '@fog/http-kit';
import type { Entry } from '@fog/lww';
import { FogError, PARTITION_DIGITS_MAX, internalAddressOf, partitionCount, type PartitionTable } from '@fog/protocol';
import type { ReplicaEngine } from '@fog/storage-core';
import type { PeerSyncClient } from './peer-sync-client';
import type { Persistence } from './persistence';

/** The anti-entropy message kinds (the sync kinds but the partition page). */
export type AeKind = Exclude<SyncKind, 'page'>;
export const AE_KINDS: readonly AeKind[] = ['tree', 'summaries', 'digest', 'diff', 'push'];

export interface AntiEntropyConfig {
  antiEntropyIntervalMs: number;
  /** False: start no pass (answer peers, collect tombstones). */
  antiEntropyEnabled?: boolean;
  antiEntropyPartitionsPerRoundMax: number;
  antiEntropyKeysPerRoundMax: number;
  antiEntropyEntryBytesPerMessageMax: number;
  antiEntropyRequestTimeoutMs: number;
  tombstoneGraceMs: number;
  /** Where the last peer contact time is kept across restarts (none: in memory only). */
  dataDir?: string;
}

/** What a replier accepts in one request, whatever the requester's own bounds. */
export const ANTI_ENTROPY_RECEIVE_LIMITS = {
  /** Partitions in one digest request. */
  partitionsPerRequestMax: 1024,
  /** Versions in one diff request, or entries in one push. */
  keysPerRequestMax: 50_000,
  /** Group summaries in one tree request. */
  groupsPerRequestMax: TREE_GROUPS_MAX,
  /** Partition summaries in one summaries request. */
  summariesPerRequestMax: ANTI_ENTROPY_DEFAULTS.summariesPerRequestMax,
} as const;

/** Seconds: a pass that found nothing to a catch-up pass moving many keys. */
const PASS_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const CONTACT_FILE = 'peer-contact.json';

/** Rounds one partition's reconciliation with one peer may take before it is tried again later. */
const SYNC_PARTITION_ROUNDS_MAX = 64;

/**
 * Anti-entropy for one storage node (decisions in libs/replica-sync): a pass compares, with
 * every peer that is up, all the partitions both hold through the hash tree — one exchange
 * when nothing differs, whatever D is — then exchanges the buckets and keys of the partitions
 * that differ, within bounds. A pass that leaves differences is followed by another at once
 * (catch-up); otherwise the next comes after the interval. A pass runs at once when the node
 * starts and whenever a peer (or the node itself) comes back up. Serves the same exchange to
 * peers, confirms released partitions before they are dropped, and purges tombstones.
 */
export class AntiEntropyLoop {
  private readonly divergent = new Map<number, boolean>();
  private readonly tracker: ContactTracker;
  private readonly local: PassLocal;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private started = false;
  private running = false;
  private kickAgain = false;
  /** Where the repair of differing partitions resumes (persisted with the contact time). */
  private cursor = -1;
  private roundNo = 0;
  private lastGcMs = Date.now();
  private lastContactWrittenMs = 0;
  /** Released partitions being confirmed with their new replicas: the exchange treats them as held. */
  private readonly confirming = new Set<number>();
  private sharedCache: { epoch: number; byPeer: Map<string, number[]> } = { epoch: -1, byPeer: new Map() };
  private lastPass: { startedAtMs: number; ms: number; partitionsCompared: number; partitionsDiffering: number; workLeft: boolean } | null = null;
  private readonly m: {
    rounds: Counter;
    exchanges: Counter<'outcome'>;
    repaired: Counter<'via'>;
    covered: Counter<'action'>;
    purged: Counter;
    passSeconds: Histogram;
    differing: Counter;
    missing: Counter<'side'>;
  };

  constructor(
    private readonly engine: ReplicaEngine,
    private readonly cfg: AntiEntropyConfig,
    private readonly log: Logger,
    registry: Registry,
    private persistence: Persistence | null,
    private readonly refreshTable: () => Promise<void>,
    /** How this node speaks to its peers (binary frames or HTTP). */
    private readonly peers: PeerSyncClient,
  ) {
    const saved = this.readContact();
    this.tracker = new ContactTracker(cfg.tombstoneGraceMs, saved.lastContactMs);
    this.cursor = saved.cursor;
    this.local = this.makeLocal();
    const divergent = this.divergent;
    const tracker = this.tracker;
    this.m = {
      rounds: new Counter({ name: 'fog_storage_anti_entropy_rounds_total', help: 'Anti-entropy passes this node started.', registers: [registry] }),
      exchanges: new Counter({ name: 'fog_storage_anti_entropy_exchanges_total', help: 'Anti-entropy requests to peers, by outcome (ok, failed).', labelNames: ['outcome'] as const, registers: [registry] }),
      repaired: new Counter({
        name: 'fog_storage_anti_entropy_keys_repaired_total',
        help: 'Entries anti-entropy stored on this node, by how: pull (taken from a peer), push (sent by a peer), retire (a value a peer\'s purge horizon covers, replaced by a tombstone while rejoining).',
        labelNames: ['via'] as const, registers: [registry],
      }),
      covered: new Counter({
        name: 'fog_storage_anti_entropy_covered_keys_total',
        help: 'Values held here that a peer lacks and whose stamps its purge horizon covers, by action: retired (this node was rejoining) or kept (left divergent; see docs/durability.md).',
        labelNames: ['action'] as const, registers: [registry],
      }),
      purged: new Counter({ name: 'fog_storage_tombstones_purged_total', help: 'Tombstones purged after the grace period.', registers: [registry] }),
      passSeconds: new Histogram({ name: 'fog_storage_anti_entropy_pass_seconds', help: 'Duration of one anti-entropy pass over every partition shared with every peer that is up.', buckets: PASS_BUCKETS_SECONDS, registers: [registry] }),
      differing: new Counter({ name: 'fog_storage_anti_entropy_partitions_differing_total', help: 'Shared partitions an anti-entropy pass found different from a peer (summed over passes and peers).', registers: [registry] }),
      missing: new Counter({
        name: 'fog_storage_anti_entropy_missed_entries_total',
        help: `Entries older than ${ANTI_ENTROPY_DEFAULTS.settleMs} ms that anti-entropy found one replica lacking while another held them, by side: here (this node lacked them) or peer.`,
        labelNames: ['side'] as const, registers: [registry],
      }),
    };
    new Gauge({
      name: 'fog_storage_divergent_partitions', help: 'Held partitions whose last anti-entropy comparison found a difference with a peer.', registers: [registry],
      collect() {
        let n = 0;
        for (const d of divergent.values()) if (d) n++;
        this.set(n);
      },
    });
    new Gauge({ name: 'fog_storage_anti_entropy_rejoining_partitions', help: 'Partitions being re-checked after this node was out of contact longer than the tombstone grace period.', registers: [registry], collect() { this.set(tracker.rejoiningPartitions); } });
    new Gauge({ name: 'fog_storage_tombstone_grace_seconds', help: 'Tombstone grace period.', registers: [registry], collect() { this.set(cfg.tombstoneGraceMs / 1000); } });
    new Gauge({ name: 'fog_storage_anti_entropy_interval_seconds', help: 'Pause between anti-entropy passes that left nothing to do.', registers: [registry], collect() { this.set(cfg.antiEntropyIntervalMs / 1000); } });
  }

  /** Horizons raised by tombstone collection are logged there (set once the data dir is open). */
  setPersistence(p: Persistence): void {
    this.persistence = p;
  }

  start(): void {
    this.started = true;
    if (this.cfg.antiEntropyEnabled === false) this.log.warn('anti-entropy is off (--anti-entropy off): this node starts no pass; replicas converge only by hints, read repair and peers\' passes');
    // A node that (re)starts may have missed writes: a full pass at once, not after an interval.
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * A new table: when a peer came back up (or this node did), it may have missed writes, so a
   * pass runs now rather than after the interval.
   */
  onTable(before: PartitionTable | null, after: PartitionTable): void {
    if (!before) {
      this.kick();
      return;
    }
    for (const [id, n] of Object.entries(after.nodes)) {
      const was = before.nodes[id]?.state;
      if (n.state === 'up' && was !== 'up') {
        this.kick();
        return;
      }
    }
  }

  stats(): Record<string, number | boolean | null> {
    let divergent = 0;
    for (const d of this.divergent.values()) if (d) divergent++;
    return {
      rounds: this.roundNo, divergentPartitions: divergent, rejoiningPartitions: this.tracker.rejoiningPartitions, lastContactMs: this.tracker.lastContactMs ?? -1,
      lastPassMs: this.lastPass?.ms ?? null, lastPassPartitionsCompared: this.lastPass?.partitionsCompared ?? null,
      lastPassPartitionsDiffering: this.lastPass?.partitionsDiffering ?? null, lastPassWorkLeft: this.lastPass?.workLeft ?? null,
    };
  }

  /** The replier side: five internal routes (their binary form calls `answer` too). */
  mount(app: express.Express, json: express.RequestHandler): void {
    for (const kind of AE_KINDS) {
      app.post(ANTI_ENTROPY_PATHS[kind], op(`ae_${kind}`), json, asyncHandler(async (req, res) => {
        res.json(this.answer(kind, req.body).body);
      }));
    }
  }

  /**
   * Answer one anti-entropy message from a peer, whichever form it came in: checked within this
   * node's receive limits first (a FogError, nothing applied, when it is malformed).
   */
  answer(kind: AeKind, body: unknown): SyncReply {
    const limits = ANTI_ENTROPY_RECEIVE_LIMITS;
    const check = (problem: string | null): void => {
      if (problem) throw new FogError('FOG_ERR_BAD_REQUEST', problem);
    };
    switch (kind) {
      case 'tree':
        check(treeRequestProblem(body, limits.groupsPerRequestMax, partitionCount(PARTITION_DIGITS_MAX)));
        return { kind, body: handleTree(this.local, body as TreeRequest) };
      case 'summaries':
        check(summaryRequestProblem(body, limits.summariesPerRequestMax));
        return { kind, body: handleSummaries(this.local, body as SummaryRequest) };
      case 'digest':
        check(digestRequestProblem(body, DIGEST_BUCKETS, limits.partitionsPerRequestMax));
        return { kind, body: handleDigest(this.local, body as DigestRequest) };
      case 'diff': {
        check(diffRequestProblem(body, DIGEST_BUCKETS, limits.keysPerRequestMax));
        const { reply, coveredKept } = handleDiff(this.local, body as DiffRequest, limits.keysPerRequestMax, this.cfg.antiEntropyEntryBytesPerMessageMax);
        this.countKept(coveredKept);
        return { kind, body: reply };
      }
      case 'push':
        check(pushRequestProblem(body, limits.keysPerRequestMax));
        return { kind, body: handlePush(this.local, body as PushRequest) };
    }
  }

  /**
   * Reconcile one partition with one peer until every difference was exchanged (a partition
   * copy's second phase: what the primary source lacked comes from here). Resolves with what
   * was stored here; rejects when the peer cannot be reached.
   */
  async syncPartition(partition: number, peer: string, onBytes: (bytes: number) => Promise<void>): Promise<{ synced: boolean; pulled: number; bytes: number }> {
    const table = this.engine.currentTable();
    if (!table) throw new Error('no table');
    let pulled = 0;
    let bytes = 0;
    const transport = this.transport(table.nodes);
    const counting: PassTransport = {
      ...transport,
      diff: async (id, req) => {
        const reply = await transport.diff(id, req);
        let size = 0;
        for (const e of reply.entries) size += e.val === null ? 0 : Math.floor((e.val.length * 3) / 4);
        bytes += size;
        await onBytes(size);
        return reply;
      },
    };
    for (let i = 0; i < SYNC_PARTITION_ROUNDS_MAX; i++) {
      const stats = await runRound(this.local, counting, { partitions: [partition], peersOf: () => [peer] }, this.roundLimits());
      pulled += stats.pulled;
      if (stats.failedExchanges > 0) throw new Error(`anti-entropy exchange with ${peer} failed`);
      if (stats.synced.includes(partition) || !stats.divergence.has(partition)) return { synced: stats.synced.includes(partition), pulled, bytes };
    }
    return { synced: false, pulled, bytes };
  }

  /**
   * Before a released partition is dropped: push to each of its current replicas whatever they
   * lack of what this node holds. True once every one of them completed the exchange (the new
   * replica set confirmed it holds this node's data); false to try again later.
   */
  async confirmRelease(partition: number): Promise<boolean> {
    const table = this.engine.currentTable();
    if (!table || this.engine.holds(partition)) return false;
    const entry = table.partitions[partition];
    if (!entry || entry.pending.length > 0 || entry.replicas.length === 0) return false;
    if (!entry.replicas.every((id) => serving(table.nodes[id]?.state))) return false;
    this.confirming.add(partition);
    try {
      const stats = await runRound(this.local, this.transport(table.nodes), { partitions: [partition], peersOf: () => [...entry.replicas] }, this.roundLimits());
      if (stats.pushed > 0) {
        this.log.warn('released partition: its new replicas lacked entries this node held; pushed them before dropping', { partition, pushed: stats.pushed });
      }
      return stats.failedExchanges === 0 && stats.synced.includes(partition);
    } finally {
      this.confirming.delete(partition);
    }
  }

  private roundLimits(): { buckets: number; keysPerRoundMax: number; entryBytesPerMessageMax: number } {
    return { buckets: DIGEST_BUCKETS, keysPerRoundMax: this.cfg.antiEntropyKeysPerRoundMax, entryBytesPerMessageMax: this.cfg.antiEntropyEntryBytesPerMessageMax };
  }

  private makeLocal(): PassLocal {
    const engine = this.engine;
    const holds = (p: number) => engine.holds(p) || this.confirming.has(p);
    return {
      id: engine.nodeId,
      epoch: () => engine.epoch(),
      holds,
      entries: (p) => engine.store.entries(p),
      get: (p, key) => engine.store.get(p, key),
      horizonMs: (p) => engine.horizonMs(p),
      digest: (p) => engine.digests.digest(p),
      summary: (p) => engine.digests.summary(p),
      total: () => {
        const t = engine.currentTable();
        return t ? t.partitions.length : 1;
      },
      shared: (peer) => this.shared(peer),
      rejoining: (p) => this.tracker.rejoining(p),
      onContact: () => this.onContact(),
      accept: (p, key, entry: Entry, via) => {
        // A released partition being confirmed only gives: it will be dropped.
        if (!engine.holds(p)) return 'unchanged';
        const r = engine.ingest(via === 'retire' ? 'retire' : 'anti_entropy', p, key, entry);
        if (r.outcome === 'applied') {
          // Counted as it happens, so the metrics never lag what /v1/keys shows.
          this.m.repaired.inc({ via });
          if (via === 'retire') this.m.covered.inc({ action: 'retired' });
          else {
            this.countMoved(entry.ver.ms);
            if (entry.ver.ms < Date.now() - ANTI_ENTROPY_DEFAULTS.settleMs) this.m.missing.inc({ side: via === 'pull' ? 'here' : 'peer' });
          }
          return 'applied';
        }
        return r.outcome === 'refused' || r.outcome === 'horizon' ? 'refused' : 'unchanged';
      },
    };
  }

  private shared(peer: string): number[] {
    const t = this.engine.currentTable();
    if (!t) return [];
    if (this.sharedCache.epoch !== t.epoch) this.sharedCache = { epoch: t.epoch, byPeer: new Map() };
    let list = this.sharedCache.byPeer.get(peer);
    if (!list) {
      list = sharedPartitions(t, this.engine.nodeId, peer);
      this.sharedCache.byPeer.set(peer, list);
    }
    return list;
  }

  private onContact(): void {
    // A peer may reach a node that just started before the node has its table: it holds no
    // partition yet, so that contact must not close the gap the rejoining check measures (the
    // node would then keep values whose deletes its peers forgot).
    if (!this.engine.currentTable()) return;
    const now = Date.now();
    const previous = this.tracker.lastContactMs;
    if (this.tracker.onContact(now, this.engine.heldPartitions())) {
      this.log.warn('rejoining: out of contact with peers for longer than the tombstone grace period; values a peer\'s purge horizon covers will be retired', {
        gapMs: previous === null ? null : now - previous, graceMs: this.cfg.tombstoneGraceMs, partitions: this.tracker.rejoiningPartitions,
      });
    }
    this.writeContact(now);
  }

  /** Run a pass as soon as possible (after the one running now, if any). */
  private kick(): void {
    if (this.stopped || !this.started || this.cfg.antiEntropyEnabled === false) return;
    if (this.running) {
      this.kickAgain = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = true;
      this.pass()
        .catch((err: Error): PassOutcome => {
          this.log.error('anti-entropy pass failed', { error: err.message });
          return { workLeft: true, settledMoved: 0, youngMoved: 0, boundReached: false, failedExchanges: 1, passMs: 0 };
        })
        .then((outcome) => {
          this.running = false;
          const again = this.kickAgain;
          this.kickAgain = false;
          this.schedule(again ? ANTI_ENTROPY_DEFAULTS.catchUpDelayMs : nextPassDelayMs(outcome, {
            intervalMs: this.cfg.antiEntropyIntervalMs, catchUpDelayMs: ANTI_ENTROPY_DEFAULTS.catchUpDelayMs, inFlightDutyMax: ANTI_ENTROPY_DEFAULTS.inFlightDutyMax,
          }));
        });
    }, delayMs);
  }

  /** One pass; resolves with what it found, which decides when the next one runs (nextPassDelayMs). */
  private async pass(): Promise<PassOutcome> {
    const now = Date.now();
    const idle: PassOutcome = { workLeft: false, settledMoved: 0, youngMoved: 0, boundReached: false, failedExchanges: 0, passMs: 0 };
    this.collectTombstones(now);
    const table = this.engine.currentTable();
    if (!table || this.cfg.antiEntropyEnabled === false) return idle;
    const held = this.engine.heldPartitions();
    if (held.length === 0) return idle;
    const peers = new Set<string>();
    for (const p of held) for (const id of peersOf(table, p, this.engine.nodeId)) peers.add(id);
    if (peers.size === 0) return idle;
    this.moved.settled = 0;
    this.moved.young = 0;
    this.roundNo++;
    this.m.rounds.inc();
    for (const p of [...this.divergent.keys()]) if (!this.engine.holds(p)) this.divergent.delete(p);
    const started = process.hrtime.bigint();
    const stats = await runPass(this.local, this.transport(table.nodes), [...peers].sort(), {
      buckets: DIGEST_BUCKETS,
      keysPerRoundMax: this.cfg.antiEntropyKeysPerRoundMax,
      entryBytesPerMessageMax: this.cfg.antiEntropyEntryBytesPerMessageMax,
      summariesPerRequestMax: ANTI_ENTROPY_RECEIVE_LIMITS.summariesPerRequestMax,
      partitionsPerPeerPerPassMax: this.cfg.antiEntropyPartitionsPerRoundMax,
    }, this.cursor);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.m.passSeconds.observe(ms / 1000);
    for (const [p, d] of stats.divergence) this.divergent.set(p, d);
    this.tracker.onSynced(stats.synced);
    this.countKept(stats.coveredKept);
    if (stats.differingListed.length > 0) this.cursor = stats.differingListed[stats.differingListed.length - 1];
    if (stats.peerEpochMax > this.engine.epoch()) void this.refreshTable().catch(() => undefined);
    this.lastPass = { startedAtMs: now, ms, partitionsCompared: stats.partitionsCompared, partitionsDiffering: stats.partitionsDiffering, workLeft: stats.workLeft };
    this.logPass(stats, ms);
    return { workLeft: stats.workLeft, settledMoved: this.moved.settled, youngMoved: this.moved.young, boundReached: stats.boundReached, failedExchanges: stats.failedExchanges, passMs: ms };
  }

  /** Entries moved since the pass began, by age: settled (older than settleMs) or young (most likely in flight). */
  private readonly moved = { settled: 0, young: 0 };

  private countMoved(verMs: number): void {
    if (verMs < Date.now() - ANTI_ENTROPY_DEFAULTS.settleMs) this.moved.settled++;
    else this.moved.young++;
  }

  private countKept(kept: number): void {
    if (kept) this.m.covered.inc({ action: 'kept' }, kept);
  }

  private logPass(s: PassStats, ms: number): void {
    this.m.differing.inc(s.partitionsDiffering);
    const moved = s.pulled + s.pushed;
    const eventful = s.partitionsDiffering > 0 || s.failedExchanges > 0 || moved + s.retired + s.refused + s.coveredKept > 0;
    const fields = {
      round: this.roundNo, peers: s.peers, partitionsCompared: s.partitionsCompared, partitionsDiffering: s.partitionsDiffering,
      differing: s.differingListed.join(','), bucketsDiffering: s.bucketsDiffering, keysListed: s.keysListed, pulled: s.pulled, pushed: s.pushed,
      refused: s.refused, retired: s.retired, coveredKept: s.coveredKept, exchanges: s.exchanges, failedExchanges: s.failedExchanges,
      workLeft: s.workLeft, rejoining: this.tracker.rejoiningPartitions, ms: Math.round(ms),
    };
    // Moving entries means one replica lacked what another held: worth an operator's eye (the
    // metric fog_storage_anti_entropy_missed_entries_total tells old misses from in-flight writes).
    if (moved > 0) this.log.warn('anti-entropy found replicas lacking entries another replica held, and repaired them', fields);
    else this.log[eventful ? 'info' : 'debug']('anti-entropy pass', fields);
    this.m.exchanges.inc({ outcome: 'ok' }, s.exchanges);
    if (s.failedExchanges) this.m.exchanges.inc({ outcome: 'failed' }, s.failedExchanges);
  }

  /**
   * Purge tombstones older than the grace period, a few times per grace period, and persist the
   * raised horizons (before the purge can matter: a restart replays them with the tombstones).
   */
  private collectTombstones(now: number): void {
    if (now - this.lastGcMs < this.cfg.tombstoneGraceMs / TOMBSTONE_GC_PASSES_PER_GRACE) return;
    this.lastGcMs = now;
    const { purged, raised } = this.engine.collectTombstones(now - this.cfg.tombstoneGraceMs);
    if (purged === 0) return;
    for (const h of raised) this.persistence?.append({ kind: 'horizon', partition: h.partition, ms: h.ms });
    this.m.purged.inc(purged);
    this.log.info('tombstones purged', { purged, partitionsRaised: raised.length, graceMs: this.cfg.tombstoneGraceMs });
  }

  private transport(nodes: Record<string, { address: string; internal?: string }>): PassTransport {
    const address = (peer: string): string => {
      const node = nodes[peer];
      if (!node) throw new Error(`no address for ${peer}`);
      return internalAddressOf(node);
    };
    const timeoutMs = this.cfg.antiEntropyRequestTimeoutMs;
    return {
      tree: async (peer, body) => this.peers.call(address(peer), { kind: 'tree', body }, timeoutMs),
      summaries: async (peer, body) => this.peers.call(address(peer), { kind: 'summaries', body }, timeoutMs),
      digest: async (peer, body) => this.peers.call(address(peer), { kind: 'digest', body }, timeoutMs),
      diff: async (peer, body) => this.peers.call(address(peer), { kind: 'diff', body }, timeoutMs),
      push: async (peer, body) => {
        for (const e of body.entries) this.countMoved(e.ver.ms);
        return this.peers.call(address(peer), { kind: 'push', body }, timeoutMs);
      },
    };
  }

  // ---- the last contact time, across restarts ----

  private contactFile(): string | null {
    return this.cfg.dataDir ? path.join(this.cfg.dataDir, CONTACT_FILE) : null;
  }

  private readContact(): { lastContactMs: number | null; cursor: number } {
    const file = this.contactFile();
    if (!file) return { lastContactMs: null, cursor: -1 };
    try {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { lastContactMs?: unknown; cursor?: unknown };
      const v = saved.lastContactMs;
      const c = saved.cursor;
      return { lastContactMs: typeof v === 'number' && Number.isFinite(v) ? v : null, cursor: Number.isSafeInteger(c) ? (c as number) : -1 };
    } catch {
      return { lastContactMs: null, cursor: -1 };
    }
  }

  private writeContact(now: number): void {
    const file = this.contactFile();
    // At most once per interval; an error (disk failing) only costs precision after a restart.
    if (!file || now - this.lastContactWrittenMs < this.cfg.antiEntropyIntervalMs) return;
    this.lastContactWrittenMs = now;
    const tmp = `${file}.tmp`;
    fs.promises.writeFile(tmp, JSON.stringify({ lastContactMs: now, cursor: this.cursor })).then(() => fs.promises.rename(tmp, file)).catch(() => undefined);
  }
}
