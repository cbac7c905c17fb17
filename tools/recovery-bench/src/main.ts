/**
 * Replica recovery benchmark: how long a storage node that was away while keys were written
 * takes, after its return, to hold every one of them, with no client reading them (a read
 * through a frontend would repair the node and hide what replica sync does on its own).
 *
 * For each --digits D: start the built apps on loopback (1 controller, --storage nodes, one
 * frontend, K=--redundancy, each storage node with its own --data-dir), write a few keys
 * everywhere, stop one storage node (kill -9 and restart on its data dir, or SIGSTOP/SIGCONT),
 * write --keys keys through the frontend while it is away (at least --down-ms), bring it back,
 * then poll only that node's own key listing until it holds every key of the partitions it
 * replicates, and print the time that took.
 *
 *   npm run build && npm run bench:recovery -- --digits 2 --digits 4 --down-ms 60000 --keys 10000
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { partitionOf } from '@fog/partitioning';
import type { PartitionTable } from '@fog/protocol';
import { waitFor } from '@fog/launcher';
import { LocalCluster, getJson } from './local-cluster';

/** Ceilings so that a mistyped flag cannot turn the benchmark into a flood. */
const KEYS_MAX = 1_000_000;
const DOWN_MS_MAX = 3_600_000;
const WRITE_CONCURRENCY = 16;
const KEYS_BEFORE = 100;
const POLL_INTERVAL_MS = 250;
const KEYS_LISTED_MAX = 100_000;
const DOWN_AFTER_MS = 10_000;
const SUSPECT_AFTER_MS = 5_000;

const args = yargs(hideBin(process.argv))
  .scriptName('fog-recovery-bench')
  .option('digits', { type: 'number', array: true, default: [2], describe: 'D, 16^D partitions; repeat to run several (e.g. --digits 2 --digits 4)' })
  .option('storage', { type: 'number', default: 3, describe: 'storage nodes' })
  .option('redundancy', { type: 'number', default: 3, describe: 'K, replicas per partition' })
  .option('keys', { type: 'number', default: 10_000, describe: `keys written while the node is away (max ${KEYS_MAX})` })
  .option('down-ms', { type: 'number', default: 60_000, describe: 'how long the node stays away, at least (the writes may take longer)' })
  .option('fault', { choices: ['kill', 'stop'] as const, default: 'kill' as const, describe: 'kill: kill -9 and restart on its data dir; stop: SIGSTOP then SIGCONT' })
  .option('timeout-ms', { type: 'number', default: 600_000, describe: 'give up waiting for recovery after this long' })
  .option('value-bytes', { type: 'number', default: 100, describe: 'value size' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep logs and data directories' })
  .option('hints', { choices: ['on', 'off'] as const, default: 'on' as const, describe: 'off: the frontend keeps no hints (--hints-per-node-max 0), so replica sync alone brings the node back' })
  .option('storage-flag', { type: 'string', array: true, default: [] as string[], describe: 'a flag passed to every storage node (e.g. --storage-flag=--replica-transport=http); repeatable' })
  .strict()
  .help()
  .version(false)
  .parseSync();

const keysTotal = Math.min(Math.max(1, Math.floor(args.keys)), KEYS_MAX);
const downMs = Math.min(Math.max(0, Math.floor(args['down-ms'])), DOWN_MS_MAX);
if (keysTotal + KEYS_BEFORE > KEYS_LISTED_MAX) throw new Error(`--keys: at most ${KEYS_LISTED_MAX - KEYS_BEFORE} (a node lists at most ${KEYS_LISTED_MAX} keys)`);
const agent = new http.Agent({ keepAlive: true, maxSockets: WRITE_CONCURRENCY });
const value = Buffer.alloc(Math.max(1, Math.floor(args['value-bytes'])), 'v');

let current: LocalCluster | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

function put(frontendPort: number, key: string, query = ''): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port: frontendPort, agent, method: 'PUT', path: `/v1/kv/${encodeURIComponent(key)}${query}`, headers: { 'content-length': value.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(value);
  });
}

