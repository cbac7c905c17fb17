/**
 * The client load of a chaos run: unique-key writes, hot-key writes and hot-key reads through
 * the frontends' v1 API at the default consistency (w=quorum, r=quorum), each recorded with its
 * start and end on the client's monotonic clock and the version the frontend answered with.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseVersion } from '@fog/protocol';
import { History, type OpRecord, type Rng } from '@fog/sim';

export interface WorkloadOptions {
  /** Concurrent clients, each one operation at a time. */
  clients: number;
  /** Pause of a client between two operations. */
  thinkMs: number;
  hotKeys: number;
  /** Prefix of every key, so that two runs on one cluster never share a key. */
  keyPrefix: string;
}

/** Bounds of one client request. */
export const WORKLOAD_LIMITS = {
  /** A request that has not answered by then counts as failed (its outcome unknown). */
  requestTimeoutMs: 5000,
} as const;

const MIX = { uniqueWrite: 0.35, hotWrite: 0.3 } as const; // the rest: hot-key reads

export class Workload {
  readonly history = new History();
  private running = false;
  private loops: Promise<void>[] = [];
  private nextUnique = 0;
  private readonly t0 = performance.now();
  readonly errors = new Map<string, number>();

  constructor(
    private readonly frontends: () => string[],
    private readonly rng: Rng,
    private readonly opts: WorkloadOptions,
  ) {}

  /** Milliseconds since the workload was made (the history's time base). */
  now(): number {
    return performance.now() - this.t0;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.opts.clients; i++) this.loops.push(this.loop(this.rng.fork()));
  }

  /** Stop issuing operations; resolves when every client's last operation has ended. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  hotKey(i: number): string {
    return `${this.opts.keyPrefix}hot-${i}`;
  }

  private async loop(rng: Rng): Promise<void> {
    while (this.running) {
      const urls = this.frontends();
      const url = rng.pick(urls);
      const draw = rng.next();
      if (draw < MIX.uniqueWrite) await this.write(url, `${this.opts.keyPrefix}u-${this.nextUnique++}`);
      else if (draw < MIX.uniqueWrite + MIX.hotWrite) await this.write(url, this.hotKey(rng.int(0, this.opts.hotKeys - 1)));
      else await this.read(url, this.hotKey(rng.int(0, this.opts.hotKeys - 1)));
      await sleep(this.opts.thinkMs);
    }
  }

  private async write(url: string, key: string): Promise<void> {
    const value = `v${this.history.ops.length}`;
    const op = this.history.begin('write', key, url, this.now(), value);
    try {
      const res = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { method: 'PUT', body: value, signal: AbortSignal.timeout(WORKLOAD_LIMITS.requestTimeoutMs) });
      const body = await res.text();
      this.finish(op, res.ok, res.ok ? parseVersion(res.headers.get('x-fog-version') ?? '') : null, value, res.ok ? undefined : failure(res.status, body));
      if (op.ok) this.history.recordAck(op);
    } catch (err) {
      this.finish(op, false, null, value, (err as Error).name);
    }
  }

  private async read(url: string, key: string): Promise<void> {
    const op = this.history.begin('read', key, url, this.now(), null);
    try {
      const res = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(WORKLOAD_LIMITS.requestTimeoutMs) });
      const body = await res.text();
      if (res.status === 404) this.finish(op, true, null, null);
      else if (res.ok) this.finish(op, true, parseVersion(res.headers.get('x-fog-version') ?? ''), body);
      else this.finish(op, false, null, null, failure(res.status, body));
    } catch (err) {
      this.finish(op, false, null, null, (err as Error).name);
    }
  }

  private finish(op: OpRecord, ok: boolean, ver: OpRecord['ver'], value: string | null, error?: string): void {
    op.endMs = this.now();
    op.ok = ok && (op.kind === 'read' || ver !== null);
    op.ver = ver;
    op.value = value;
    if (!op.ok) {
      const why = error ?? 'no version header';
      op.error = why;
      this.errors.set(why, (this.errors.get(why) ?? 0) + 1);
    }
  }
}

/** `HTTP 503 FOG_ERR_QUORUM_NOT_MET`: the status and the error code of a refused request. */
function failure(status: number, body: string): string {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? `HTTP ${status} ${code}` : `HTTP ${status}`;
  } catch {
    return `HTTP ${status}`;
  }
}
