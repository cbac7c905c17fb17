import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterView } from '@fog/protocol';
import {
  assertValidExposition, get, getJson, installProcessSafetyNet, makeTempDir, removeTempDir, request, sampleValue, useCluster, waitFor,
  type Cluster,
} from './harness';

installProcessSafetyNet();

// Replica sync as an operator's bad week would try it: one fault at a time under a steady
// stream of writes, and nothing acknowledged may be lost or read as missing. Fast failure
// detection (heartbeats every 200 ms) keeps the run near a minute.
const HEARTBEAT_MS = 200;
const DOWN_AFTER_MS = 1500;
const K = 3;
const D = 2;

const run = randomBytes(4).toString('hex');
const enc = encodeURIComponent;
const kvUrl = (fe: string, k: string, query = '') => `${fe}/v1/kv/${enc(k)}${query}`;

const view = (c: Cluster) => getJson<ClusterView>(`${c.controllerUrl}/v1/cluster`);

/** No moves left and no pending replica anywhere: every partition has its K active replicas. */
function waitNoPending(c: Cluster, what: string, timeoutMs = 45_000): Promise<ClusterView> {
  return waitFor(() => view(c), {
    what, timeoutMs, intervalMs: 100,
    until: (v) => !v.planning && v.movesPending === 0 && v.moves.length === 0 && v.nodes.every((n) => !n.pendingPartitions),
  });
}

function waitState(c: Cluster, id: string, state: string, timeoutMs = 30_000): Promise<ClusterView> {
  return waitFor(() => view(c), {
    what: `${id} to be ${state}`, timeoutMs, intervalMs: 100,
    until: (v) => v.nodes.some((n) => n.id === id && n.state === state),
  });
}

async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await get(`${url}/metrics`);
  return sampleValue(assertValidExposition(res.text, `${url}/metrics`).samples, name, labels) ?? 0;
}

/**
 * Loops that PUT fresh keys (each written once, with its own value) through the frontends until
 * stopped, recording every acknowledged (200) key and value.
 */
class Writers {
  readonly acked = new Map<string, string>();
  /** Acknowledged keys in order, for readers picking one at random. */
  readonly ackedKeys: string[] = [];
  readonly refusedByStatus = new Map<number, number>();
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly prefix: string, private readonly frontends: string[], private readonly concurrency: number) {}

  start(): void {
    this.loops = Array.from({ length: this.concurrency }, (_, w) => this.loop(w));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(w: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const key = `${run}/${this.prefix}/${w}/${n}`;
      const value = `v-${n}-${randomBytes(4).toString('hex')}`;
      const res = await request('PUT', kvUrl(this.frontends[n % this.frontends.length], key), value).catch(() => ({ status: 0 }));
      if (res.status === 200) {
        this.acked.set(key, value);
        this.ackedKeys.push(key);
      } else {
        this.refusedByStatus.set(res.status, (this.refusedByStatus.get(res.status) ?? 0) + 1);
        await sleep(20);
      }
    }
  }
}

/**
 * Loops that read acknowledged keys at random with the default r=quorum while the faults
 * happen. A 404 or a wrong value for an acknowledged key is a failure whenever it happens; a
 * refusal (503 while too few replicas answer) is only counted.
 */
class Readers {
  checked = 0;
  readonly notFound: string[] = [];
  readonly wrong: string[] = [];
  readonly otherByStatus = new Map<number, number>();
  private phaseNow = 'start';
  private phaseStartedAt = Date.now();
  /** Seconds spent in each phase, for the summary. */
  readonly phaseSeconds: string[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly writers: Writers, private readonly frontends: string[], private readonly concurrency: number) {}

  start(): void {
    this.loops = Array.from({ length: this.concurrency }, (_, r) => this.loop(r));
  }

  get phase(): string {
    return this.phaseNow;
  }

  set phase(name: string) {
    const seconds = ((Date.now() - this.phaseStartedAt) / 1000).toFixed(1);
    this.phaseSeconds.push(`${this.phaseNow} ${seconds}`);
    // As it happens, so that a run cut short by the test timeout still shows where it was.
    process.stdout.write(`replica-sync: ${this.phaseNow} took ${seconds} s (${this.writers.acked.size} keys acknowledged, ${this.checked} reads, ${this.notFound.length} x 404); now ${name}\n`);
    this.phaseNow = name;
    this.phaseStartedAt = Date.now();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(r: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      const keys = this.writers.ackedKeys;
      if (keys.length === 0) {
        await sleep(20);
        continue;
      }
      const key = keys[Math.floor(Math.random() * keys.length)];
      const res = await request('GET', kvUrl(this.frontends[(n + r) % this.frontends.length], key)).catch(() => ({ status: 0, text: '' }));
      this.checked++;
      if (res.status === 404) this.notFound.push(`${key} (during ${this.phase})`);
      else if (res.status === 200 && res.text !== this.writers.acked.get(key)) this.wrong.push(`${key} read ${JSON.stringify(res.text.slice(0, 40))} (during ${this.phase})`);
      else if (res.status !== 200) {
        this.otherByStatus.set(res.status, (this.otherByStatus.get(res.status) ?? 0) + 1);
        await sleep(20);
      }
    }
  }
}

