/** The figures of a chaos run as a plain two-column table, and its findings. */
import type { ChaosReport } from './run';

export function formatReport(r: ChaosReport): string {
  const secs = (ms: number | null) => (ms === null ? 'none' : `${(ms / 1000).toFixed(1)} s`);
  const injected = Object.entries(r.injected).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const rows: Array<[string, string]> = [
    ['seed', String(r.seed)],
    ['load', secs(r.loadMs)],
    ['faults injected', `${Object.values(r.injected).reduce((a, b) => a + (b ?? 0), 0)} (${injected})`],
    ['faults skipped', r.skipped.map((s) => `${s.kind}: ${s.reason}`).join('; ') || 'none'],
    ['slowest restart', secs(r.recoveryMsMax)],
    ['writes acknowledged', `${r.ops.writesAcked} of ${r.ops.writes}`],
    ['reads answered', `${r.ops.readsOk} of ${r.ops.reads}`],
    ['operations/s', (((r.ops.writes + r.ops.reads) * 1000) / Math.max(1, r.loadMs)).toFixed(1)],
    ['failed operations', `${r.ops.failed}${r.errors.length ? ` (${r.errors.slice(0, 4).map(([e, n]) => `${e} ${n}`).join(', ')})` : ''}`],
    ['failed by fault in force', r.availability.map((a) => `${a.during} ${a.failed}/${a.ops}`).join(', ') || 'none'],
    ['keys checked', `${r.keysChecked} (${r.check.writesAcked} acknowledged writes, ${r.check.readsChecked} reads)`],
    ['lost acknowledged writes', String(r.check.counts['lost-write'])],
    ['order inversions', String(r.check.counts['order-inverted'])],
    ['stale quorum reads', String(r.check.counts['stale-quorum-read'])],
    ['wrong values', String(r.check.counts['wrong-value'])],
    ['convergence after faults stop', r.convergenceMs === null ? `not within the timeout (${r.disagreeingAtEnd} keys disagree)` : secs(r.convergenceMs)],
    ['unexpected process exits', String(r.processExits.length)],
    ['result', r.passed ? 'PASS' : 'FAIL'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const problems = [
    ...r.faultErrors.map((e) => `fault not carried out: ${e}`),
    ...r.processExits.map((e) => `process exited on its own: ${e}`),
    ...r.check.findings.map((f) => `${f.violation}: ${f.message}`),
  ];
  return [
    `chaos run, seed ${r.seed}`,
    ...lines,
    ...(problems.length ? ['findings:', ...problems.map((p) => `  ${p}`)] : []),
    `replay the fault schedule: npm run chaos -- --seed ${r.seed} --seconds ${r.faultPhaseMs / 1000}`,
  ].join('\n');
}