/** Write keys with a few requests in flight; each key is retried until acknowledged. */
async function writeAll(frontendPort: number, keys: string[], query = ''): Promise<number> {
  let next = 0;
  let retries = 0;
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, async () => {
    for (let i = next++; i < keys.length; i = next++) {
      while ((await put(frontendPort, keys[i], query)) !== 200) {
        retries++;
        await sleep(50);
      }
    }
  }));
  return retries;
}

async function heldKeys(nodeUrl: string, prefix: string): Promise<Set<string>> {
  const body = await getJson<{ keys: Array<{ key: string; tombstone: boolean }>; truncated: boolean }>(`${nodeUrl}/v1/keys?limit=${KEYS_LISTED_MAX}`);
  if (body.truncated) throw new Error(`${nodeUrl} lists more than ${KEYS_LISTED_MAX} keys`);
  return new Set(body.keys.filter((k) => k.key.startsWith(prefix) && !k.tombstone).map((k) => k.key));
}

/** Sum of a metric's samples (every label set, or those whose labels contain `labelText`), from /metrics. */
async function metricSum(url: string, name: string, labelText = ''): Promise<number> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) });
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').includes(labelText)) sum += Number(m[3]);
  }
  return sum;
}

const SYNC_KINDS = ['tree', 'summaries', 'digest', 'diff', 'push', 'page'] as const;

/** Bytes of replica sync messages (anti-entropy, copies) the storage nodes exchanged so far, all together, by message kind. */
async function syncBytes(urls: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const kind of SYNC_KINDS) {
    const each = await Promise.all(urls.map((u) => metricSum(u, 'fog_storage_replica_sync_bytes_total', `kind="${kind}"`)));
    out[kind] = each.reduce((a, b) => a + b, 0);
  }
  return out;
}

/** What was exchanged between two readings: the total and its largest parts. */
function bytesBetween(before: Record<string, number>, after: Record<string, number>): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  const parts = SYNC_KINDS.map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const).filter(([, n]) => n > 0);
  const total = parts.reduce((a, [, n]) => a + n, 0);
  return `${mb(total)} (${parts.map(([k, n]) => `${k} ${mb(n)}`).join(', ')})`;
}

/** What brought the keys back: the frontend's hints by outcome, and anti-entropy on the node. */
async function sources(frontendUrl: string, nodeUrl: string): Promise<string> {
  const hint = (o: string) => metricSum(frontendUrl, 'fog_frontend_hints_total', `outcome="${o}"`);
  const [queued, delivered, expired, dropped] = await Promise.all(['queued', 'delivered', 'expired', 'dropped'].map(hint));
  const repaired = await metricSum(nodeUrl, 'fog_storage_anti_entropy_keys_repaired_total');
  return `hints queued ${queued}, delivered ${delivered}, expired ${expired}, dropped ${dropped}; anti-entropy repaired ${repaired} keys on the node`;
}

