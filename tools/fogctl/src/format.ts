import type { ClusterPlan, ClusterView } from '@fog/client';

/** Affected partitions named in the status banner (the controller's list is longer). */
export const BANNER_PARTITIONS_MAX = 8;
/** Partitions listed by `fogctl plan` unless --all. */
export const PLAN_PARTITIONS_SHOWN_MAX = 20;
/** The progress bar is never narrower or wider than this, whatever the terminal. */
export const PROGRESS_BAR_CELLS_MIN = 10;
export const PROGRESS_BAR_CELLS_MAX = 40;

/** A fixed-width text table: columns padded to their widest cell. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

/** `[#########-----------]  45%` for done out of total (an empty total is complete). */
export function progressBar(done: number, total: number, width = 30): string {
  const fraction = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> `1.5 KiB`; null -> `?`. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '?';
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** 95_000 -> `1m35s`; null -> `?`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(bytesPerSec: number | null | undefined): string {
  return bytesPerSec === null || bytesPerSec === undefined ? '? B/s' : `${formatBytes(Math.round(bytesPerSec))}/s`;
}

/**
 * The health line: every partition healthy, or a warning with the counts and the worst
 * partitions. Null before the first table.
 */
export function healthBanner(v: ClusterView): string | null {
  const h = v.health;
  if (!h) return null;
  if (h.underReplicated === 0 && h.unavailable === 0) return `health: all ${v.partitions} partitions healthy (K=${v.redundancy} replicas up)`;
  const hex = (p: number) => p.toString(16).padStart(v.partitionDigits, '0');
  const shown = h.affected.slice(0, BANNER_PARTITIONS_MAX).map((a) => `${hex(a.partition)} (${a.up}/${v.redundancy} up${a.pending ? `, ${a.pending} copying` : ''})`);
  const more = h.underReplicated + h.unavailable - shown.length;
  return [
    `WARNING: ${h.underReplicated} of ${v.partitions} partitions under-replicated (fewer than K=${v.redundancy} replicas up), ` +
      `${h.unavailable} unavailable (fewer than a quorum up${h.noneUp ? `, ${h.noneUp} with none` : ''})`,
    `  affected: ${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`,
  ].join('\n');
}

/** One line on the moves since the cluster last had none: done/total, bytes, rate, ETA. */
export function movesSummary(v: ClusterView): string {
  const p = v.progress;
  if (!p || p.movesTotal === 0) return 'moves: none';
  const pct = p.bytesTotal ? ` (${Math.floor((Math.min(p.bytesCopied, p.bytesTotal) / Math.max(1, p.bytesTotal)) * 100)}%)` : '';
  return `moves: ${p.movesDone} of ${p.movesTotal} done, ${formatBytes(p.bytesCopied)} of ${formatBytes(p.bytesTotal)} copied${pct}, ${formatRate(p.rateBytesPerSec)}, ETA ${formatDuration(p.etaMs)}`;
}

/**
 * A progress line that fits `columns` cells: the bar shrinks first, then the text is cut, so
 * a redraw never wraps (a wrapped line cannot be redrawn in place).
 */
export function progressLine(done: number, total: number, text: string, columns: number): string {
  const room = Math.max(1, columns - 1); // the last cell would make some terminals wrap
  const fixed = ' 100% '.length + 2 + text.length;
  const cells = Math.max(PROGRESS_BAR_CELLS_MIN, Math.min(PROGRESS_BAR_CELLS_MAX, room - fixed));
  const line = `${progressBar(done, total, cells)} ${text}`;
  return line.length <= room ? line : line.slice(0, room);
}

/** `fogctl plan`: what adding or removing a node would move. */
export function renderPlan(plan: ClusterPlan, what: string, digits: number, all: boolean): string {
  const lines = [`${what} would move ${plan.replicasMoved} replicas (${(plan.fractionMoved * 100).toFixed(1)}% of all replica slots) in ${plan.moves.length} partitions, at epoch ${plan.epoch}. Nothing was changed.`];
  const shown = all ? plan.moves : plan.moves.slice(0, PLAN_PARTITIONS_SHOWN_MAX);
  if (shown.length) {
    lines.push('', table(['PARTITION', 'ADDED', 'REMOVED'], shown.map((m) => [m.partition.toString(16).padStart(digits, '0'), m.added.join(',') || '-', m.removed.join(',') || '-'])).trimEnd());
  }
  if (shown.length < plan.moves.length) lines.push(`... and ${plan.moves.length - shown.length} more partitions (--all lists them)`);
  return lines.join('\n') + '\n';
}

/** Human view of GET /v1/cluster: the cluster line, health, nodes, and the moves' summary (each move with `moves`). */
export function renderStatus(v: ClusterView, opts: { moves?: boolean } = {}): string {
  const storage = v.nodes.filter((n) => n.role === 'storage');
  const lines = [
    `epoch ${v.epoch}  ${v.formed ? 'formed' : 'not formed yet'}  K=${v.redundancy}  partitions ${v.partitions} (D=${v.partitionDigits})  storage nodes ${storage.length}  frontends ${v.nodes.length - storage.length}`,
  ];
  const banner = healthBanner(v);
  if (banner) lines.push(banner);
  lines.push(
    '',
    table(
      ['NODE', 'ROLE', 'STATE', 'ZONE', 'ADDRESS', 'PARTITIONS', 'PENDING', 'KEYS', 'BYTES', 'REQ/S', 'HEARTBEAT'],
      [...v.nodes].sort((a, b) => (a.role === b.role ? (a.id < b.id ? -1 : 1) : a.role === 'storage' ? -1 : 1)).map((n) => [
        n.id, n.role, n.state, n.zone, n.address,
        n.role === 'storage' ? n.partitions ?? 0 : '-',
        n.role === 'storage' ? n.pendingPartitions ?? 0 : '-',
        n.load?.keys ?? '-',
        n.load?.bytes === null || n.load?.bytes === undefined ? '-' : formatBytes(n.load.bytes),
        n.load?.requestsPerSec ?? '-',
        `${(n.lastHeartbeatAgoMs / 1000).toFixed(1)}s ago`,
      ]),
    ).trimEnd(),
  );
  // The copies under way first: they are the ones that move.
  const pending = v.moves.filter((m) => !m.done).sort((a, b) => Number(b.bytesCopied > 0) - Number(a.bytesCopied > 0) || a.partition - b.partition);
  lines.push('', movesSummary(v), `moves pending: ${pending.length}${pending.length && !opts.moves ? ' (--moves lists them)' : ''}`);
  if (pending.length && opts.moves) {
    lines.push(table(
      ['PARTITION', 'TO NODE', 'REASON', 'STARTED', 'KEYS COPIED', 'BYTES COPIED', 'BYTES TOTAL', 'RATE', 'ETA'],
      pending.map((m) => [
        m.partition.toString(16).padStart(v.partitionDigits, '0'), m.node, m.reason,
        m.startedAtMs ? `${formatDuration(v.atMs - m.startedAtMs)} ago` : '?',
        m.keysCopied, m.bytesCopied, m.bytesTotal ?? '?', formatRate(m.rateBytesPerSec), formatDuration(m.etaMs),
      ]),
    ).trimEnd());
    if (v.movesOmitted) lines.push(`... and ${v.movesOmitted} more moves (the controller lists at most ${v.moves.length})`);
  }
  return lines.join('\n') + '\n';
}

/** Partitions a node still holds (active and pending) in a cluster view; null when it is not listed. */
export function partitionsHeld(v: ClusterView, nodeId: string): number | null {
  const n = v.nodes.find((x) => x.id === nodeId);
  return n ? (n.partitions ?? 0) + (n.pendingPartitions ?? 0) : null;
}

/** Moves still copying data. */
export function movesPending(v: ClusterView): number {
  return v.moves.filter((m) => !m.done).length;
}
