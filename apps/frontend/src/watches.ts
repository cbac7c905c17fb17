import type { Request, Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ttlHeader, WatchRegistry, type Coordinator, type ReadResult } from '@fog/coordinator';
import type { Logger } from '@fog/http-kit';
import { compareVersions, FogError, HEADERS, WATCH_LIMITS, formatVersion, parseDurationMs, parseVersion, quorumOf, type PartitionTable, type Version } from '@fog/protocol';

export interface WatchesDeps {
  coordinator: Coordinator;
  table: () => PartitionTable | null;
  log: Logger;
  registry: Registry;
  watchersMax?: number;
  pollIntervalMs?: number;
}

interface Pending {
  res: Response;
  /** The version the client gave (echoed on 304 so that it can watch again). */
  watch: string;
}

/**
 * Blocking reads of one key, as Consul's blocking queries: `GET /v1/kv/{key}?watch=VERSION
 * &wait=30s` answers as soon as the key has a version newer than VERSION (`watch=0`: any
 * version), or 304 when the wait ends. The decisions are WatchRegistry's (libs/coordinator);
 * this class wires them to HTTP and one timer.
 *
 * How a frontend learns of writes: writes through this frontend wake the key's watches at once
 * (poke); writes through another frontend are seen by polling: every watchPollIntervalMs each
 * watched key is read once at quorum, whatever its number of watches. Polling needs nothing
 * from storage nodes or other frontends and costs at most watchersMax reads per interval.
 */
export class Watches {
  private readonly registry: WatchRegistry<Pending>;
  private readonly polling = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly pollIntervalMs: number;
  private readonly answers: Counter<'outcome'>;

  constructor(private readonly deps: WatchesDeps) {
    this.registry = new WatchRegistry<Pending>({ watchersMax: deps.watchersMax ?? WATCH_LIMITS.watchersMax });
    this.pollIntervalMs = deps.pollIntervalMs ?? WATCH_LIMITS.watchPollIntervalMs;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client binds `this` in collect()
    const self = this;
    new Gauge({ name: 'fog_frontend_watches', help: 'Watches (?watch=) this frontend holds open.', registers: [deps.registry], collect() { this.set(self.registry.size); } });
    this.answers = new Counter({
      name: 'fog_frontend_watches_total',
      help: 'Watches ended, by outcome: changed (a newer version), timeout (304), closed (the client went away), refused (over the watch limit).',
      labelNames: ['outcome'] as const, registers: [deps.registry],
    });
    for (const o of ['changed', 'timeout', 'closed', 'refused'] as const) this.answers.inc({ outcome: o }, 0);
  }

  start(): void {
    this.timer = setInterval(() => this.tick(Date.now()), this.pollIntervalMs);
  }

  /** Stop polling and answer every open watch 304 (the client watches again elsewhere). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const p of this.registry.expire(Number.POSITIVE_INFINITY)) this.notModified(p);
  }

  /** GET /v1/kv/{key}?watch=VERSION[&wait=DURATION] */
  async handle(req: Request, res: Response, key: string): Promise<void> {
    const watch = single(req.query.watch, 'watch');
    const after = watch === '0' ? null : parseVersion(watch);
    if (watch !== '0' && !after) throw new FogError('FOG_ERR_BAD_REQUEST', 'watch is a version <ms>.<counter>.<writer> as x-fog-version gives it, or 0 for any version');
    const waitText = req.query.wait === undefined ? undefined : single(req.query.wait, 'wait');
    let waitMs: number = WATCH_LIMITS.watchWaitMsDefault;
    if (waitText !== undefined) {
      const w = parseDurationMs(waitText, 0, WATCH_LIMITS.watchWaitMsMax, 'wait');
      if (!w.ok) throw new FogError('FOG_ERR_BAD_REQUEST', w.message, { watchWaitMsMax: WATCH_LIMITS.watchWaitMsMax });
      waitMs = w.ms;
    }
    const first = await this.read(key);
    if (changed(first, after)) {
      this.answer(res, first);
      return;
    }
    const pending: Pending = { res, watch };
    const id = this.registry.add(key, after, Date.now() + waitMs, pending);
    if (id === null) {
      this.answers.inc({ outcome: 'refused' });
      throw new FogError('FOG_ERR_TOO_MANY_WATCHES', undefined, { watchersMax: this.deps.watchersMax ?? WATCH_LIMITS.watchersMax });
    }
    res.on('close', () => {
      if (!res.writableEnded) {
        this.registry.remove(id);
        this.answers.inc({ outcome: 'closed' });
      }
    });
    // A write may have landed between the first read and the registration.
    this.poke(key);
  }

  /** A write of this key went through this frontend: read it now rather than at the next poll. */
  poke(key: string): void {
    if (this.registry.watched(key)) void this.poll(key);
  }

  private tick(nowMs: number): void {
    for (const p of this.registry.expire(nowMs)) this.notModified(p);
    for (const key of this.registry.keys()) void this.poll(key);
  }

  private async poll(key: string): Promise<void> {
    if (this.polling.has(key)) return;
    this.polling.add(key);
    try {
      const result = await this.read(key);
      for (const p of this.registry.observe(key, result.entry?.ver ?? null)) this.answer(p.res, result);
    } catch (err) {
      // The watches stay: the next poll tries again (a quorum may be back by then).
      this.deps.log.debug('watch poll failed', { error: (err as Error).message });
    } finally {
      this.polling.delete(key);
    }
  }

  private read(key: string): Promise<ReadResult> {
    const t = this.deps.table();
    if (!t) throw new FogError('FOG_ERR_NO_TABLE');
    return this.deps.coordinator.read(key, quorumOf(t.redundancy));
  }

  /** The key's new state: the value (200) or, for a delete or an expired value, 404 with its version. */
  private answer(res: Response, result: ReadResult): void {
    this.answers.inc({ outcome: 'changed' });
    if (res.writableEnded || res.destroyed) return;
    res.set(HEADERS.partition, result.partition.toString(16));
    const e = result.entry;
    if (!e || e.value === null) {
      if (e) res.set(HEADERS.version, formatVersion(e.ver));
      const err = new FogError('FOG_ERR_NOT_FOUND');
      res.status(err.status).json(err.toBody());
      return;
    }
    const v = formatVersion(e.ver);
    res.set(HEADERS.version, v).set('ETag', `"${v}"`).set(HEADERS.replicasAcked, String(result.answered));
    const ttl = ttlHeader(e, Date.now());
    if (ttl !== null) res.set(HEADERS.ttlMs, ttl);
    res.type('application/octet-stream').send(e.value);
  }

  private notModified(p: Pending): void {
    this.answers.inc({ outcome: 'timeout' });
    if (p.res.writableEnded || p.res.destroyed) return;
    if (p.watch !== '0') p.res.set(HEADERS.version, p.watch);
    p.res.status(304).end();
  }
}

function single(v: unknown, name: string): string {
  if (typeof v !== 'string') throw new FogError('FOG_ERR_BAD_REQUEST', `give ${name} once`);
  return v;
}

function changed(r: ReadResult, after: Version | null): boolean {
  if (!r.entry) return false;
  return !after || compareVersions(r.entry.ver, after) > 0;
}
