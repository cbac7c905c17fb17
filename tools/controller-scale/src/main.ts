/**
 * The controller at scale: starts the real controller process, then N lightweight simulated
 * storage nodes in this process (an HTTP server each, on loopback) that register, heartbeat at
 * the default interval, take table pushes through the same decode function as the real nodes
 * (deltas applied and checked against the checksum), and report their pending partitions as
 * copied. Then nodes join, are decommissioned, and one stops heartbeating. Prints, per epoch,
 * what triggered it, how long after the change it reached the nodes, and the bytes pushed; and
 * whether any node was ever marked down while it was heartbeating.
 *
 *   npm run build && npm run bench:controller-scale -- --nodes 1000 --digits 4
 *
 * Figures, not a pass/fail test: the machine it runs on decides the times.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { randomBytes } from 'node:crypto';
import { decodeTableMessage, deriveAuthKeys, FogError, INTERNAL_PATHS, signRequest, type PartitionTable } from '@fog/protocol';

/**
 * The secret of the measured controller (drawn per run): registrations and heartbeats are
 * signed, as real nodes sign them. The heartbeat thread loads this module again: it takes the
 * main thread's secret from its workerData rather than drawing its own.
 */
const SCALE_CLUSTER_SECRET = isMainThread ? randomBytes(24).toString('hex') : (workerData as { secret: string }).secret;
const scaleKeys = deriveAuthKeys(SCALE_CLUSTER_SECRET);
const signed = (method: string, urlPath: string, data: Buffer | undefined): Record<string, string> => ({
  'x-fog-auth': signRequest(scaleKeys, { method, path: urlPath, body: data ?? '', cluster: '' }, Date.now(), randomBytes(12).toString('base64url')),
});

/** Ceilings so a mistyped flag cannot exhaust the machine. */
const NODES_MAX = 5000;
/** Most busy-loop processes `--busy` starts (extra CPU load during the run). */
const BUSY_PROCESSES_MAX = 8;
const LOOPBACK = '127.0.0.1';
/** Registrations in flight at once while the cluster forms. */
const REGISTER_CONCURRENCY = 32;
/** Copy reports in flight at once, over all simulated nodes. */
const REPORT_CONCURRENCY = 16;
/** Longest wait for one step (formation, an epoch to arrive). Unit: ms. */
const STEP_TIMEOUT_MS = 300_000;

const args = yargs(hideBin(process.argv))
  .scriptName('fog-controller-scale')
  .option('nodes', { type: 'number', default: 1000, describe: `simulated storage nodes (max ${NODES_MAX})` })
  .option('digits', { type: 'number', default: 4, describe: 'partition digits D' })
  .option('redundancy', { type: 'number', default: 3, describe: 'K' })
  .option('zones', { type: 'number', default: 3, describe: 'zones the nodes are spread over' })
  .option('joins', { type: 'number', default: 2, describe: 'nodes that join one after another' })
  .option('removes', { type: 'number', default: 2, describe: 'nodes decommissioned one after another' })
  .option('heartbeat-interval-ms', { type: 'number', default: 1000, describe: 'heartbeat interval of the simulated nodes (the controller default)' })
  .option('settle-ms', { type: 'number', default: 5000, describe: 'quiet time watched between steps' })
  .option('controller', { type: 'string', default: 'dist/apps/controller/main.js', describe: 'built controller entry point' })
  .option('busy', { type: 'number', default: 0, describe: `busy-loop processes to run meanwhile, as extra CPU load (max ${BUSY_PROCESSES_MAX}); stopped by PID at the end` })
  .option('controller-node-arg', { type: 'string', array: true, default: [] as string[], describe: 'extra node option for the controller process (e.g. --cpu-prof)' })
  .strict()
  .help()
  .version(false)
  .parseSync();

