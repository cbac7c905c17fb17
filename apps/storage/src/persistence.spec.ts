import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Entry } from '@fog/lww';
import type { PartitionTable } from '@fog/protocol';
import { ReplicaEngine } from '@fog/storage-core';
import { SNAPSHOT_FILE, encodeRecord, parseSegmentFileName, scanRecords, segmentFileName } from '@fog/storage-log';
import { AppendLog, type FsyncPolicy } from './append-log';
import { FaultInjector } from './fault-injection';
import { Persistence, type PersistenceEvents } from './persistence';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, enabled: () => false };
const val = (ms: number, v: string | null): Entry => ({ ver: { ms, c: 0, w: 'fe' }, value: v === null ? null : Buffer.from(v) });

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-persistence-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function events() {
  const seen = { diskErrors: [] as string[], syncs: 0, snapshots: [] as string[] };
  const ev: PersistenceEvents = {
    diskError: (op) => seen.diskErrors.push(op),
    synced: () => seen.syncs++,
    snapshot: (outcome) => seen.snapshots.push(outcome),
  };
  return { seen, ev };
}

function table(): PartitionTable {
  return {
    epoch: 1, digits: 1, redundancy: 1,
    partitions: Array.from({ length: 16 }, () => ({ replicas: ['me'], pending: [] })),
    nodes: { me: { id: 'me', address: 'me:1', zone: 'z', weight: 1, state: 'up' } },
  };
}

/** An engine connected to a data dir the way Durability connects it. */
async function open(fsync: FsyncPolicy = 'always', faults = new FaultInjector(undefined)) {
  const engine = new ReplicaEngine('me');
  engine.offerTable(table());
  const { seen, ev } = events();
  const p = await Persistence.open(engine, { dataDir: dir, fsync, snapshotLogBytes: 1 << 30, snapshotIntervalMs: 0, faults, log: quiet, events: ev });
  engine.onApplied = (partition, key, entry) => p.appendEntry(partition, key, entry);
  engine.onDropped = (partition) => p.append({ kind: 'drop', partition });
  engine.writeGate = () => (p.writable ? null : 'FOG_ERR_INSUFFICIENT_STORAGE');
  return { engine, p, seen };
}

const dump = (e: ReplicaEngine) => JSON.stringify(e.store.partitionIds().map((p) => [p, [...e.store.entries(p)].map(([k, x]) => [k, x.ver, x.value?.toString() ?? null]).sort()]));

describe('AppendLog', () => {
  it('writes the records of one event-loop turn with one write and one fsync (group commit)', async () => {
    let syncs = 0;
    const log = await AppendLog.open(dir, 1, 'always', new FaultInjector(undefined), { failed: () => undefined, synced: () => syncs++ });
    const commits = Array.from({ length: 50 }, (_, i) => {
      log.append(encodeRecord({ kind: 'drop', partition: i }));
      return log.commit();
    });
    await Promise.all(commits);
    expect(syncs).toBe(1);
    expect(scanRecords(fs.readFileSync(path.join(dir, segmentFileName(1)))).records).toHaveLength(50);
    await log.close();
  });

  it('under everysec acknowledges after the write and fsyncs only when asked', async () => {
    let syncs = 0;
    const log = await AppendLog.open(dir, 1, 'everysec', new FaultInjector(undefined), { failed: () => undefined, synced: () => syncs++ });
    log.append(encodeRecord({ kind: 'drop', partition: 1 }));
    await log.commit();
    expect(syncs).toBe(0);
    expect(log.unsyncedBytes).toBeGreaterThan(0);
    expect(fs.statSync(path.join(dir, segmentFileName(1))).size).toBe(log.bytes);
    log.requestSync();
    await log.commit();
    expect(syncs).toBe(1);
    expect(log.unsyncedBytes).toBe(0);
    await log.close();
  });

  it.each<[string, string, 'write' | 'fsync']>([
    ['a failing fsync', 'fsync-eio', 'fsync'],
    ['a full disk', 'write-enospc', 'write'],
  ])('fails for good on %s: the waiting commit and every later one reject', async (_name, fault, op) => {
    const faultFile = path.join(dir, 'faults');
    const failures: string[] = [];
    const log = await AppendLog.open(dir, 1, 'always', new FaultInjector(faultFile), { failed: (o) => failures.push(o), synced: () => undefined });
    log.append(encodeRecord({ kind: 'drop', partition: 1 }));
    await log.commit();
    fs.writeFileSync(faultFile, fault);
    log.append(encodeRecord({ kind: 'drop', partition: 2 }));
    await expect(log.commit()).rejects.toThrow(fault === 'fsync-eio' ? /EIO/ : /ENOSPC/);
    fs.rmSync(faultFile);
    // An fsync that failed once is never trusted again (its dirty pages may be gone).
    await expect(log.commit()).rejects.toThrow();
    expect(failures).toEqual([op]);
    expect(log.failed).not.toBeNull();
    await log.close();
  });
});