/** Acknowledged keys that do not read back with their value at this consistency. */
async function unreadable(fe: string[], acked: Map<string, string>, r: 'quorum' | 'all', concurrency = 8): Promise<string[]> {
  const keys = [...acked.keys()];
  const bad: string[] = [];
  await Promise.all(Array.from({ length: concurrency }, async (_, s) => {
    for (let i = s; i < keys.length; i += concurrency) {
      const res = await request('GET', kvUrl(fe[i % fe.length], keys[i], `?r=${r}`)).catch((e: Error) => ({ status: 0, text: e.message }));
      if (res.status !== 200 || res.text !== acked.get(keys[i])) bad.push(`${keys[i]}: ${res.status} ${res.text.slice(0, 60)}`);
    }
  }));
  return bad;
}

const countsText = (m: Map<number, number>) => [...m].map(([s, n]) => `${s}:${n}`).join(' ') || 'none';

// -------------------------------------------------------------------------------------------
describe('replica sync under a bad week: a cut, a pause, two lost disks, and writes throughout (5 storage nodes, K=3, D=2)', () => {
  // Out soon enough to re-replicate within the run, late enough that the ~5 s cut stays `down`.
  const OUT_AFTER_MS = 8000;
  const CUT_MS = 5000;
  const PAUSE_MS = 3000;
  const dataRoot = makeTempDir('replica-sync-data');
  const dataDir = (i: number) => path.join(dataRoot, `storage-${i}`);
  const { cluster, it } = useCluster({
    storage: 5, frontends: 2, redundancy: K, digits: D, label: 'replica-sync', storageLinks: true,
    controllerArgs: ['--heartbeat-interval-ms', String(HEARTBEAT_MS), '--down-after-ms', String(DOWN_AFTER_MS), '--out-after-ms', String(OUT_AFTER_MS), '--tick-interval-ms', '100'],
    storageArgs: (i) => ['--data-dir', dataDir(i), '--fsync', 'always', '--heartbeat-interval-ms', String(HEARTBEAT_MS)],
    frontendArgs: ['--heartbeat-interval-ms', String(HEARTBEAT_MS)],
    timeoutMs: 45_000,
  });
  afterAll(() => removeTempDir(dataRoot));

  it('every acknowledged write reads back with r=quorum and r=all, and none ever reads as missing', async () => {
    const c = cluster();
    const fes = [c.frontendUrl(0), c.frontendUrl(1)];
    const [A, B, C, P] = [0, 1, 2, 3];
    const writers = new Writers('week', fes, 3);
    const readers = new Readers(writers, fes, 2);
    writers.start();
    readers.start();
    const started = Date.now();
    try {
      await waitFor(() => writers.acked.size, { what: '200 acknowledged writes before the first fault', until: (n) => n >= 200, timeoutMs: 60_000 });

      // (a) Replica A is cut off for a few seconds: its share of the writes is acknowledged by
      // the two other replicas of each partition. It stays `down`, never `out`: nothing is copied.
      readers.phase = `the cut of ${c.storageId(A)}`;
      c.cutStorage(A);
      await sleep(CUT_MS);
      c.healStorage(A);
      await waitState(c, c.storageId(A), 'up');
      readers.phase = `the return of ${c.storageId(A)}`;
      await sleep(2000);

      // A hung process: replica P holds its connections but answers nothing for a few seconds.
      readers.phase = `the pause of ${c.storageId(P)}`;
      c.pauseStorage(P);
      await sleep(PAUSE_MS);
      c.resumeStorage(P);
      readers.phase = `the resumption of ${c.storageId(P)}`;
      await sleep(1000);

      // (b) Replica B loses its disk and stays away until it is `out` and its partitions have
      // K active replicas elsewhere; then it comes back empty and joins again.
      readers.phase = `the disk loss of ${c.storageId(B)}`;
      await c.killStorage(B, 'SIGKILL');
      fs.rmSync(dataDir(B), { recursive: true, force: true });
      await waitState(c, c.storageId(B), 'out');
      await waitNoPending(c, `the partitions of ${c.storageId(B)} to be re-replicated`);
      readers.phase = `the rejoin of ${c.storageId(B)} (empty)`;
      await c.restartStorage(B);
      await waitNoPending(c, `${c.storageId(B)} to finish copying after its rejoin`);

      // (c) Replica C loses its disk and restarts at once, empty, while the table still lists it.
      readers.phase = `the disk loss of ${c.storageId(C)}`;
      await c.killStorage(C, 'SIGKILL');
      fs.rmSync(dataDir(C), { recursive: true, force: true });
      await c.restartStorage(C);
      readers.phase = `the copy back to ${c.storageId(C)}`;
      await waitNoPending(c, `${c.storageId(C)} to finish copying after it came back empty`);
      readers.phase = 'the end';
      await sleep(2000);
    } finally {
      readers.phase = 'stopping';
      await writers.stop();
      await readers.stop();
    }

    const lostQuorum = await unreadable(fes, writers.acked, 'quorum');
    const lostAll = await unreadable(fes, writers.acked, 'all');
    const lost = new Set([...lostQuorum, ...lostAll].map((l) => l.slice(0, l.indexOf(':'))));
    const repairs = (await Promise.all(fes.map((fe) => metric(fe, 'fog_frontend_read_repairs_total')))).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `replica-sync: ${writers.acked.size} keys acknowledged (refused ${countsText(writers.refusedByStatus)}), ${readers.checked} reads checked during faults ` +
      `(${readers.notFound.length} x 404, ${readers.wrong.length} wrong, other ${countsText(readers.otherByStatus)}), ` +
      `${lost.size} lost at the end (r=quorum ${lostQuorum.length}, r=all ${lostAll.length}), ${repairs} read repairs, ${Math.round((Date.now() - started) / 1000)} s\n`,
    );
    process.stdout.write(`replica-sync: seconds per phase: ${readers.phaseSeconds.join(', ')}\n`);
    expect({ notFound: readers.notFound.length, firstNotFound: readers.notFound.slice(0, 10) }).toEqual({ notFound: 0, firstNotFound: [] });
    expect(readers.wrong.slice(0, 10)).toEqual([]);
    expect({ lostQuorum: lostQuorum.length, firstLostQuorum: lostQuorum.slice(0, 10) }).toEqual({ lostQuorum: 0, firstLostQuorum: [] });
    expect({ lostAll: lostAll.length, firstLostAll: lostAll.slice(0, 10) }).toEqual({ lostAll: 0, firstLostAll: [] });
    expect(c.crashes()).toEqual([]);
  }, 300_000);
});

