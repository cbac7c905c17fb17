/**
 * Placement at scale, in-process: the first table, one join and one leave, for every N and D
 * asked, with the properties the placement promises measured on each result (balance within
 * floor/ceil of the weighted share, replicas moved against the ideal, partitions whose replicas
 * span fewer zones than min(K, zones)). Prints one line per case; speed is judged by these
 * figures, never by a test.
 *
 *   npm run build && npm run bench:placement -- --nodes 10,100,1000 --digits 2,3,4 --redundancy 3
 */
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { computePlacement, diffPlacement, fairShares, type PlacementNode } from '@fog/partitioning';

/** Ceilings so a mistyped flag cannot hang the machine. */
const NODES_MAX = 10_000;
const DIGITS_MAX = 5;

const args = yargs(hideBin(process.argv))
  .scriptName('fog-placement-bench')
  .option('nodes', { type: 'string', default: '10,100,1000', describe: `storage node counts, comma-separated (max ${NODES_MAX})` })
  .option('digits', { type: 'string', default: '2,3,4', describe: `partition digits D, comma-separated (max ${DIGITS_MAX})` })
  .option('redundancy', { type: 'number', default: 3, describe: 'K' })
  .option('zones', { type: 'string', default: '4,3,3', describe: 'relative zone sizes (4,3,3: 40%/30%/30% of the nodes)' })
  .option('weights', { choices: ['equal', 'mixed'] as const, default: 'equal' as const, describe: 'equal weights, or 1..4 cycling' })
  .strict()
  .help()
  .version(false)
  .parseSync();

const list = (text: string, max: number): number[] =>
  text.split(',').map((x) => {
    const v = Number(x);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`bad value ${x} (1..${max})`);
    return v;
  });

function membership(count: number, zoneSizes: number[]): PlacementNode[] {
  const total = zoneSizes.reduce((a, b) => a + b, 0);
  const nodes: PlacementNode[] = [];
  for (let i = 0; i < count; i++) {
    // Zone by position in the repeating pattern, so a 4,3,3 split holds at every N.
    let slot = (i * total) / count;
    let zone = 0;
    while (slot >= zoneSizes[zone]) slot -= zoneSizes[zone++];
    nodes.push({ id: `node-${String(i).padStart(5, '0')}`, zone: `zone-${zone}`, weight: args.weights === 'equal' ? 1 : 1 + (i % 4) });
  }
  return nodes;
}

/** Wall and CPU time: on a shared machine the CPU time is the steadier figure. */
function timed<T>(fn: () => T): { value: T; ms: number; cpuMs: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const value = fn();
  const used = process.cpuUsage(cpu);
  return { value, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

function outsideShare(replicas: string[][], nodes: PlacementNode[], partitions: number, redundancy: number): number {
  const shares = fairShares(nodes, partitions, redundancy);
  const loads = new Map<string, number>();
  for (const row of replicas) for (const id of row) loads.set(id, (loads.get(id) ?? 0) + 1);
  let outside = 0;
  for (const node of nodes) {
    const share = shares.get(node.id) as number;
    const load = loads.get(node.id) ?? 0;
    if (load < Math.floor(share + 1e-9) || load > Math.ceil(share - 1e-9)) outside += 1;
  }
  return outside;
}

function narrowSpread(replicas: string[][], nodes: PlacementNode[], redundancy: number): { belowTarget: number; singleZone: number } {
  const zoneOf = new Map(nodes.map((n) => [n.id, n.zone]));
  const zones = new Set(nodes.map((n) => n.zone)).size;
  const target = Math.min(redundancy, zones, nodes.length);
  let belowTarget = 0;
  let singleZone = 0;
  for (const row of replicas) {
    const distinct = new Set(row.map((id) => zoneOf.get(id))).size;
    if (distinct < target) belowTarget += 1;
    if (distinct === 1 && target > 1) singleZone += 1;
  }
  return { belowTarget, singleZone };
}

const fmt = (t: { ms: number; cpuMs: number }): string => `${t.ms.toFixed(0)} (${t.cpuMs.toFixed(0)})`.padStart(11);
const zoneSizes = list(args.zones, 1000);
const K = args.redundancy;
console.log(`K=${K}, zones ${args.zones}, weights ${args.weights}`);
console.log('times: wall ms (CPU ms)');
console.log('    N  D   first ms     join ms    leave ms  moved(join/ideal)  moved(leave/ideal)  outside-share  below-target-zones  single-zone');
for (const digits of list(args.digits, DIGITS_MAX)) {
  for (const n of list(args.nodes, NODES_MAX)) {
    const partitions = 16 ** digits;
    const nodes = membership(n, zoneSizes);
    const first = timed(() => computePlacement({ nodes, redundancy: K, partitions }));
    const joiner: PlacementNode = { id: 'node-joiner', zone: nodes[1 % n].zone, weight: 1 };
    const joined = [...nodes, joiner];
    const join = timed(() => computePlacement({ nodes: joined, redundancy: K, partitions, previous: first.value.replicas }));
    const leaver = nodes[Math.floor(n / 2)];
    const survivors = nodes.filter((x) => x !== leaver);
    const leave = timed(() => computePlacement({ nodes: survivors, redundancy: K, partitions, previous: first.value.replicas }));
    const movedJoin = diffPlacement(first.value.replicas, join.value.replicas).reduce((s, m) => s + m.added.length, 0);
    const idealJoin = fairShares(joined, partitions, K).get(joiner.id) as number;
    const movedLeave = diffPlacement(first.value.replicas, leave.value.replicas).reduce((s, m) => s + m.added.length, 0);
    const idealLeave = first.value.replicas.reduce((s, row) => s + (row.includes(leaver.id) ? 1 : 0), 0);
    const outside =
      outsideShare(first.value.replicas, nodes, partitions, K) + outsideShare(join.value.replicas, joined, partitions, K) + outsideShare(leave.value.replicas, survivors, partitions, K);
    const spread = [narrowSpread(first.value.replicas, nodes, K), narrowSpread(join.value.replicas, joined, K), narrowSpread(leave.value.replicas, survivors, K)];
    console.log(
      `${String(n).padStart(5)}  ${digits} ${fmt(first)} ${fmt(join)} ${fmt(leave)}  ${`${movedJoin}/${idealJoin.toFixed(0)}`.padStart(17)}  ${`${movedLeave}/${idealLeave}`.padStart(18)}  ${String(outside).padStart(13)}  ${spread.map((s) => s.belowTarget).join('/').padStart(18)}  ${spread.map((s) => s.singleZone).join('/').padStart(11)}`,
    );
  }
}
