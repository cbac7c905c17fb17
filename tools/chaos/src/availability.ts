/**
 * How the workload fared during each kind of fault: operations started while a fault of that
 * kind was in force (from its injection until it was undone and the target answered again),
 * and how many of them failed. Operations outside every fault count as `none`.
 */
import type { OpRecord } from '@fog/sim';
import type { FaultKind } from './schedule';

export interface FaultWindow {
  kind: FaultKind;
  startMs: number;
  endMs: number;
}

export type AvailabilityRow = { during: FaultKind | 'none'; ops: number; failed: number };

export function availabilityByFault(ops: readonly OpRecord[], windows: readonly FaultWindow[]): AvailabilityRow[] {
  const sorted = [...windows].sort((a, b) => a.startMs - b.startMs);
  const rows = new Map<FaultKind | 'none', AvailabilityRow>();
  for (const op of ops) {
    if (op.endMs === null) continue;
    const w = sorted.find((x) => op.startMs >= x.startMs && op.startMs <= x.endMs);
    const during = w ? w.kind : 'none';
    const row = rows.get(during) ?? { during, ops: 0, failed: 0 };
    row.ops++;
    if (!op.ok) row.failed++;
    rows.set(during, row);
  }
  return [...rows.values()].sort((a, b) => b.failed - a.failed || a.during.localeCompare(b.during));
}