const N = Math.min(Math.max(1, Math.floor(args.nodes)), NODES_MAX);
const heartbeatMs = args['heartbeat-interval-ms'];
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function request(port: number, method: string, urlPath: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: LOOPBACK, port, method, path: urlPath, agent, headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...signed(method, urlPath, data) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown = null;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function waitUntil<T>(what: string, probe: () => T | null | Promise<T | null>, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- heartbeats, in a thread of their own -------------------------------------------------

/**
 * The simulated nodes' heartbeats run on their own thread: a real node's heartbeat does not
 * wait while a thousand other nodes parse table pushes, and neither should a simulated one.
 * The main thread tells it which nodes beat and which epoch each holds.
 */
type HeartbeatMessage = { kind: 'start'; id: string } | { kind: 'stop'; id: string } | { kind: 'epoch'; id: string; epoch: number } | { kind: 'report' };

/** What the heartbeat thread saw of its own lateness: the sender's share of any silence. */
interface HeartbeatReport {
  kind: 'report';
  /** Largest gap between two heartbeats one node sent. Unit: ms. */
  sendGapMaxMs: number;
  /** Gaps between two heartbeats sent by one node longer than the controller's default down-after (3 intervals). */
  sendGapsOverDownAfter: number;
  /** Nodes with at least one such gap. */
  nodesWithSuchGaps: number;
  /** Longest a heartbeat timer fired after it was due: this thread's own lateness. Unit: ms. */
  timerLateMaxMs: number;
  /** Longest a heartbeat waited for its answer: the controller's (and loopback's) lateness. Unit: ms. */
  answerMaxMs: number;
}

function heartbeatThread(port: number, intervalMs: number): void {
  // One connection per node, as real nodes have: a shared pool would queue heartbeats behind each other.
  const hbAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const epochOf = new Map<string, number>();
  const timers = new Map<string, NodeJS.Timeout>();
  const lastSentMs = new Map<string, number>();
  const lateNodes = new Set<string>();
  let sendGapMaxMs = 0;
  let sendGapsOverDownAfter = 0;
  let timerLateMaxMs = 0;
  let answerMaxMs = 0;
  const dueMs = new Map<string, number>();
  const schedule = (id: string, delayMs: number): void => {
    dueMs.set(id, performance.now() + delayMs);
    timers.set(id, setTimeout(() => beat(id), delayMs));
  };
  // As a real node's controller link does: one heartbeat in flight, the next one an interval
  // after the answer.
  const beat = (id: string): void => {
    const data = Buffer.from(JSON.stringify({ epoch: epochOf.get(id) ?? 0 }));
    const sentMs = performance.now();
    const again = (): void => {
      answerMaxMs = Math.max(answerMaxMs, performance.now() - sentMs);
      if (timers.has(id)) schedule(id, intervalMs);
    };
    const hbPath = `/v1/nodes/${id}/heartbeat`;
    const now = performance.now();
    timerLateMaxMs = Math.max(timerLateMaxMs, now - (dueMs.get(id) ?? now));
    const last = lastSentMs.get(id);
    if (last !== undefined) {
      sendGapMaxMs = Math.max(sendGapMaxMs, now - last);
      if (now - last > 3 * intervalMs) {
        sendGapsOverDownAfter += 1;
        lateNodes.add(id);
      }
    }
    lastSentMs.set(id, now);
    const req = http.request({ host: LOOPBACK, port, method: 'POST', path: hbPath, agent: hbAgent, headers: { 'content-type': 'application/json', 'content-length': data.length, ...signed('POST', hbPath, data) } }, (res) => {
      res.resume();
      res.on('end', again);
    });
    req.on('error', again);
    req.end(data);
  };
  parentPort!.postMessage('ready');
  parentPort!.on('message', (m: HeartbeatMessage) => {
    if (m.kind === 'report') {
      parentPort!.postMessage({ kind: 'report', sendGapMaxMs, sendGapsOverDownAfter, nodesWithSuchGaps: lateNodes.size, timerLateMaxMs, answerMaxMs } satisfies HeartbeatReport);
    } else if (m.kind === 'epoch') epochOf.set(m.id, m.epoch);
    else if (m.kind === 'start' && !timers.has(m.id)) schedule(m.id, Math.random() * intervalMs);
    else if (m.kind === 'stop') {
      clearTimeout(timers.get(m.id));
      timers.delete(m.id);
      lastSentMs.delete(m.id);
    }
  });
}

let heartbeats: Worker | null = null;

// ---- what the simulated nodes share: one decoded table per epoch ----------------------------

interface EpochInfo {
  table: PartitionTable;
  /** Partitions each node is pending for. */
  pendingOf: Map<string, number[]>;
  firstArrivalMs: number;
  receivers: number;
  bytes: { delta: number; compact: number };
  pushes: { delta: number; compact: number };
  partitionsChanged: number | null;
}

const epochs = new Map<number, EpochInfo>();
/** Copy reports by answer (HTTP status, or 'error'). */
const reportOutcomes = new Map<string, number>();
/** Nodes marked down in a pushed table while they were heartbeating. */
const wronglyDown = new Set<string>();

function headOf(body: Buffer): { format: string; epoch: number; baseEpoch: number; changed: number | null } {
  const head = body.subarray(0, 200).toString();
  const format = /"format":"(\w+)"/.exec(head)?.[1] ?? 'plain';
  const epoch = Number(/"epoch":(\d+)/.exec(head)?.[1] ?? -1);
  const baseEpoch = Number(/"baseEpoch":(\d+)/.exec(head)?.[1] ?? -1);
  return { format, epoch, baseEpoch, changed: null };
}

function learnEpoch(table: PartitionTable, changed: number | null): EpochInfo {
  let info = epochs.get(table.epoch);
  if (info) return info;
  const pendingOf = new Map<string, number[]>();
  table.partitions.forEach((e, p) => {
    for (const id of e.pending) {
      let list = pendingOf.get(id);
      if (!list) pendingOf.set(id, (list = []));
      list.push(p);
    }
  });
  info = { table, pendingOf, firstArrivalMs: performance.now(), receivers: 0, bytes: { delta: 0, compact: 0 }, pushes: { delta: 0, compact: 0 }, partitionsChanged: changed };
  epochs.set(table.epoch, info);
  for (const n of Object.values(table.nodes)) {
    const sim = simByAddress.get(n.address);
    if (n.state === 'down' && sim && sim.heartbeating) wronglyDown.add(n.id);
  }
  return info;
}

// ---- a simulated storage node -----------------------------------------------------------

const simByAddress = new Map<string, SimNode>();
let controllerPort = 0;
let reportsInFlight = 0;
const reportQueue: Array<() => Promise<void>> = [];

function queueReport(fn: () => Promise<void>): void {
  reportQueue.push(fn);
  const pump = (): void => {
    while (reportsInFlight < REPORT_CONCURRENCY && reportQueue.length > 0) {
      const next = reportQueue.shift() as () => Promise<void>;
      reportsInFlight += 1;
      void next().finally(() => {
        reportsInFlight -= 1;
        pump();
      });
    }
  };
  pump();
}

class SimNode {
  server!: http.Server;
  address = '';
  table: PartitionTable | null = null;
  heartbeating = false;
  private readonly reported = new Set<number>();

  constructor(readonly id: string, readonly zone: string) {}

  async listen(): Promise<void> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server.listen(0, LOOPBACK, resolve));
    this.address = `${LOOPBACK}:${(this.server.address() as { port: number }).port}`;
    simByAddress.set(this.address, this);
  }

  async register(): Promise<void> {
    const res = await request(controllerPort, 'POST', '/v1/nodes', { id: this.id, role: 'storage', address: this.address, zone: this.zone, weight: 1, empty: true, epoch: 0 });
    if (res.status !== 200) throw new Error(`${this.id} registration refused: ${res.status} ${JSON.stringify(res.json)}`);
    const table = (res.json as { table: unknown }).table;
    if (table) this.adopt(decodeTableMessage(this.table, table));
    this.heartbeating = true;
    heartbeats?.postMessage({ kind: 'start', id: this.id } satisfies HeartbeatMessage);
  }

  stopHeartbeats(): void {
    this.heartbeating = false;
    heartbeats?.postMessage({ kind: 'stop', id: this.id } satisfies HeartbeatMessage);
  }

  close(): void {
    this.stopHeartbeats();
    this.server.close();
  }

  private adopt(table: PartitionTable | null): void {
    if (!table || (this.table && table.epoch <= this.table.epoch)) return;
    this.table = table;
    heartbeats?.postMessage({ kind: 'epoch', id: this.id, epoch: table.epoch } satisfies HeartbeatMessage);
    const info = learnEpoch(table, null);
    // Copies complete at once: report every partition this node is pending for.
    for (const p of info.pendingOf.get(this.id) ?? []) {
      if (this.reported.has(p)) continue;
      this.reported.add(p);
      const epoch = table.epoch;
      // A completed copy names the replicas it reconciled with: every active one.
      const sources = table.partitions[p].replicas.filter((r) => r !== this.id);
      queueReport(async () => {
        const res = await request(controllerPort, 'POST', `/v1/nodes/${this.id}/handoff`, { partition: p, epoch, keysCopied: 0, bytesCopied: 0, done: true, sources }).catch(() => null);
        const outcome = res ? String(res.status) : 'error';
        reportOutcomes.set(outcome, (reportOutcomes.get(outcome) ?? 0) + 1);
      });
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const answer = (status: number, json: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method !== 'PUT' || req.url !== INTERNAL_PATHS.table) return answer(404, { error: { code: 'FOG_ERR_ROUTE_NOT_FOUND' } });
      const head = headOf(body);
      const encoding = head.format === 'delta' ? 'delta' : 'compact';
      try {
        let table: PartitionTable | null;
        const known = epochs.get(head.epoch);
        if (known && (encoding === 'compact' || this.table?.epoch === head.baseEpoch)) {
          // Another simulated node already decoded and verified this very epoch: share it.
          table = known.table;
        } else {
          const message = JSON.parse(body.toString()) as { partitions?: unknown[] };
          table = decodeTableMessage(this.table, message);
          if (table) learnEpoch(table, encoding === 'delta' && Array.isArray(message.partitions) ? message.partitions.length : null);
        }
        if (table) {
          const info = epochs.get(table.epoch) as EpochInfo;
          if (info.partitionsChanged === null && encoding === 'delta') {
            const message = JSON.parse(body.toString()) as { partitions?: unknown[] };
            info.partitionsChanged = Array.isArray(message.partitions) ? message.partitions.length : null;
          }
          info.receivers += 1;
          info.bytes[encoding] += body.length;
          info.pushes[encoding] += 1;
          this.adopt(table);
        }
        answer(200, { adopted: table !== null, epoch: this.table?.epoch ?? 0 });
      } catch (err) {
        if (err instanceof FogError) return answer(err.status, err.toBody());
        answer(400, { error: { code: 'FOG_ERR_BAD_REQUEST', message: (err as Error).message } });
      }
    });
  }
}

