import { FogError, type NodeLoadReport, type NodeLoadView } from '@fog/protocol';

interface Last {
  atMs: number;
  keys: number | null;
  bytes: number | null;
  requestsTotal: number | null;
  requestsPerSec: number | null;
}

/** Checks the optional load a heartbeat carries; a malformed one is refused whole. */
export function validateLoad(x: unknown): NodeLoadReport | undefined {
  if (x === undefined || x === null) return undefined;
  const r = x as Record<string, unknown>;
  const count = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
  if (typeof r !== 'object' || Array.isArray(r) || !count(r.keys) || !count(r.bytes) || !count(r.requestsTotal)) {
    throw new FogError('FOG_ERR_BAD_REQUEST', 'load needs keys, bytes and requestsTotal as non-negative integers (each optional)');
  }
  return { keys: r.keys as number | undefined, bytes: r.bytes as number | undefined, requestsTotal: r.requestsTotal as number | undefined };
}

/**
 * The load each node reported with its heartbeats. Requests per second come from the request
 * counts of two successive reports; a count that went down means the node restarted, and the
 * rate is unknown until the next report.
 */
export class NodeLoadTracker {
  private readonly last = new Map<string, Last>();

  report(id: string, load: NodeLoadReport, nowMs: number): void {
    const prev = this.last.get(id);
    const total = load.requestsTotal ?? null;
    let rps: number | null = null;
    if (prev && total !== null && prev.requestsTotal !== null && total >= prev.requestsTotal && nowMs > prev.atMs) {
      rps = ((total - prev.requestsTotal) / (nowMs - prev.atMs)) * 1000;
    }
    this.last.set(id, { atMs: nowMs, keys: load.keys ?? null, bytes: load.bytes ?? null, requestsTotal: total, requestsPerSec: rps });
  }

  view(id: string): NodeLoadView | undefined {
    const l = this.last.get(id);
    if (!l) return undefined;
    return { keys: l.keys, bytes: l.bytes, requestsPerSec: l.requestsPerSec === null ? null : Math.round(l.requestsPerSec * 10) / 10 };
  }

  /** Forget nodes that are no longer members. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.last.keys()) if (!ids.has(id)) this.last.delete(id);
  }
}
