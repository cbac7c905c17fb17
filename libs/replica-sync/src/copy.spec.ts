import type { Entry } from '@fog/lww';
import type { PartitionTable } from '@fog/protocol';
import { CopyJob, type CopyStep } from './copy';
import { DIGEST_BUCKETS } from './limits';
import { runRound } from './round';
import { MemReplica, fullTable, memTransport } from './testing/mem-replica';

const P = 5;
const val = (ms: number, s: string): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: Buffer.from(s) });

/** Three active replicas a, b, c and a pending d for partition P (16 partitions). */
function setup(): { table: PartitionTable; nodes: Map<string, MemReplica> } {
  const table = fullTable(16, ['a', 'b', 'c', 'd'], Object.fromEntries(Array.from({ length: 16 }, (_, p) => [p, ['d']])));
  const nodes = new Map(['a', 'b', 'c', 'd'].map((id) => [id, new MemReplica(id, table)]));
  return { table, nodes };
}

/** Pages of `size` keys in key order from a replica's partition, as the storage app serves them. */
function page(r: MemReplica, after: string | null, size: number): { keys: Array<[string, Entry]>; next: string | null } {
  const keys = r.keys(P).filter((k) => after === null || k > after);
  const taken = keys.slice(0, size).map((k) => [k, r.get(P, k)!] as [string, Entry]);
  return { keys: taken, next: taken.length < keys.length ? taken[taken.length - 1][0] : null };
}

/** Run the job's steps against in-memory replicas until it reports (or gives up after maxSteps). */
async function drive(job: CopyJob, table: PartitionTable, nodes: Map<string, MemReplica>, opts: { pageSize?: number; failPageAt?: number } = {}): Promise<{ steps: CopyStep[]; reported: string[] | null }> {
  const self = nodes.get(job.self)!;
  const transport = memTransport(nodes);
  const steps: CopyStep[] = [];
  let now = 0;
  let pages = 0;
  for (let i = 0; i < 200; i++) {
    const step = job.next(table, now);
    steps.push(step);
    if (step.kind === 'done') break;
    if (step.kind === 'wait') {
      now = step.untilMs;
      continue;
    }
    if (step.kind === 'page') {
      const src = nodes.get(step.source)!;
      if (!src.up || pages++ === opts.failPageAt) {
        job.onFailure(step.source, now);
        continue;
      }
      const pg = page(src, step.after, opts.pageSize ?? 3);
      for (const [k, e] of pg.keys) self.accept(P, k, e);
      job.onPage(step.source, pg.keys.length, pg.keys.length, pg.next);
    } else if (step.kind === 'reconcile') {
      try {
        const stats = await runRound(self, transport, { partitions: [P], peersOf: () => [step.peer] }, { buckets: DIGEST_BUCKETS, keysPerRoundMax: 10_000, entryBytesPerMessageMax: 1 << 20 });
        job.onReconciled(step.peer, stats.synced.includes(P) && stats.failedExchanges === 0, stats.pulled, 0, now);
      } catch {
        job.onFailure(step.peer, now);
      }
    } else if (step.kind === 'report') {
      job.onReported();
      return { steps, reported: step.sources };
    }
  }
  return { steps, reported: null };
}

