import { median } from './stats';

/** One measurement: one target, one operation, one round. */
export interface Measurement {
  target: string;
  op: string;
  round: number;
  requests: number;
  elapsedS: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  /** Answers that were not 2xx (or RESP errors / nil for a preloaded key): they are counted, not hidden. */
  bad: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** CPU µs per request, by process name ('frontend', 'storage-1', ...). */
  cpuUsPerRequest: Record<string, number>;
}

export interface Aggregate {
  target: string;
  op: string;
  rounds: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  bad: number;
  errors: number;
  cpuUsPerRequest: Record<string, number>;
}

/** Median over rounds of every figure, per target and operation, in first-seen order. */
export function aggregate(ms: Measurement[]): Aggregate[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of ms) {
    const k = `${m.target}\u0000${m.op}`;
    const g = groups.get(k);
    if (g) g.push(m);
    else groups.set(k, [m]);
  }
  return [...groups.values()].map((g) => {
    const procs = [...new Set(g.flatMap((m) => Object.keys(m.cpuUsPerRequest)))];
    return {
      target: g[0].target,
      op: g[0].op,
      rounds: g.length,
      rps: median(g.map((m) => (m.elapsedS > 0 ? m.requests / m.elapsedS : NaN))),
      p50Us: median(g.map((m) => m.p50Us)),
      p99Us: median(g.map((m) => m.p99Us)),
      p999Us: median(g.map((m) => m.p999Us)),
      bad: g.reduce((s, m) => s + m.bad, 0),
      errors: g.reduce((s, m) => s + m.errors, 0),
      cpuUsPerRequest: Object.fromEntries(procs.map((p) => [p, median(g.map((m) => m.cpuUsPerRequest[p] ?? NaN))])),
    };
  });
}

export interface RatioRow {
  against: string;
  /** subject req/s over the anchor's, per operation; NaN when either is missing. */
  ratios: Record<string, number>;
}

/** The subject's median req/s over each other target's, per operation. */
export function ratioTable(aggs: Aggregate[], subject: string, ops: string[]): RatioRow[] {
  const rps = (t: string, op: string) => aggs.find((a) => a.target === t && a.op === op)?.rps ?? NaN;
  const others = [...new Set(aggs.map((a) => a.target))].filter((t) => t !== subject);
  return others.map((t) => ({
    against: t,
    ratios: Object.fromEntries(ops.map((op) => [op, rps(subject, op) / rps(t, op)])),
  }));
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(2) : '-');

/** A Markdown table of the medians, one row per target and operation. */
export function formatFigures(aggs: Aggregate[]): string {
  const lines = ['| target | op | req/s | p50 ms | p99 ms | p99.9 ms | non-OK | errors | CPU µs/request by process |', '|---|---|---:|---:|---:|---:|---:|---:|---|'];
  for (const a of aggs) {
    const cpu = Object.entries(a.cpuUsPerRequest).map(([p, v]) => `${p} ${fmt(v)}`).join(', ') || '-';
    lines.push(`| ${a.target} | ${a.op} | ${fmt(a.rps)} | ${ms(a.p50Us)} | ${ms(a.p99Us)} | ${ms(a.p999Us)} | ${a.bad} | ${a.errors} | ${cpu} |`);
  }
  return lines.join('\n');
}

/** A Markdown table of ratios: the subject's throughput as a multiple of each other target's. */
export function formatRatios(rows: RatioRow[], subject: string, ops: string[]): string {
  const lines = [`| ${subject} against | ${ops.join(' | ')} |`, `|---|${ops.map(() => '---:').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.against} | ${ops.map((op) => (Number.isFinite(r.ratios[op]) ? `${r.ratios[op].toFixed(2)}×` : '-')).join(' | ')} |`);
  return lines.join('\n');
}
