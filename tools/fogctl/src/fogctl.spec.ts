import { runCli, type CliIo } from './cli';
import { EXIT, exitCodeOf } from './exit-codes';
import { formatBytes, formatDuration, healthBanner, movesPending, movesSummary, partitionsHeld, progressBar, progressLine, renderPlan, renderStatus, table } from './format';
import { FogClientError, type ClusterView } from '@fog/client';
import { BUILD_VERSION } from '@fog/protocol';

function fakeIo(stdin = ''): CliIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (d: string | Buffer) => { io.out += d.toString(); },
    stderr: (t: string) => { io.err += t; },
    readStdin: async () => Buffer.from(stdin),
    readFile: async (p: string) => { throw new Error(`ENOENT ${p}`); },
    openOutput: async (p: string) => { throw new Error(`EACCES ${p}`); },
    readLines: (p: string) => ({ [Symbol.asyncIterator]: () => ({ next: async () => { throw new Error(`ENOENT ${p}`); } }) }),
    env: {},
    isTty: false,
    sleep: async () => undefined,
    nowMs: () => 0,
  };
  return io;
}

describe('fogctl arguments', () => {
  it.each(['get', 'put', 'delete', 'append', 'locate', 'batch', 'status', 'decommission', 'plan', 'watch', 'ls', 'backup', 'restore'])('has --help for %s', async (cmd) => {
    const io = fakeIo();
    expect(await runCli([cmd, '--help'], io)).toBe(EXIT.ok);
    expect(io.out).toContain(`fogctl ${cmd}`);
    expect(io.out).toContain('--frontend');
  });

  it('prints the release with --version', async () => {
    const io = fakeIo();
    expect(await runCli(['--version'], io)).toBe(EXIT.ok);
    expect(io.out.trim()).toBe(BUILD_VERSION);
    expect(io.out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('lists every command and the exit codes in --help', async () => {
    const io = fakeIo();
    expect(await runCli(['--help'], io)).toBe(EXIT.ok);
    for (const cmd of ['get', 'put', 'delete', 'append', 'locate', 'batch', 'status', 'decommission', 'plan', 'watch']) expect(io.out).toContain(`fogctl ${cmd}`);
    expect(io.out).toMatch(/Exit codes: 0 ok/);
  });

  it.each<[string[], RegExp]>([
    [[], /give a command/],
    [['frob'], /Unknown argument/],
    [['get'], /Not enough non-option arguments/],
    [['put', 'k'], /give VALUE, or --file/],
    [['put', 'k', 'v', '--file', 'f'], /not both/],
    [['put', 'k', 'v', '--ttl', 'soon'], /--ttl: ttl is a whole number/],
    [['append', 'k', 'v', '--ttl', '10ms'], /--ttl: ttl must be between/],
    [['watch', 'k', '--wait', '10m'], /--wait must be between/],
    [['batch', 'missing.json'], /cannot read missing.json/],
    [['batch', '-'], /stdin is not JSON/],
    [['decommission', 'n', '--timeout-s', '0'], /must be positive/],
    [['plan', 'move', 'n'], /Invalid values/],
    [['plan', 'remove', 'n', '--zone', 'z'], /go with plan add/],
    [['plan', 'add', 'n', '--weight', '-1'], /must be positive/],
  ])('refuses %j with exit 2 and says why', async (argv, why) => {
    const io = fakeIo('not json');
    expect(await runCli(argv, io)).toBe(EXIT.usage);
    expect(io.err).toMatch(why);
  });

  it('reports an unreachable frontend with exit 5', async () => {
    const io = fakeIo();
    expect(await runCli(['--frontend', '127.0.0.1:1', '--timeout-ms', '1000', 'get', 'k'], io)).toBe(EXIT.unavailable);
    expect(io.err).toMatch(/FOG_CLIENT_UNREACHABLE/);
  });
});

describe('exit codes', () => {
  it.each<[FogClientError, number]>([
    [new FogClientError('FOG_ERR_NOT_FOUND', 'x', 404), EXIT.notFound],
    [new FogClientError('FOG_ERR_VERSION_CONFLICT', 'x', 409), EXIT.conflict],
    [new FogClientError('FOG_ERR_KEY_TOO_LONG', 'x', 400), EXIT.usage],
    [new FogClientError('FOG_ERR_VALUE_TOO_LARGE', 'x', 413), EXIT.usage],
    [new FogClientError('FOG_ERR_QUORUM_NOT_MET', 'x', 503), EXIT.unavailable],
    [new FogClientError('FOG_ERR_TIMEOUT', 'x', 504), EXIT.unavailable],
    [new FogClientError('FOG_CLIENT_TIMEOUT', 'x'), EXIT.unavailable],
    [new FogClientError('FOG_ERR_INTERNAL', 'x', 500), EXIT.failed],
  ])('%s -> %d', (err, code) => expect(exitCodeOf(err)).toBe(code));
});

describe('formatting', () => {
  it('draws a progress bar', () => {
    expect(progressBar(0, 4, 8)).toBe('[--------]   0%');
    expect(progressBar(2, 4, 8)).toBe('[####----]  50%');
    expect(progressBar(4, 4, 8)).toBe('[########] 100%');
    expect(progressBar(0, 0, 4)).toBe('[####] 100%');
  });

  it('pads table columns', () => {
    expect(table(['A', 'BB'], [['xyz', 1]])).toBe('A    BB\nxyz  1\n');
  });

  const view: ClusterView = {
    epoch: 4, redundancy: 2, partitionDigits: 1, partitions: 16, formed: true, storageRegistered: 2, storageExpected: 2, movesPending: 1,
    atMs: 1_000_000, health: null, events: [], movesOmitted: 0,
    progress: { startedAtMs: 0, movesTotal: 3, movesDone: 2, bytesCopied: 140, bytesTotal: 190, rateBytesPerSec: 10, etaMs: 5000, rateWindowMs: 10_000 },
    nodes: [
      { id: 's2', role: 'storage', address: 'h:2', zone: 'b', weight: 1, state: 'leaving', partitions: 3, pendingPartitions: 1, lastHeartbeatAgoMs: 200 },
      { id: 'f1', role: 'frontend', address: 'h:9', zone: 'a', weight: 1, state: 'up', lastHeartbeatAgoMs: 100 },
      { id: 's1', role: 'storage', address: 'h:1', zone: 'a', weight: 1, state: 'up', partitions: 16, pendingPartitions: 0, lastHeartbeatAgoMs: 300 },
    ],
    moves: [
      { partition: 10, node: 's1', reason: 'decommission', startedAtMs: 400_000, keysCopied: 5, bytesCopied: 50, bytesTotal: 100, rateBytesPerSec: 10, etaMs: 5000, done: false },
      { partition: 2, node: 's1', reason: 'join', startedAtMs: 0, keysCopied: 9, bytesCopied: 90, bytesTotal: 90, rateBytesPerSec: null, etaMs: 0, done: true },
    ],
  };

  it('shows nodes (storage first), states, partitions, the moves summary, and each move with --moves', () => {
    const text = renderStatus(view);
    expect(text).toMatch(/^epoch 4 {2}formed {2}K=2 {2}partitions 16/);
    const rows = text.split('\n').filter((l) => /^(s1|s2|f1) /.test(l));
    expect(rows.map((r) => r.split(/\s+/).slice(0, 3))).toEqual([['s1', 'storage', 'up'], ['s2', 'storage', 'leaving'], ['f1', 'frontend', 'up']]);
    expect(text).toContain('moves: 2 of 3 done, 140 B of 190 B copied (73%), 10 B/s, ETA 5s\nmoves pending: 1 (--moves lists them)');
    expect(text).not.toMatch(/PARTITION +TO NODE/);
    const listed = renderStatus(view, { moves: true });
    expect(listed).toMatch(/moves pending: 1\nPARTITION/);
    expect(listed).toMatch(/\na +s1 +decommission +10m00s ago +5 +50 +100 +10 B\/s +5s/);
  });

  it('shows a health banner: all healthy, or a warning with counts and the worst partitions', () => {
    const healthy = { ...view, health: { healthy: 16, underReplicated: 0, unavailable: 0, noneUp: 0, affected: [], affectedMax: 64, mapDigitsMax: 3 } };
    expect(healthBanner(healthy)).toBe('health: all 16 partitions healthy (K=2 replicas up)');
    expect(renderStatus(healthy)).toMatch(/^epoch .*\nhealth: all 16 partitions healthy/);
    const affected = Array.from({ length: 12 }, (_, p) => ({ partition: p, health: 'under_replicated' as const, up: 1, active: 2, pending: p === 0 ? 1 : 0 }));
    const sick = { ...view, health: { healthy: 3, underReplicated: 12, unavailable: 1, noneUp: 1, affected: [{ partition: 15, health: 'unavailable' as const, up: 0, active: 2, pending: 0 }, ...affected], affectedMax: 64, mapDigitsMax: 3 } };
    const banner = healthBanner(sick)!;
    expect(banner).toMatch(/^WARNING: 12 of 16 partitions under-replicated \(fewer than K=2 replicas up\), 1 unavailable \(fewer than a quorum up, 1 with none\)/);
    expect(banner).toMatch(/affected: f \(0\/2 up\), 0 \(1\/2 up, 1 copying\), 1 \(1\/2 up\)/);
    expect(banner).toMatch(/and 5 more$/);
    expect(healthBanner({ ...view, health: null })).toBeNull();
  });

  it('summarises moves, with unknowns shown as such', () => {
    expect(movesSummary({ ...view, progress: { ...view.progress, movesTotal: 0 } })).toBe('moves: none');
    expect(movesSummary({ ...view, progress: { ...view.progress, bytesTotal: null, rateBytesPerSec: null, etaMs: null } })).toBe('moves: 2 of 3 done, 140 B of ? copied, ? B/s, ETA ?');
  });

  it('formats bytes and durations', () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(5 * 1024 ** 3), formatBytes(null)]).toEqual(['0 B', '1.5 KiB', '5.0 GiB', '?']);
    expect([formatDuration(400), formatDuration(59_000), formatDuration(95_000), formatDuration(3_700_000), formatDuration(null)]).toEqual(['0s', '59s', '1m35s', '1h01m', '?']);
  });

  it.each([40, 80, 200])('fits the progress line in %i columns, bar first, then the text', (columns) => {
    const line = progressLine(3, 10, 'storage-127.0.0.1-7104: 7 of 10 partitions left, 21 moves pending · 1.2 MiB/s · ETA 35s', columns);
    expect(line.length).toBeLessThan(columns);
    expect(line).toMatch(/^\[#+-+\] +30%/);
    const cells = line.indexOf(']') - 1;
    expect(cells).toBeGreaterThanOrEqual(10);
    expect(cells).toBeLessThanOrEqual(40);
  });

  it('shows a plan: how much moves, and the partitions (bounded unless --all)', () => {
    const moves = Array.from({ length: 25 }, (_, p) => ({ partition: p, added: ['n9'], removed: ['s1'] }));
    const text = renderPlan({ epoch: 7, moves, replicasMoved: 25, fractionMoved: 25 / 48 }, 'adding n9', 1, false);
    expect(text).toMatch(/^adding n9 would move 25 replicas \(52.1% of all replica slots\) in 25 partitions, at epoch 7. Nothing was changed./);
    expect(text.split('\n').filter((l) => / +n9 +s1$/.test(l))).toHaveLength(20);
    expect(text).toMatch(/and 5 more partitions \(--all lists them\)/);
    expect(renderPlan({ epoch: 7, moves, replicasMoved: 25, fractionMoved: 0.5 }, 'adding n9', 1, true).split('\n').filter((l) => / +n9 +s1$/.test(l))).toHaveLength(25);
  });

  it('counts the moves still copying', () => {
    expect(movesPending(view)).toBe(1);
    expect(movesPending({ ...view, moves: [] })).toBe(0);
  });

  it('counts the partitions a node still holds', () => {
    expect(partitionsHeld(view, 's2')).toBe(4);
    expect(partitionsHeld(view, 'gone')).toBeNull();
  });
});

describe('decommission progress', () => {
  /** A stand-in controller on loopback: answers the decommission, then a node that holds 4, 2, then 0 partitions. */
  async function fakeController(): Promise<{ address: string; close: () => Promise<void> }> {
    const http = await import('node:http');
    let looks = 0;
    const held = [4, 4, 2, 0];
    const server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST') {
        res.statusCode = 202;
        res.end('{}');
        return;
      }
      const n = held[Math.min(looks++, held.length - 1)];
      const v = {
        epoch: 1, redundancy: 1, partitionDigits: 1, partitions: 16, formed: true, storageRegistered: 2, storageExpected: 2, movesPending: n, movesOmitted: 0,
        atMs: 0, health: null, events: [],
        moves: Array.from({ length: n }, (_, p) => ({ partition: p, node: 'other', reason: 'decommission', startedAtMs: 0, keysCopied: 0, bytesCopied: 0, bytesTotal: null, rateBytesPerSec: null, etaMs: null, done: false })),
        progress: { startedAtMs: 0, movesTotal: 4, movesDone: 4 - n, bytesCopied: (4 - n) * 1024, bytesTotal: 4096, rateBytesPerSec: 2048, etaMs: n * 500, rateWindowMs: 10_000 },
        nodes: [{ id: 'storage-with-a-rather-long-name-127.0.0.1-7104', role: 'storage', address: 'h:1', zone: 'z', weight: 1, state: 'leaving', partitions: n, pendingPartitions: 0, lastHeartbeatAgoMs: 1 }],
      };
      res.end(JSON.stringify(v));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it('in a terminal: redraws one line in place (carriage return, clear line), fitted to the width, with rate and ETA', async () => {
    const ctl = await fakeController();
    try {
      const io = fakeIo();
      io.isTty = true;
      io.columns = 60;
      expect(await runCli(['--controller', ctl.address, 'decommission', 'storage-with-a-rather-long-name-127.0.0.1-7104'], io)).toBe(EXIT.ok);
      const draws = io.err.split('\r\x1b[2K').filter(Boolean);
      expect(draws.length).toBe(3); // one per change: 4, 2, 0 left
      expect(io.err.startsWith('\r\x1b[2K')).toBe(true);
      for (const d of draws) expect(d.replace(/\n$/, '').length).toBeLessThan(60);
      expect(draws[1]).toMatch(/^\[#+-+\] +50% 2\/4 left, 2 moves · 2\.0 KiB\/s · ETA 1s · /);
      expect(io.err.endsWith('\n')).toBe(true);
      expect(io.out).toMatch(/holds no partitions: decommission complete/);
    } finally {
      await ctl.close();
    }
  });

  it('elsewhere: one plain line per change, never cut, with rate and ETA', async () => {
    const ctl = await fakeController();
    try {
      const io = fakeIo();
      expect(await runCli(['--controller', ctl.address, 'decommission', 'storage-with-a-rather-long-name-127.0.0.1-7104'], io)).toBe(EXIT.ok);
      expect(io.err.includes('\r') || io.err.includes('\u001b')).toBe(false);
      const lines = io.err.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[1]).toBe('[###############---------------]  50% storage-with-a-rather-long-name-127.0.0.1-7104: 2 of 4 partitions left, 2 moves pending · 2.0 KiB/s · ETA 1s');
      expect(lines[2]).toMatch(/100% .*: 0 of 4 partitions left, 0 moves pending · 2\.0 KiB\/s · ETA 0s$/);
    } finally {
      await ctl.close();
    }
  });
});
