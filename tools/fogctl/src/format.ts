import type { ClusterView } from '@fog/client';

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

/** Human view of GET /v1/cluster: the cluster line, nodes, and moves in progress. */
export function renderStatus(v: ClusterView): string {
  const storage = v.nodes.filter((n) => n.role === 'storage');
  const lines = [
    `epoch ${v.epoch}  ${v.formed ? 'formed' : 'not formed yet'}  K=${v.redundancy}  partitions ${v.partitions} (D=${v.partitionDigits})  storage nodes ${storage.length}  frontends ${v.nodes.length - storage.length}`,
    '',
    table(
      ['NODE', 'ROLE', 'STATE', 'ZONE', 'ADDRESS', 'PARTITIONS', 'PENDING', 'HEARTBEAT'],
      [...v.nodes].sort((a, b) => (a.role === b.role ? (a.id < b.id ? -1 : 1) : a.role === 'storage' ? -1 : 1)).map((n) => [
        n.id, n.role, n.state, n.zone, n.address,
        n.role === 'storage' ? n.partitions ?? 0 : '-',
        n.role === 'storage' ? n.pendingPartitions ?? 0 : '-',
        `${(n.lastHeartbeatAgoMs / 1000).toFixed(1)}s ago`,
      ]),
    ).trimEnd(),
  ];
  const pending = v.moves.filter((m) => !m.done);
  lines.push('', `moves pending: ${pending.length}`);
  if (pending.length) {
    lines.push(table(
      ['PARTITION', 'TO NODE', 'REASON', 'KEYS COPIED', 'BYTES COPIED'],
      pending.map((m) => [m.partition.toString(16).padStart(v.partitionDigits, '0'), m.node, m.reason, m.keysCopied, m.bytesCopied]),
    ).trimEnd());
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
