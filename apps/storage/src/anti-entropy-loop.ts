import axios, { type AxiosInstance } from 'axios';
import type express from 'express';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  ANTI_ENTROPY_PATHS, ContactTracker, DIGEST_BUCKETS, TOMBSTONE_GC_PASSES_PER_GRACE, computeDigest, diffRequestProblem,
  digestRequestProblem, handleDiff, handleDigest, handlePush, isDiffReply, isDigestReply, isPushReply, nextPartitions, peersOf,
  pushRequestProblem, runRound, type AeLocal, type AeTransport, type Digest, type DiffRequest, type DigestRequest, type PushRequest,
  type RoundStats,
} from '@fog/replica-sync';
import { asyncHandler, op, type Logger } from '@fog/http-kit';
import type { Entry } from '@fog/lww';
import { DEFAULT_LIMITS, FogError } from '@fog/protocol';
import { HORIZON_WRITER_ID, type ReplicaEngine } from '@fog/storage-core';
import type { Persistence } from './persistence';

export interface AntiEntropyConfig {
  antiEntropyIntervalMs: number;
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
} as const;

const CONTACT_FILE = 'peer-contact.json';

/**
 * Anti-entropy for one storage node: every interval, compare the digests of a few held
 * partitions with their peer replicas and exchange what differs (see libs/replica-sync);
 * serve the same exchange to peers; purge tombstones past the grace period.
 */
export class AntiEntropyLoop {
  private readonly http: AxiosInstance;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly digests = new Map<number, Digest>();
  private readonly divergent = new Map<number, boolean>();
  private readonly tracker: ContactTracker;
  private readonly local: AeLocal;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private cursor = -1;
  private roundNo = 0;
  private lastGcMs = Date.now();
  private lastContactWrittenMs = 0;
  private readonly m: {
    rounds: Counter;
    exchanges: Counter<'outcome'>;
    repaired: Counter<'via'>;
    covered: Counter<'action'>;
    purged: Counter;
  };