// -------------------------------------------------------------------------------------------
describe('a storage node down for a while catches up on its own (3 storage nodes, K=3: each holds every key)', () => {
  const DOWN_MS = 8000;
  const KEYS = 2000;
  // Generous: a behaviour bound, not a speed test (the benchmark reports the figure).
  const CAUGHT_UP_WITHIN_MS = 30_000;
  const dataRoot = makeTempDir('replica-sync-return');
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: K, digits: D, label: 'replica-sync-return',
    // Never `out` during the test: the returning node keeps its partitions and nothing is copied.
    controllerArgs: ['--heartbeat-interval-ms', String(HEARTBEAT_MS), '--down-after-ms', String(DOWN_AFTER_MS), '--out-after-ms', '120000', '--tick-interval-ms', '100'],
    storageArgs: (i) => ['--data-dir', path.join(dataRoot, `storage-${i}`), '--heartbeat-interval-ms', String(HEARTBEAT_MS)],
    frontendArgs: ['--heartbeat-interval-ms', String(HEARTBEAT_MS)],
  });
  afterAll(() => removeTempDir(dataRoot));

  it(`a node down for ${DOWN_MS / 1000} s while ${KEYS} keys are written holds every one of them soon after its return, with no client reads`, async () => {
    const c = cluster();
    const fe = c.frontendUrl(0);
    const prefix = `${run}/return/`;
    const victim = 2;
    // Data it holds before it goes: it comes back with its disk, not empty, so nothing copies
    // whole partitions to it.
    for (let i = 0; i < 100; i++) {
      const res = await request('PUT', kvUrl(fe, `${run}/before/${i}`, '?w=all'), 'before');
      expect(res.status).toBe(200);
    }
    await c.killStorage(victim, 'SIGKILL');
    const downAt = Date.now();
    const refused: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = next++; i < KEYS; i = next++) {
        const res = await request('PUT', kvUrl(fe, `${prefix}${i}`), `value-${i}`);
        if (res.status !== 200) refused.push(`${i}: ${res.status} ${res.text.slice(0, 100)}`);
      }
    }));
    expect(refused.slice(0, 10)).toEqual([]);
    const writtenMs = Date.now() - downAt;
    await sleep(Math.max(0, DOWN_MS - writtenMs));
    await c.restartStorage(victim);
    const backAt = Date.now();
    // Only the node's own key listing is read: no client read could repair it.
    const holds = async () => {
      const body = await getJson<{ keys: Array<{ key: string; tombstone: boolean }>; truncated: boolean }>(`${c.storageUrl(victim)}/v1/keys?limit=100000`);
      expect(body.truncated).toBe(false);
      return body.keys.filter((k) => k.key.startsWith(prefix) && !k.tombstone).length;
    };
    const held = await waitFor(holds, {
      what: `${c.storageId(victim)} to hold all ${KEYS} keys written while it was down`, timeoutMs: CAUGHT_UP_WITHIN_MS, intervalMs: 250,
      until: (n) => n === KEYS,
    }).catch(async (err: Error) => {
      throw new Error(`${err.message}; it holds ${await holds().catch(() => '?')} of ${KEYS}`);
    });
    const caughtUpMs = Date.now() - backAt;
    expect(held).toBe(KEYS);
    expect(await metric(fe, 'fog_frontend_read_repairs_total')).toBe(0);
    process.stdout.write(`replica-sync: a node down ${Math.round((backAt - downAt) / 1000)} s while ${KEYS} keys were written held all of them ${(caughtUpMs / 1000).toFixed(1)} s after its return (no client reads)\n`);
  }, 90_000);
});