// ---- the run ----------------------------------------------------------------------------

interface Step {
  what: string;
  epochBefore: number;
  startedMs: number;
}

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, LOOPBACK, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function newestEpoch(): Promise<number> {
  return Math.max(0, ...epochs.keys());
}

/** Waits for the first epoch above `after` to reach a simulated node; returns it and the delay. */
async function nextEpoch(step: Step): Promise<{ epoch: number; ms: number }> {
  const epoch = await waitUntil(`an epoch after ${step.what}`, async () => {
    const newest = await newestEpoch();
    return newest > step.epochBefore ? newest : null;
  }, 5);
  const first = Math.min(...[...epochs.entries()].filter(([e]) => e > step.epochBefore).map(([, i]) => i.firstArrivalMs));
  return { epoch, ms: first - step.startedMs };
}

async function main(): Promise<void> {
  const controllerBin = path.resolve(args.controller);
  if (!fs.existsSync(controllerBin)) throw new Error(`${controllerBin} not found: run npm run build first`);
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-scale-'));
  controllerPort = await freePort();
  const log = fs.openSync(path.join(logDir, 'controller.log'), 'w');
  const controller: ChildProcess = spawn(
    process.execPath,
    [...args['controller-node-arg'], controllerBin, '--port', String(controllerPort), '--expected-storage', String(N), '--redundancy', String(args.redundancy),
      '--partition-digits', String(args.digits), '--heartbeat-interval-ms', String(heartbeatMs), '--log-level', 'info'],
    { stdio: ['ignore', log, log], env: { ...process.env, FOG_CLUSTER_SECRET: SCALE_CLUSTER_SECRET } },
  );
  const stopController = (): void => {
    if (controller.pid && controller.exitCode === null) process.kill(controller.pid, 'SIGTERM');
  };
  process.on('exit', stopController);
  // Extra CPU load: processes that spin until they are killed (by PID, when the run ends).
  const busy: ChildProcess[] = [];
  const stopBusy = (): void => {
    for (const b of busy) if (b.pid && b.exitCode === null) process.kill(b.pid, 'SIGKILL');
  };
  process.on('exit', stopBusy);
  for (let i = 0; i < Math.min(Math.max(0, Math.floor(args.busy)), BUSY_PROCESSES_MAX); i++) {
    busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  }
  if (busy.length) console.log(`extra load: ${busy.length} busy-loop processes (pids ${busy.map((b) => b.pid).join(', ')})`);
  try {
    await waitUntil('the controller', () => request(controllerPort, 'GET', '/health').then(() => true, () => null), 100);
    heartbeats = new Worker(__filename, { workerData: { port: controllerPort, intervalMs: heartbeatMs, secret: SCALE_CLUSTER_SECRET } });
    // Nodes register only once their heartbeats can start.
    await new Promise<void>((resolve, reject) => {
      heartbeats!.once('message', () => resolve());
      heartbeats!.once('error', reject);
    });
    console.log(`controller pid ${controller.pid} on port ${controllerPort}, log ${path.join(logDir, 'controller.log')}`);
    console.log(`N=${N} D=${args.digits} K=${args.redundancy} zones=${args.zones} heartbeat ${heartbeatMs} ms`);

    const nodes: SimNode[] = [];
    for (let i = 0; i < N; i++) nodes.push(new SimNode(`sim-${String(i).padStart(5, '0')}`, `zone-${i % args.zones}`));
    await Promise.all(nodes.map((n) => n.listen()));
    const formStarted = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: REGISTER_CONCURRENCY }, async () => {
      while (next < nodes.length) await nodes[next++].register();
    }));
    const registeredMs = performance.now() - formStarted;
    await waitUntil('every node to hold the first table', () => (nodes.every((n) => n.table !== null) ? true : null), 100);
    console.log(`registration of ${N} nodes: ${registeredMs.toFixed(0)} ms; every node holds epoch ${Math.min(...nodes.map((n) => n.table!.epoch))} after ${(performance.now() - formStarted).toFixed(0)} ms`);

    const steps: Array<{ what: string; epoch: number; ms: number }> = [];
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, args['settle-ms']));
    await settle();

    const run = async (what: string, action: () => Promise<void>): Promise<void> => {
      const step = { what, epochBefore: await newestEpoch(), startedMs: performance.now() };
      await action();
      const { epoch, ms } = await nextEpoch(step);
      steps.push({ what, epoch, ms });
      // Let the copy reports finish and their epochs go out before the next change.
      await waitUntil(`${what} to settle`, () => (reportQueue.length === 0 && reportsInFlight === 0 ? true : null), 100);
      await settle();
    };

    for (let j = 0; j < args.joins; j++) {
      const joiner = new SimNode(`sim-join-${j}`, `zone-${j % args.zones}`);
      await joiner.listen();
      nodes.push(joiner);
      await run(`join ${joiner.id}`, () => joiner.register());
    }
    for (let r = 0; r < args.removes; r++) {
      const leaver = nodes[1 + r * 7];
      await run(`decommission ${leaver.id}`, async () => {
        const res = await request(controllerPort, 'POST', `/v1/cluster/nodes/${leaver.id}/decommission`);
        if (res.status !== 202) throw new Error(`decommission refused: ${res.status} ${JSON.stringify(res.json)}`);
      });
    }
    const victim = nodes[3];
    await run(`${victim.id} stops heartbeating`, async () => victim.stopHeartbeats());
    wronglyDown.delete(victim.id);
    const hbReport = await new Promise<HeartbeatReport>((resolve) => {
      const onMessage = (m: unknown): void => {
        if ((m as HeartbeatReport).kind !== 'report') return;
        heartbeats!.off('message', onMessage);
        resolve(m as HeartbeatReport);
      };
      heartbeats!.on('message', onMessage);
      heartbeats!.postMessage({ kind: 'report' } satisfies HeartbeatMessage);
    });

    console.log('\nepoch  receivers  delta pushes  bytes/delta push  compact pushes  bytes/compact push  partitions changed');
    for (const [epoch, info] of [...epochs.entries()].sort((a, b) => a[0] - b[0])) {
      const perDelta = info.pushes.delta ? Math.round(info.bytes.delta / info.pushes.delta) : 0;
      const perCompact = info.pushes.compact ? Math.round(info.bytes.compact / info.pushes.compact) : 0;
      console.log(
        `${String(epoch).padStart(5)}  ${String(info.receivers).padStart(9)}  ${String(info.pushes.delta).padStart(12)}  ${String(perDelta).padStart(16)}  ${String(info.pushes.compact).padStart(14)}  ${String(perCompact).padStart(18)}  ${String(info.partitionsChanged ?? '-').padStart(18)}`,
      );
    }
    console.log('\nchange -> first epoch after it reached a node');
    for (const s of steps) console.log(`  ${s.what.padEnd(36)} epoch ${s.epoch}: ${s.ms.toFixed(0)} ms`);
    const metrics = await request(controllerPort, 'GET', '/metrics');
    const text = String(metrics.json);
    const pick = (name: string): string => text.split('\n').filter((l) => l.startsWith(name)).join('\n  ');
    console.log(`\ncontroller metrics:\n  ${pick('fog_controller_table_push_bytes_total')}\n  ${pick('fog_controller_tick_seconds_sum')}\n  ${pick('fog_controller_tick_seconds_count')}`);
    console.log(`  ${pick('fog_controller_event_loop_delay_max_seconds')}\n  ${pick('fog_controller_event_loop_delay_seconds_sum')}\n  ${pick('fog_controller_event_loop_delay_seconds_count')}`);
    console.log(`  ${pick('fog_controller_placement_seconds_sum')}\n  ${pick('fog_controller_placement_seconds_count')}\n  ${pick('fog_controller_lateness_credit_seconds')}`);
    const controllerLog = fs.readFileSync(path.join(logDir, 'controller.log'), 'utf8').split('\n');
    const slowTicks = controllerLog.filter((l) => l.includes('slow controller tick'));
    console.log(`slow ticks logged (> 250 ms): ${slowTicks.length}${slowTicks.length ? `\n  ${slowTicks.slice(0, 10).join('\n  ')}` : ''}`);
    const placements = controllerLog.filter((l) => l.includes('"placement computed"') || l.includes('"slow placement"') || l.includes('"placement dropped'));
    console.log(`placements (wall time on the worker thread, request to result): ${placements.length}`);
    for (const l of placements.slice(0, 20)) {
      try {
        const e = JSON.parse(l) as { msg: string; ms: number; ownThreadMs: number; applyMs: number; where: string; outcome: string; first: boolean; epoch: number };
        console.log(`  ${e.first ? 'first table' : 'replan'}: ${e.ms} ms on ${e.where} (${e.ownThreadMs} ms of it on the event loop, then ${e.applyMs} ms to apply), ${e.outcome} (epoch then ${e.epoch})`);
      } catch {
        console.log(`  ${l}`);
      }
    }
    console.log(`copy reports by answer: ${JSON.stringify(Object.fromEntries(reportOutcomes))}`);
    console.log(
      `\nheartbeat sender (this tool): largest gap between two heartbeats of one node ${hbReport.sendGapMaxMs.toFixed(0)} ms; ` +
        `${hbReport.sendGapsOverDownAfter} gaps over ${3 * heartbeatMs} ms (down-after) on ${hbReport.nodesWithSuchGaps} nodes; ` +
        `a heartbeat timer fired up to ${hbReport.timerLateMaxMs.toFixed(0)} ms late (this tool's own lateness); an answer took up to ${hbReport.answerMaxMs.toFixed(0)} ms`,
    );
    console.log(`nodes marked down while heartbeating: ${wronglyDown.size}${wronglyDown.size ? ` (${[...wronglyDown].slice(0, 10).join(', ')})` : ''}`);
    const view = (await request(controllerPort, 'GET', '/v1/cluster')).json as { nodes: Array<{ id: string; state: string }> };
    const states = new Map<string, number>();
    for (const n of view.nodes) states.set(n.state, (states.get(n.state) ?? 0) + 1);
    console.log(`node states at the end: ${JSON.stringify(Object.fromEntries(states))} (${victim.id}: ${view.nodes.find((n) => n.id === victim.id)?.state})`);
    for (const n of nodes) n.close();
  } finally {
    await heartbeats?.terminate();
    stopBusy();
    stopController();
    agent.destroy();
  }
}

if (isMainThread) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(`error: ${err.message}`);
      process.exit(1);
    },
  );
} else {
  const { port, intervalMs } = workerData as { port: number; intervalMs: number };
  heartbeatThread(port, intervalMs);
}