  constructor(
    private readonly engine: ReplicaEngine,
    private readonly cfg: AntiEntropyConfig,
    private readonly log: Logger,
    registry: Registry,
    private persistence: Persistence | null,
    private readonly refreshTable: () => Promise<void>,
  ) {
    this.http = axios.create({
      httpAgent: this.agent,
      timeout: cfg.antiEntropyRequestTimeoutMs,
      maxRedirects: 0,
      proxy: false,
      maxBodyLength: DEFAULT_LIMITS.internalBodyBytesMax,
      maxContentLength: DEFAULT_LIMITS.internalBodyBytesMax,
      headers: { 'content-type': 'application/json' },
      validateStatus: (s) => s === 200,
    });
    this.tracker = new ContactTracker(cfg.tombstoneGraceMs, this.readContact());
    this.local = this.makeLocal();
    const divergent = this.divergent;
    const tracker = this.tracker;
    this.m = {
      rounds: new Counter({ name: 'fog_storage_anti_entropy_rounds_total', help: 'Anti-entropy rounds this node started.', registers: [registry] }),
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
    new Gauge({ name: 'fog_storage_anti_entropy_interval_seconds', help: 'Pause between anti-entropy rounds.', registers: [registry], collect() { this.set(cfg.antiEntropyIntervalMs / 1000); } });
  }

  /** Horizons raised by tombstone collection are logged there (set once the data dir is open). */
  setPersistence(p: Persistence): void {
    this.persistence = p;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.agent.destroy();
  }

  /** The partition changed: its cached digest is stale. */
  invalidate(partition: number): void {
    this.digests.delete(partition);
  }

  stats(): Record<string, number> {
    let divergent = 0;
    for (const d of this.divergent.values()) if (d) divergent++;
    return { rounds: this.roundNo, divergentPartitions: divergent, rejoiningPartitions: this.tracker.rejoiningPartitions, lastContactMs: this.tracker.lastContactMs ?? -1 };
  }

  /** The replier side: three internal routes. */
  mount(app: express.Express, json: express.RequestHandler): void {
    const limits = ANTI_ENTROPY_RECEIVE_LIMITS;
    app.post(ANTI_ENTROPY_PATHS.digest, op('ae_digest'), json, asyncHandler(async (req, res) => {
      const problem = digestRequestProblem(req.body, DIGEST_BUCKETS, limits.partitionsPerRequestMax);
      if (problem) throw new FogError('FOG_ERR_BAD_REQUEST', problem);
      res.json(handleDigest(this.local, req.body as DigestRequest));
    }));
    app.post(ANTI_ENTROPY_PATHS.diff, op('ae_diff'), json, asyncHandler(async (req, res) => {
      const problem = diffRequestProblem(req.body, DIGEST_BUCKETS, limits.keysPerRequestMax);
      if (problem) throw new FogError('FOG_ERR_BAD_REQUEST', problem);
      const { reply, coveredKept } = handleDiff(this.local, req.body as DiffRequest, limits.keysPerRequestMax, this.cfg.antiEntropyEntryBytesPerMessageMax);
      this.countKept(coveredKept);
      res.json(reply);
    }));
    app.post(ANTI_ENTROPY_PATHS.push, op('ae_push'), json, asyncHandler(async (req, res) => {
      const problem = pushRequestProblem(req.body, limits.keysPerRequestMax);
      if (problem) throw new FogError('FOG_ERR_BAD_REQUEST', problem);
      res.json(handlePush(this.local, req.body as PushRequest));
    }));
  }

  private makeLocal(): AeLocal {
    const engine = this.engine;
    return {
      id: engine.nodeId,
      epoch: () => engine.epoch(),
      holds: (p) => engine.holds(p),
      entries: (p) => engine.store.entries(p),
      get: (p, key) => engine.store.get(p, key),
      horizonMs: (p) => engine.horizonMs(p),
      digest: (p) => {
        let d = this.digests.get(p);
        if (!d) {
          d = computeDigest(this.local, p, DIGEST_BUCKETS);
          this.digests.set(p, d);
        }
        return d;
      },
      rejoining: (p) => this.tracker.rejoining(p),
      onContact: () => this.onContact(),
      accept: (p, key, entry: Entry, via) => {
        if (engine.admit(p, key, entry)) return 'refused';
        const r = engine.mergeEntry(p, key, entry);
        if (r.outcome === 'applied') {
          // Counted as it happens, so the metrics never lag what /v1/keys shows.
          this.m.repaired.inc({ via });
          if (via === 'retire') this.m.covered.inc({ action: 'retired' });
          return 'applied';
        }
        return r.outcome === 'stale' && r.current.ver.w === HORIZON_WRITER_ID ? 'refused' : 'unchanged';
      },
    };
  }

  private onContact(): void {
    const now = Date.now();
    const previous = this.tracker.lastContactMs;
    if (this.tracker.onContact(now, this.engine.heldPartitions())) {
      this.log.warn('rejoining: out of contact with peers for longer than the tombstone grace period; values a peer\'s purge horizon covers will be retired', {
        gapMs: previous === null ? null : now - previous, graceMs: this.cfg.tombstoneGraceMs, partitions: this.tracker.rejoiningPartitions,
      });
    }
    this.writeContact(now);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round().catch((err: Error) => this.log.error('anti-entropy round failed', { error: err.message })).finally(() => this.schedule());
    }, this.cfg.antiEntropyIntervalMs);
  }

  private async round(): Promise<void> {
    const now = Date.now();
    this.collectTombstones(now);
    const table = this.engine.currentTable();
    if (!table) return;
    const held = this.engine.heldPartitions();
    const partitions = nextPartitions(held, this.cursor, this.cfg.antiEntropyPartitionsPerRoundMax);
    if (partitions.length === 0) return;
    this.cursor = partitions[partitions.length - 1];
    this.roundNo++;
    this.m.rounds.inc();
    for (const p of [...this.divergent.keys()]) if (!this.engine.holds(p)) this.divergent.delete(p);
    const started = process.hrtime.bigint();
    const stats = await runRound(this.local, this.transport(table.nodes), {
      partitions,
      peersOf: (p) => peersOf(table, p, this.engine.nodeId),
    }, {
      buckets: DIGEST_BUCKETS,
      keysPerRoundMax: this.cfg.antiEntropyKeysPerRoundMax,
      entryBytesPerMessageMax: this.cfg.antiEntropyEntryBytesPerMessageMax,
    });
    for (const [p, d] of stats.divergence) this.divergent.set(p, d);
    this.tracker.onSynced(stats.synced);
    this.countKept(stats.coveredKept);
    if (stats.peerEpochMax > this.engine.epoch()) void this.refreshTable().catch(() => undefined);
    this.logRound(stats, Number(process.hrtime.bigint() - started) / 1e6);
  }

  private countKept(kept: number): void {
    if (kept) this.m.covered.inc({ action: 'kept' }, kept);
  }

  private logRound(s: RoundStats, ms: number): void {
    let divergent = 0;
    for (const d of s.divergence.values()) if (d) divergent++;
    const eventful = divergent > 0 || s.failedExchanges > 0 || s.pulled + s.pushed + s.retired + s.refused + s.coveredKept > 0;
    // One line per round: at info when it found or changed something, at debug when all agreed.
    this.log[eventful ? 'info' : 'debug']('anti-entropy round', {
      round: this.roundNo, partitions: s.partitions, compared: s.divergence.size, divergentPartitions: divergent,
      bucketsDiffering: s.bucketsDiffering, keysListed: s.keysListed, pulled: s.pulled, pushed: s.pushed, refused: s.refused,
      retired: s.retired, coveredKept: s.coveredKept, exchanges: s.exchanges, failedExchanges: s.failedExchanges,
      budgetExhausted: s.budgetExhausted, rejoining: this.tracker.rejoiningPartitions, ms: Math.round(ms),
    });
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
    this.digests.clear();
    this.m.purged.inc(purged);
    this.log.info('tombstones purged', { purged, partitionsRaised: raised.length, graceMs: this.cfg.tombstoneGraceMs });
  }

  private transport(nodes: Record<string, { address: string }>): AeTransport {
    const url = (peer: string, p: string) => {
      const node = nodes[peer];
      if (!node) throw new Error(`no address for ${peer}`);
      return `http://${node.address}${p}`;
    };
    const post = async <T>(peer: string, p: string, body: unknown, check: (x: unknown) => x is T): Promise<T> => {
      const res = await this.http.post<unknown>(url(peer, p), body);
      if (!check(res.data)) throw new Error(`malformed anti-entropy reply from ${peer}`);
      return res.data;
    };
    return {
      digest: (peer, req) => post(peer, ANTI_ENTROPY_PATHS.digest, req, isDigestReply),
      diff: (peer, req) => post(peer, ANTI_ENTROPY_PATHS.diff, req, isDiffReply),
      push: (peer, req) => post(peer, ANTI_ENTROPY_PATHS.push, req, isPushReply),
    };
  }

  // ---- the last contact time, across restarts ----

  private contactFile(): string | null {
    return this.cfg.dataDir ? path.join(this.cfg.dataDir, CONTACT_FILE) : null;
  }

  private readContact(): number | null {
    const file = this.contactFile();
    if (!file) return null;
    try {
      const v = (JSON.parse(fs.readFileSync(file, 'utf8')) as { lastContactMs?: unknown }).lastContactMs;
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    } catch {
      return null;
    }
  }

  private writeContact(now: number): void {
    const file = this.contactFile();
    // At most once per interval; an error (disk failing) only costs precision after a restart.
    if (!file || now - this.lastContactWrittenMs < this.cfg.antiEntropyIntervalMs) return;
    this.lastContactWrittenMs = now;
    const tmp = `${file}.tmp`;
    fs.promises.writeFile(tmp, JSON.stringify({ lastContactMs: now })).then(() => fs.promises.rename(tmp, file)).catch(() => undefined);
  }
}