async function runOnce(digits: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fog-recovery-d${digits}-`));
  const victim = args.storage - 1;
  // The node must stay `down`, never `out`: an `out` node is re-replicated and rejoins, which
  // is partition copying, not the recovery of a replica that kept its partitions.
  const outAfterMs = downMs + 120_000;
  const cluster = await LocalCluster.start({
    storage: args.storage, redundancy: args.redundancy, digits, logDir: dir,
    // Slow failure detection: at D=4 every table is ~9 MB, and a busy 2-core machine can hold
    // the controller's heartbeat handling up for seconds; a node seen down for that and back
    // would restart the run's partitions as copies. How soon the victim is seen down does not
    // matter here: the frontend counts only real acknowledgements either way.
    controllerArgs: ['--down-after-ms', String(DOWN_AFTER_MS), '--suspect-after-ms', String(SUSPECT_AFTER_MS), '--out-after-ms', String(outAfterMs)],
    storageArgs: (i) => ['--data-dir', path.join(dir, `data-${i}`), ...args['storage-flag']],
    frontendArgs: args.hints === 'off' ? ['--hints-per-node-max', '0'] : [],
  });
  current = cluster;
  try {
    const node = cluster.storage[victim];
    const fePort = cluster.frontend.port;
    const run = `recovery-${Date.now().toString(36)}`;
    // Keys every replica holds before the fault: the node returns with data, not empty.
    await writeAll(fePort, Array.from({ length: KEYS_BEFORE }, (_, i) => `${run}/before/${i}`), '?w=all');
    const prefix = `${run}/away/`;
    const keys = Array.from({ length: keysTotal }, (_, i) => `${prefix}${i}`);
    const table = await getJson<PartitionTable>(`${cluster.controller.url}/v1/table`);
    const nodeId = (await getJson<{ id: string }>(`${node.url}/health`)).id;
    const expected = keys.filter((k) => table.partitions[partitionOf(k, digits)].replicas.includes(nodeId));

    // The node's own replica sync bytes as it goes away: a stopped node keeps them; a killed one restarts from zero.
    const nodeBytesAway = args.fault === 'stop' ? await syncBytes([node.url]).catch(() => null) : {};
    const awayAt = Date.now();
    if (args.fault === 'kill') await node.kill();
    else node.pause();
    const retries = await writeAll(fePort, keys);
    const writeMs = Date.now() - awayAt;
    await sleep(Math.max(0, downMs - writeMs));
    // Replica sync bytes from the return on: the peers' counters now, the node's as it went away.
    const peerBytes = await syncBytes(cluster.storage.filter((n) => n !== node).map((n) => n.url)).catch(() => null);
    const bytesAtReturn = peerBytes && nodeBytesAway ? Object.fromEntries(SYNC_KINDS.map((k) => [k, (peerBytes[k] ?? 0) + (nodeBytesAway[k] ?? 0)])) : null;
    if (args.fault === 'kill') {
      node.start();
      await node.waitHealthy();
    } else node.resume();
    const backAt = Date.now();
    const storageUrls = cluster.storage.map((n) => n.url);
    let held = 0;
    try {
      await waitFor(async () => {
        const have = await heldKeys(node.url, prefix);
        held = expected.filter((k) => have.has(k)).length;
        return held;
      }, { what: `${nodeId} to hold the ${expected.length} keys of its partitions`, until: (n) => n === expected.length, timeoutMs: args['timeout-ms'], intervalMs: POLL_INTERVAL_MS });
    } catch {
      // reported below
    }
    const recoveredMs = Date.now() - backAt;
    const bytesAfter = await syncBytes(storageUrls).catch(() => null);
    const moved = bytesAtReturn && bytesAfter ? bytesBetween(bytesAtReturn, bytesAfter) : 'unknown';
    const figure = held === expected.length
      ? `held all ${expected.length} keys of its partitions ${(recoveredMs / 1000).toFixed(1)} s after its return`
      : `NOT RECOVERED: held ${held} of ${expected.length} keys of its partitions ${(recoveredMs / 1000).toFixed(1)} s after its return`;
    const how = await sources(cluster.frontend.url, node.url).catch((err: Error) => `(metrics unavailable: ${err.message})`);
    process.stdout.write(
      `recovery: D=${digits} K=${args.redundancy} storage=${args.storage} fault=${args.fault}: a node away ${((backAt - awayAt) / 1000).toFixed(1)} s ` +
      `while ${keysTotal} keys were written (in ${(writeMs / 1000).toFixed(1)} s, ${retries} retries) ${figure}, no client reads; ` +
      `replica sync messages between storage nodes since its return: ${moved} ` +
      `(storage flags: ${args['storage-flag'].join(' ') || 'defaults'}, hints ${args.hints}; ${how})\n`,
    );
    if (held !== expected.length) process.exitCode = 1;
  } finally {
    await cluster.stop();
    current = null;
    if (args.keep || process.exitCode) process.stdout.write(`recovery: logs and data kept in ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const d of args.digits) {
    if (!Number.isInteger(d) || d < 1 || d > 4) throw new Error(`--digits must be 1..4, got ${d}`);
    await runOnce(d);
  }
  agent.destroy();
}

main().catch((err: Error) => {
  process.stderr.write(`recovery bench failed: ${err.message}\n`);
  void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
});
