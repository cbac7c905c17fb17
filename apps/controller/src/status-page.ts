import type { ClusterView } from '@fog/protocol';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plain HTML status page: nodes and their state, epoch, partitions per node. */
export function renderStatusPage(view: ClusterView): string {
  const rows = view.nodes
    .map((n) => `<tr><td>${esc(n.id)}</td><td>${esc(n.role)}</td><td>${esc(n.address)}</td><td>${esc(n.zone)}</td>` +
      `<td class="${esc(n.state)}">${esc(n.state)}</td><td>${n.partitions ?? ''}</td><td>${n.pendingPartitions ?? ''}</td>` +
      `<td>${(n.lastHeartbeatAgoMs / 1000).toFixed(1)} s</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Velour Fog controller</title>
<meta http-equiv="refresh" content="2">
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em}
.up{color:#070}.down{color:#b60}.out{color:#b00}.leaving{color:#06b}</style></head>
<body><h1>Velour Fog</h1>
<p>Epoch <b>${view.epoch}</b> · K=${view.redundancy} · ${view.partitions} partitions (D=${view.partitionDigits}) ·
${view.formed ? 'table formed' : `waiting for storage nodes: ${view.storageRegistered} of ${view.storageExpected}`}</p>
<table><tr><th>id</th><th>role</th><th>address</th><th>zone</th><th>state</th><th>partitions</th><th>pending</th><th>last heartbeat</th></tr>
${rows}
</table>
<p><a href="/v1/cluster">/v1/cluster</a> · <a href="/v1/table">/v1/table</a> · <a href="/metrics">/metrics</a></p>
</body></html>
`;
}
