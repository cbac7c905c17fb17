import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControllerCore, type ControllerState } from '@fog/cluster';
import { STATE_LOG_RECORDS_MAX, StateFile } from './state-file';

const CONFIG = { expectedStorage: 3, redundancy: 3, digits: 2, downAfterMs: 3000, outAfterMs: 10_000, suspectAfterMs: 1500, syncPublishIntervalMs: 0, stallAfterMs: Infinity };
const storage = (i: number) => ({ id: `s${i}`, role: 'storage', address: `127.0.0.1:${7100 + i}`, zone: `z${i % 3}`, weight: 1 });

/** What a restart must get back: everything but heartbeat times. */
function essentials(state: ControllerState) {
  return {
    table: state.table,
    target: state.target,
    targetWhy: state.targetWhy,
    members: state.members.map(({ lastHeartbeatMs: _hb, ...m }) => m).sort((a, b) => (a.id < b.id ? -1 : 1)),
    moves: [...state.moves].sort((a, b) => a.partition - b.partition || (a.node < b.node ? -1 : 1)),
  };
}

/** A cluster story, saved after every step: form, join, copy some partitions, a node leaves. */
function story(file: StateFile): ControllerCore {
  const core = new ControllerCore(CONFIG);
  for (let i = 1; i <= 3; i++) {
    core.register(storage(i), 0);
    file.save(core.snapshot());
  }
  core.tick(0);
  file.save(core.snapshot());
  core.register(storage(4), 10);
  core.tick(10);
  file.save(core.snapshot());
  const pending = core.table()!.partitions.flatMap((e, p) => (e.pending.includes('s4') ? [p] : []));
  for (const p of pending.slice(0, 20)) {
    core.handoff('s4', { partition: p, epoch: core.epoch(), keysCopied: 3, bytesCopied: 30, done: true, sources: core.table()!.partitions[p].replicas }, 20);
    file.save(core.snapshot());
  }
  core.tick(30);
  file.save(core.snapshot());
  core.decommission('s2', 35);
  core.tick(40);
  file.save(core.snapshot());
  return core;
}

describe('StateFile', () => {
  const dirs: string[] = [];
  const tempDir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-state-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('writes one snapshot, then appends changes, and a restart gets the whole state back', () => {
    const dir = tempDir();
    const file = new StateFile(dir);
    expect(file.load()).toBeNull();
    const core = story(file);
    expect(fs.readdirSync(dir).sort()).toEqual(['controller-state.json', 'controller-state.log']);
    const snapshotBytes = fs.statSync(path.join(dir, 'controller-state.json')).size;
    const logLines = fs.readFileSync(path.join(dir, 'controller-state.log'), 'utf8').trim().split('\n');
    // Each save after the first table appended what changed; 20 copy reports are 20 small records.
    expect(logLines.length).toBeGreaterThanOrEqual(22);
    const sizes = logLines.map((l) => l.length).sort((a, b) => a - b);
    expect(sizes[Math.floor(sizes.length / 2)]).toBeLessThan(snapshotBytes / 20);
    const loaded = new StateFile(dir).load()!;
    expect(essentials(loaded)).toEqual(essentials(core.snapshot()));
    expect(ControllerCore.restore(loaded, CONFIG, 0).table()).toEqual(core.table());
  });

  it('drops a torn last record (a crash mid-append) and keeps the ones before it', () => {
    const dir = tempDir();
    const file = new StateFile(dir);
    const core = story(file);
    const full = essentials(core.snapshot());
    const log = path.join(dir, 'controller-state.log');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    fs.writeFileSync(log, `${lines.slice(0, -1).join('\n')}\n${lines[lines.length - 1].slice(0, 40)}`);
    const loaded = new StateFile(dir).load()!;
    expect(essentials(loaded)).not.toEqual(full);
    expect(loaded.table!.epoch).toBeGreaterThan(1);
  });

  it('refuses a damaged record in the middle of the log', () => {
    const dir = tempDir();
    story(new StateFile(dir));
    const log = path.join(dir, 'controller-state.log');
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    lines[3] = `${lines[3].slice(0, 40)}${lines[3][40] === '1' ? '2' : '1'}${lines[3].slice(41)}`;
    fs.writeFileSync(log, lines.join('\n'));
    expect(() => new StateFile(dir).load()).toThrow(/record 4 is damaged/);
  });

  it('folds the log into a snapshot every STATE_LOG_RECORDS_MAX records, and skips records a snapshot already holds', () => {
    const dir = tempDir();
    const file = new StateFile(dir);
    const core = story(file);
    const log = path.join(dir, 'controller-state.log');
    const kept = fs.readFileSync(log, 'utf8');
    // Heartbeat-only saves change nothing on disk.
    core.heartbeat('s1', 50);
    file.save(core.snapshot());
    expect(fs.readFileSync(log, 'utf8')).toBe(kept);
    let saves = 0;
    for (let t = 100; fs.existsSync(log) && saves <= STATE_LOG_RECORDS_MAX; t += 1) {
      core.register({ ...storage(5), weight: 1 + (t % 2) }, t);
      file.save(core.snapshot());
      saves += 1;
    }
    expect(fs.existsSync(log)).toBe(false);
    // A crash between the snapshot and removing the log: the old records come back on disk.
    fs.writeFileSync(log, kept);
    expect(essentials(new StateFile(dir).load()!)).toEqual(essentials(core.snapshot()));
  });

  it('refuses a corrupt snapshot rather than starting a new cluster over it', () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'controller-state.json'), '{"version":1,');
    expect(() => new StateFile(d).load()).toThrow(/not valid JSON/);
  });
});