describe('Persistence', () => {
  it('replays entries, deletes, horizons and partition drops after a restart', async () => {
    const a = await open();
    a.engine.ingest('client', 1, 'k1', val(10, 'one'));
    a.engine.ingest('client', 1, 'k2', val(11, 'two'));
    a.engine.ingest('client', 2, 'gone', val(12, null));
    a.engine.ingest('client', 3, 'dropped', val(13, 'x'));
    a.engine.dropPartition(3);
    a.engine.ingest('client', 4, 'old', val(5, null));
    const { raised } = a.engine.collectTombstones(6);
    for (const h of raised) a.p.append({ kind: 'horizon', partition: h.partition, ms: h.ms });
    await a.p.commit();
    const before = dump(a.engine);
    await a.p.stop();
    const b = await open();
    // A purge is not logged: the purged tombstone comes back with the log, already past the
    // grace period, and the next collection removes it again (the horizon survived).
    expect(b.engine.store.get(4, 'old')?.value).toBeNull();
    expect(b.engine.collectTombstones(6).purged).toBe(1);
    expect(dump(b.engine)).toBe(before);
    expect(b.engine.store.get(2, 'gone')?.value).toBeNull();
    expect(b.engine.store.get(3, 'dropped')).toBeUndefined();
    expect(b.engine.horizonMs(4)).toBe(5);
    expect(b.p.replay.logRecords).toBeGreaterThan(0);
    await b.p.stop();
  });

  it('takes a snapshot that supersedes the log, and keeps writes made while it is written', async () => {
    const a = await open('everysec');
    for (let i = 0; i < 2000; i++) a.engine.ingest('client', i % 16, `k${i}`, val(i + 1, `v${i}`.repeat(50)));
    await a.p.commit();
    const snapshot = a.p.snapshotNow('test');
    // Writes racing the snapshot land in the new segment, which replay applies on top.
    for (let i = 0; i < 100; i++) a.engine.ingest('client', i % 16, `k${i}`, val(10_000 + i, 'newer'));
    a.engine.ingest('client', 0, 'during', val(20_000, 'x'));
    await snapshot;
    await a.p.commit();
    const before = dump(a.engine);
    const files = fs.readdirSync(dir).sort();
    expect(files).toContain(SNAPSHOT_FILE);
    expect(files).not.toContain(segmentFileName(1));
    await a.p.stop();
    const b = await open('everysec');
    expect(dump(b.engine)).toBe(before);
    expect(b.p.replay.snapshotEntries).toBeGreaterThanOrEqual(2000);
    await b.p.stop();
  });

  it('refuses a data dir another live process holds, and takes over one left by a dead process', async () => {
    const a = await open();
    fs.writeFileSync(path.join(dir, 'LOCK'), String(process.ppid));
    await expect(open()).rejects.toThrow(/in use by process/);
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999999');
    const b = await open();
    await b.p.stop();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    await a.p.stop();
  });

  it('ignores segments a snapshot covers when a crash left them behind', async () => {
    const a = await open();
    a.engine.ingest('client', 1, 'k', val(1, 'first'));
    await a.p.commit();
    const stale = fs.readFileSync(path.join(dir, segmentFileName(1)));
    await a.p.snapshotNow('test');
    a.engine.ingest('client', 1, 'k', val(2, 'second'));
    await a.p.commit();
    await a.p.stop();
    // As if the process died between renaming the snapshot and deleting the old segment.
    fs.writeFileSync(path.join(dir, segmentFileName(1)), stale);
    const b = await open();
    expect(b.engine.store.get(1, 'k')?.value?.toString()).toBe('second');
    expect(fs.existsSync(path.join(dir, segmentFileName(1)))).toBe(false);
    await b.p.stop();
  });

  it('refuses writes while the disk fails, and recovers by writing memory to a fresh snapshot', async () => {
    const faultFile = path.join(dir, 'faults');
    const a = await open('always', new FaultInjector(faultFile));
    a.engine.handle({ epoch: 1, ops: [{ op: 'put', p: 1, key: 'before', ver: { ms: 1, c: 0, w: 'fe' }, val: 'eA==' }] }, 0);
    await a.p.commit();
    fs.writeFileSync(faultFile, 'fsync-eio');
    a.engine.handle({ epoch: 1, ops: [{ op: 'put', p: 1, key: 'failed', ver: { ms: 2, c: 0, w: 'fe' }, val: 'eA==' }] }, 0);
    await expect(a.p.commit()).rejects.toThrow(/EIO/);
    expect(a.p.writable).toBe(false);
    expect(a.seen.diskErrors).toEqual(['fsync']);
    const refused = a.engine.handle({ epoch: 1, ops: [{ op: 'put', p: 1, key: 'later', ver: { ms: 3, c: 0, w: 'fe' }, val: 'eA==' }] }, 0);
    expect(refused.results[0]).toEqual({ ok: false, code: 'FOG_ERR_INSUFFICIENT_STORAGE' });
    await expect(a.p.snapshotNow('disk recovery')).rejects.toThrow(/EIO/);
    expect(a.p.writable).toBe(false);
    fs.rmSync(faultFile);
    await a.p.snapshotNow('disk recovery');
    expect(a.p.writable).toBe(true);
    a.engine.handle({ epoch: 1, ops: [{ op: 'put', p: 1, key: 'after', ver: { ms: 4, c: 0, w: 'fe' }, val: 'eA==' }] }, 0);
    await a.p.commit();
    await a.p.stop();
    const b = await open();
    // The unacknowledged write that was in memory when the disk failed is in the recovery
    // snapshot: an unacknowledged write may or may not take effect.
    expect(['before', 'failed', 'after'].map((k) => b.engine.store.get(1, k) !== undefined)).toEqual([true, true, true]);
    expect(b.engine.store.get(1, 'later')).toBeUndefined();
    await b.p.stop();
  });
  it('starts when a damaged log segment cannot be copied aside (a full disk), with every intact record', async () => {
    const a = await open();
    for (let i = 0; i < 3; i++) a.engine.ingest('client', 1, `k${i}`, val(10 + i, `v${i}`));
    await a.p.commit();
    await a.p.stop();
    const seg = fs.readdirSync(dir).find((n) => parseSegmentFileName(n) !== null);
    expect(seg).toBeDefined();
    const file = path.join(dir, seg!);
    const bytes = fs.readFileSync(file);
    const recs = scanRecords(bytes).records.length;
    expect(recs).toBe(3);
    // Damage the middle record's payload (its checksum then fails).
    const second = encodeRecord({ kind: 'entry', partition: 1, key: 'k0', entry: val(10, 'v0') }).length + 10;
    bytes[second] ^= 0xff;
    fs.writeFileSync(file, bytes);
    // Copying the damaged segment aside fails as on a full disk (here: the target is a folder).
    fs.mkdirSync(`${file}.corrupt`);
    const b = await open();
    expect(b.p.replay.corruptRecords).toBe(1);
    expect(['k0', 'k1', 'k2'].filter((k) => b.engine.store.get(1, k) !== undefined)).toEqual(['k0', 'k2']);
    await b.p.stop();
  });
});