describe('a partition copy', () => {
  it('with a stale first source still ends with every version any active replica held', async () => {
    const { table, nodes } = setup();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => nodes.get(id)!);
    for (let i = 0; i < 20; i++) for (const r of [a, b, c]) r.write(P, `k${String(i).padStart(2, '0')}`, val(100 + i, `v${i}`));
    // Writes acknowledged by b and c while the replica the copy pages from missed them.
    const job = new CopyJob(P, 'd', 0);
    const primary = (job.next(table, 0) as { source: string }).source;
    const others = ['a', 'b', 'c'].filter((x) => x !== primary);
    for (let i = 0; i < 7; i++) for (const id of others) nodes.get(id)!.write(P, `late${i}`, val(500 + i, `late${i}`));
    nodes.get(others[0])!.write(P, 'k03', val(900, 'newer-on-one'));
    const { reported } = await drive(job, table, nodes);
    expect(reported?.sort()).toEqual(['a', 'b', 'c']);
    const d = nodes.get('d')!;
    expect(d.keys(P)).toEqual(nodes.get(others[0])!.keys(P));
    expect(d.get(P, 'k03')?.value?.toString()).toBe('newer-on-one');
    for (let i = 0; i < 7; i++) expect(d.get(P, `late${i}`)).toBeDefined();
    expect(job.progress.recoveredKeys).toBe(8);
    expect(d.summary(P)).toEqual(nodes.get(others[0])!.summary(P));
  });

  it('interrupted mid-way resumes from its cursor on another source, and reconciles with the one it left', async () => {
    const { table, nodes } = setup();
    for (let i = 0; i < 30; i++) for (const id of ['a', 'b', 'c']) nodes.get(id)!.write(P, `k${String(i).padStart(2, '0')}`, val(100 + i, `v${i}`));
    const job = new CopyJob(P, 'd', 0);
    const first = (job.next(table, 0) as { source: string }).source;
    const { steps, reported } = await drive(job, table, nodes, { pageSize: 4, failPageAt: 3 });
    const pagesSteps = steps.filter((s): s is Extract<CopyStep, { kind: 'page' }> => s.kind === 'page');
    // After the failure the next page continues from the last cursor, on another source.
    const failedIdx = 3;
    expect(pagesSteps[failedIdx].source).toBe(first);
    expect(pagesSteps[failedIdx + 1].source).not.toBe(first);
    expect(pagesSteps[failedIdx + 1].after).toBe(pagesSteps[failedIdx].after);
    expect(pagesSteps[failedIdx].after).not.toBeNull();
    expect(steps.some((s) => s.kind === 'wait' && s.reason === 'retry')).toBe(true);
    // The first source was paged only in part, so it is reconciled like the third replica.
    expect(steps.filter((s) => s.kind === 'reconcile').map((s) => (s as { peer: string }).peer)).toContain(first);
    expect(reported?.sort()).toEqual(['a', 'b', 'c']);
    expect(nodes.get('d')!.keys(P)).toHaveLength(30);
  });

  it('waits for an active replica that is down instead of reporting without it', async () => {
    const { table, nodes } = setup();
    const down = { ...table, nodes: { ...table.nodes, c: { ...table.nodes.c, state: 'down' as const } } };
    for (const id of ['a', 'b', 'c']) nodes.get(id)!.write(P, 'k', val(1, 'x'));
    const job = new CopyJob(P, 'd', 0);
    let step = job.next(down, 0);
    let now = 0;
    for (let i = 0; i < 20 && step.kind !== 'wait'; i++) {
      if (step.kind === 'page') job.onPage(step.source, 1, 1, null);
      if (step.kind === 'reconcile') job.onReconciled(step.peer, true, 0, 0, now);
      step = job.next(down, now);
    }
    expect(step).toMatchObject({ kind: 'wait', reason: 'source_down' });
    now = 10_000;
    expect(job.next(down, now)).toMatchObject({ kind: 'wait', reason: 'source_down' });
    // Once the table drops it (it went out), the copy may complete without it.
    const out = { ...down, partitions: down.partitions.map((e) => ({ ...e, replicas: e.replicas.filter((x) => x !== 'c') })) };
    expect(job.next(out, now)).toMatchObject({ kind: 'report', sources: ['a', 'b'] });
  });

  it('backs off between failures, up to the ceiling', () => {
    const { table } = setup();
    const job = new CopyJob(P, 'd', 0, { retryDelayMs: 100, retryDelayMaxMs: 350 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = job.next(table, 1000 * i) as { kind: string; source: string };
      job.onFailure(s.source, 1000 * i);
      delays.push((job.next(table, 1000 * i) as { untilMs: number }).untilMs - 1000 * i);
    }
    expect(delays).toEqual([100, 200, 350, 350]);
  });
});
