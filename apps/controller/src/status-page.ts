import type { ClusterView } from '@fog/protocol';

export const STATUS_PAGE_LIMITS = {
  /** How often the open page fetches /v1/cluster again. */
  refreshIntervalMs: 2000,
  /** Moves listed one by one (the summary covers all of them). */
  movesShownMax: 50,
} as const;

/**
 * The status page an operator keeps open: a health banner, nodes and their load, a map of the
 * partitions coloured by health (a summary above D=3), the moves with progress and ETA, and
 * the recent events. One self-contained document (no external assets): it renders the view it
 * was served with, then fetches `/v1/cluster` every few seconds and redraws in place.
 */
export function renderStatusPage(view: ClusterView): string {
  // JSON inside a <script>: `<` escaped so no string in it can close the element.
  const initial = JSON.stringify(view).replace(/</g, '\\u003c');
  const config = JSON.stringify(STATUS_PAGE_LIMITS);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Velour Fog controller</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<header><h1>Velour Fog</h1><span id="summary"></span><span id="updated"></span></header>
<div id="banner" class="banner"></div>
<section><h2>Nodes</h2><table id="nodes"></table></section>
<section><h2>Partition health</h2><div id="health-counts"></div><div id="map" class="map"></div></section>
<section><h2>Moves</h2><div id="moves-summary"></div><table id="moves"></table><div id="moves-more"></div></section>
<section><h2>Recent events</h2><ol id="events"></ol></section>
<footer><a href="/v1/cluster">/v1/cluster</a> · <a href="/v1/table">/v1/table</a> · <a href="/metrics">/metrics</a></footer>
<noscript><p>This page redraws itself with JavaScript; without it, read <a href="/v1/cluster">/v1/cluster</a>.</p></noscript>
<script>var FOG_INITIAL = ${initial}; var FOG_CONFIG = ${config};</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:1.2em 2em;color:#222;background:#fafafa}
header{display:flex;gap:1.5em;align-items:baseline;flex-wrap:wrap}h1{margin:0 0 .2em;font-size:1.5em}h2{font-size:1.1em;margin:1.2em 0 .4em}
#updated{color:#777;font-size:.9em}#updated.stale{color:#b00;font-weight:bold}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:.92em}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.up{color:#070}.down{color:#b60}.out{color:#b00}.leaving{color:#06b}.left{color:#777}
.banner{padding:.6em 1em;border-radius:4px;margin:.6em 0;font-weight:bold}
.banner.ok{background:#e3f4e3;color:#135}.banner.warn{background:#fde8c8;color:#630}.banner.bad{background:#f9d0d0;color:#600}.banner.none{background:#eee;color:#333}
.map{display:flex;flex-wrap:wrap;gap:1px;max-width:66em}.map i{display:block;width:9px;height:9px;background:#4a4}
.map i.u{background:#e90}.map i.x{background:#c00}
.map.d1 i,.map.d2 i{width:14px;height:14px}
.bar{display:inline-block;width:9em;height:.8em;background:#ddd;border-radius:2px;vertical-align:middle;overflow:hidden}
.bar b{display:block;height:100%;background:#36c}
#events{padding-left:1.2em;font-size:.92em}#events li{margin:.1em 0}#events .kind{color:#777;display:inline-block;min-width:7em}
.legend i{display:inline-block;width:10px;height:10px;margin:0 .3em 0 1em;background:#4a4}.legend i.u{background:#e90}.legend i.x{background:#c00}
footer{margin-top:2em;font-size:.9em;color:#777}
`;

/** The page's own script: plain ES5 in a string, so nothing the bundler does can change it. */
const SCRIPT = String.raw`
(function () {
  var view = FOG_INITIAL, lastOkMs = Date.now(), failing = null;
  function $(id) { return document.getElementById(id); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function bytes(n) {
    if (n === null || n === undefined) return '?';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i === 0 ? n + ' B' : n.toFixed(1) + ' ' + u[i];
  }
  function dur(ms) {
    if (ms === null || ms === undefined) return '?';
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm' + ('0' + (s % 60)).slice(-2) + 's';
    return Math.floor(s / 3600) + 'h' + ('0' + Math.floor((s % 3600) / 60)).slice(-2) + 'm';
  }
  function rate(r) { return r === null || r === undefined ? '?' : bytes(Math.round(r)) + '/s'; }
  function bar(done, total) {
    var f = total > 0 ? Math.max(0, Math.min(1, done / total)) : 0;
    return '<span class="bar" title="' + Math.floor(f * 100) + '%"><b style="width:' + (f * 100).toFixed(1) + '%"></b></span> ' + Math.floor(f * 100) + '%';
  }
  function hex(p, d) { var s = p.toString(16); while (s.length < d) s = '0' + s; return s; }
  function cell(v, cls) { return '<td' + (cls ? ' class="' + cls + '"' : '') + '>' + esc(v) + '</td>'; }

  function render(v) {
    $('summary').textContent = 'epoch ' + v.epoch + ' · K=' + v.redundancy + ' · ' + v.partitions + ' partitions (D=' + v.partitionDigits + ') · ' +
      (v.formed ? 'table formed' : 'waiting for storage nodes: ' + v.storageRegistered + ' of ' + v.storageExpected);
    var h = v.health, b = $('banner');
    if (!h) { b.className = 'banner none'; b.textContent = 'No partition table yet.'; }
    else if (h.underReplicated === 0 && h.unavailable === 0) { b.className = 'banner ok'; b.textContent = 'All ' + v.partitions + ' partitions healthy: K=' + v.redundancy + ' replicas up.'; }
    else {
      b.className = 'banner ' + (h.unavailable > 0 ? 'bad' : 'warn');
      b.textContent = (h.unavailable > 0 ? 'Unavailable: ' + h.unavailable + ' of ' + v.partitions + ' partitions have fewer than a quorum of replicas up' +
        (h.noneUp ? ' (' + h.noneUp + ' none at all)' : '') + '; ' + h.underReplicated + ' under-replicated.'
        : 'Under-replicated: ' + h.underReplicated + ' of ' + v.partitions + ' partitions have fewer than K=' + v.redundancy + ' replicas up; none unavailable.');
    }

    var rows = ['<tr><th>node</th><th>role</th><th>state</th><th>zone</th><th>address</th><th>heartbeat</th><th>keys</th><th>bytes</th><th>requests/s</th><th>partitions</th><th>pending</th></tr>'];
    var nodes = v.nodes.slice().sort(function (a, c) { return a.role === c.role ? (a.id < c.id ? -1 : 1) : (a.role === 'storage' ? -1 : 1); });
    nodes.forEach(function (n) {
      var l = n.load || {};
      rows.push('<tr data-node="' + esc(n.id) + '">' + cell(n.id) + cell(n.role) + cell(n.state, n.state) + cell(n.zone) + cell(n.address) +
        cell((n.lastHeartbeatAgoMs / 1000).toFixed(1) + ' s ago', 'num') +
        cell(l.keys === null || l.keys === undefined ? '-' : l.keys, 'num') + cell(l.bytes === null || l.bytes === undefined ? '-' : bytes(l.bytes), 'num') +
        cell(l.requestsPerSec === null || l.requestsPerSec === undefined ? '-' : l.requestsPerSec, 'num') +
        cell(n.role === 'storage' ? n.partitions : '-', 'num') + cell(n.role === 'storage' ? n.pendingPartitions : '-', 'num') + '</tr>');
    });
    $('nodes').innerHTML = rows.join('');

    var counts = $('health-counts'), map = $('map');
    if (!h) { counts.textContent = '-'; map.innerHTML = ''; }
    else {
      counts.innerHTML = '<span class="legend"><i></i>' + h.healthy + ' healthy<i class="u"></i>' + h.underReplicated + ' under-replicated<i class="x"></i>' + h.unavailable + ' unavailable</span>' +
        (h.affected.length ? '<div>worst: ' + h.affected.slice(0, 12).map(function (a) { return hex(a.partition, v.partitionDigits) + ' (' + a.up + '/' + v.redundancy + ' up)'; }).join(', ') +
          (h.underReplicated + h.unavailable > 12 ? ', …' : '') + '</div>' : '');
      if (typeof h.map === 'string') {
        var cells = [];
        for (var p = 0; p < h.map.length; p++) {
          var c = h.map.charAt(p);
          cells.push('<i' + (c === 'h' ? '' : ' class="' + c + '"') + ' title="' + hex(p, v.partitionDigits) + '"></i>');
        }
        map.className = 'map d' + v.partitionDigits;
        map.innerHTML = cells.join('');
      } else {
        map.className = 'map';
        map.textContent = 'D=' + v.partitionDigits + ': ' + v.partitions + ' partitions are too many to draw one by one (a map is drawn up to D=' + h.mapDigitsMax + '); the counts above cover all of them.';
      }
    }

    var pr = v.progress, ms = $('moves-summary');
    if (!pr || pr.movesTotal === 0) ms.textContent = 'No moves in progress.';
    else {
      ms.innerHTML = bar(pr.bytesTotal ? pr.bytesCopied : pr.movesDone, pr.bytesTotal || pr.movesTotal) + ' · ' + pr.movesDone + ' of ' + pr.movesTotal + ' moves done · ' +
        esc(bytes(pr.bytesCopied)) + ' of ' + esc(bytes(pr.bytesTotal)) + ' · ' + esc(rate(pr.rateBytesPerSec)) + ' · ETA ' + esc(dur(pr.etaMs));
    }
    // The copies under way first: they are the ones that move.
    var pending = v.moves.filter(function (m) { return !m.done; }).sort(function (a, c) {
      return ((a.bytesCopied > 0 ? 0 : 1) - (c.bytesCopied > 0 ? 0 : 1)) || (a.partition - c.partition);
    });
    var shown = pending.slice(0, FOG_CONFIG.movesShownMax);
    $('moves').innerHTML = shown.length ? '<tr><th>partition</th><th>to node</th><th>reason</th><th>started</th><th>progress</th><th>copied</th><th>rate</th><th>ETA</th></tr>' +
      shown.map(function (m) {
        return '<tr>' + cell(hex(m.partition, v.partitionDigits)) + cell(m.node) + cell(m.reason) + cell(m.startedAtMs ? dur(v.atMs - m.startedAtMs) + ' ago' : '?') +
          '<td>' + (m.bytesTotal ? bar(m.bytesCopied, m.bytesTotal) : 'no report yet') + '</td>' + cell(m.keysCopied + ' keys, ' + bytes(m.bytesCopied), 'num') +
          cell(rate(m.rateBytesPerSec), 'num') + cell(dur(m.etaMs), 'num') + '</tr>';
      }).join('') : '';
    var more = pending.length - shown.length + (v.movesOmitted || 0);
    $('moves-more').textContent = more > 0 ? '… and ' + more + ' more moves.' : '';

    var ev = v.events.slice().reverse();
    $('events').innerHTML = ev.length ? ev.map(function (e) {
      return '<li><span class="kind">' + esc(dur(v.atMs - e.atMs)) + ' ago</span> <span class="kind">' + esc(e.kind) + '</span> ' + esc(e.message) + '</li>';
    }).join('') : '<li>Nothing yet.</li>';
  }

  function stamp() {
    var u = $('updated');
    if (failing) { u.className = 'stale'; u.textContent = 'controller not answering (' + failing + '); data from ' + dur(Date.now() - lastOkMs) + ' ago'; }
    else { u.className = ''; u.textContent = 'updated ' + new Date(lastOkMs).toLocaleTimeString(); }
  }

  function refresh() {
    fetch('/v1/cluster?movesMax=' + FOG_CONFIG.movesShownMax, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (v) {
      view = v; lastOkMs = Date.now(); failing = null; render(v); stamp();
    }, function (err) {
      failing = err && err.message ? err.message : 'error'; stamp();
    }).then(function () { setTimeout(refresh, FOG_CONFIG.refreshIntervalMs); });
  }

  render(view); stamp();
  setTimeout(refresh, FOG_CONFIG.refreshIntervalMs);
})();
`;
