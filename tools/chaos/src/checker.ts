/**
 * The checker of a chaos run's history: pure, given what the workload recorded and what the
 * replicas hold once they agree. Times are the client's own monotonic milliseconds, so "acked
 * before started" is real-time order as the client saw it.
 */
import type { Version } from '@fog/protocol';
import { compareVersions, formatVer, type OpRecord } from '@fog/sim';

export type Violation =
  | 'lost-write'
  | 'order-inverted'
  | 'stale-quorum-read'
  | 'wrong-value';

export interface Finding {
  violation: Violation;
  key: string;
  message: string;
}

/** A key's entry once every replica agrees (null: no replica holds it). */
export interface FinalEntry {
  ver: Version | null;
  value: string | null;
}

export interface CheckResult {
  findings: Finding[];
  counts: Record<Violation, number>;
  writesAcked: number;
  readsChecked: number;
  keysChecked: number;
}

/** The first findings of each kind are kept in full; the rest only counted. */
export const FINDINGS_KEPT_PER_KIND_MAX = 20;

/**
 * - lost-write: a write was acknowledged, and what the replicas finally hold for its key is
 *   older than it (or nothing).
 * - order-inverted: a write that started after another write of its key was acknowledged was
 *   itself acknowledged with an older version.
 * - stale-quorum-read: a read (r=quorum) that started after a write of its key was
 *   acknowledged (w=quorum) returned an older version, or nothing.
 * - wrong-value: a read or the final state holds a version some write produced, with another
 *   value.
 */
export function checkHistory(ops: readonly OpRecord[], final: ReadonlyMap<string, FinalEntry>): CheckResult {
  const counts: Record<Violation, number> = { 'lost-write': 0, 'order-inverted': 0, 'stale-quorum-read': 0, 'wrong-value': 0 };
  const findings: Finding[] = [];
  const report = (violation: Violation, key: string, message: string) => {
    counts[violation]++;
    if (counts[violation] <= FINDINGS_KEPT_PER_KIND_MAX) findings.push({ violation, key, message });
  };
  const byKey = new Map<string, OpRecord[]>();
  for (const op of ops) {
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  let writesAcked = 0;
  let readsChecked = 0;
  for (const [key, list] of byKey) {
    const acked = list.filter((op) => op.kind === 'write' && op.ok === true && op.ver !== null && op.endMs !== null);
    acked.sort((a, b) => a.endMs! - b.endMs!);
    writesAcked += acked.length;
    // prefixNewest[i]: the newest of acked[0..i], by version.
    const prefixNewest: OpRecord[] = [];
    for (const w of acked) {
      const prev = prefixNewest[prefixNewest.length - 1];
      prefixNewest.push(prev && compareVersions(prev.ver!, w.ver!) >= 0 ? prev : w);
    }
    const newestAckedBefore = (startMs: number): OpRecord | null => {
      let lo = 0;
      let hi = acked.length; // first index with endMs >= startMs
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (acked[mid].endMs! < startMs) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? null : prefixNewest[lo - 1];
    };
    const valueOf = new Map<string, string | null>();
    for (const w of acked) valueOf.set(formatVer(w.ver), w.value);

    for (const op of list) {
      if (op.ok !== true || op.endMs === null) continue;
      const before = newestAckedBefore(op.startMs);
      if (op.kind === 'write') {
        if (before && op.ver && compareVersions(op.ver, before.ver!) <= 0) {
          report('order-inverted', key, `write #${op.id} of ${key} started at ${ms(op.startMs)} after write #${before.id} was acknowledged at ${ms(before.endMs!)} with ${formatVer(before.ver)}, but was acknowledged with ${formatVer(op.ver)}`);
        }
        continue;
      }
      readsChecked++;
      if (before && (op.ver === null || compareVersions(op.ver, before.ver!) < 0)) {
        report('stale-quorum-read', key, `read #${op.id} of ${key} started at ${ms(op.startMs)} returned ${formatVer(op.ver)}, older than write #${before.id} acknowledged at ${ms(before.endMs!)} with ${formatVer(before.ver)}`);
      }
      if (op.ver && valueOf.has(formatVer(op.ver)) && valueOf.get(formatVer(op.ver)) !== op.value) {
        report('wrong-value', key, `read #${op.id} of ${key} returned ${formatVer(op.ver)} with a value other than the one written with it`);
      }
    }

    if (acked.length === 0) continue;
    const newest = prefixNewest[prefixNewest.length - 1];
    const fin = final.get(key) ?? { ver: null, value: null };
    if (fin.ver === null || compareVersions(fin.ver, newest.ver!) < 0) {
      const lost = acked.filter((w) => fin.ver === null || compareVersions(w.ver!, fin.ver) > 0);
      for (const w of lost) {
        report('lost-write', key, `write #${w.id} of ${key} acknowledged at ${ms(w.endMs!)} with ${formatVer(w.ver)}; the replicas finally hold ${formatVer(fin.ver)}`);
      }
    } else if (valueOf.has(formatVer(fin.ver)) && valueOf.get(formatVer(fin.ver)) !== fin.value) {
      report('wrong-value', key, `the replicas finally hold ${key} at ${formatVer(fin.ver)} with a value other than the one written with it`);
    }
  }
  return { findings, counts, writesAcked, readsChecked, keysChecked: byKey.size };
}

function ms(t: number): string {
  return `${Math.round(t)} ms`;
}
