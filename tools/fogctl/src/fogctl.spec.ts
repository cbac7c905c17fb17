import { runCli, type CliIo } from './cli';
import { EXIT, exitCodeOf } from './exit-codes';
import { movesPending, partitionsHeld, progressBar, renderStatus, table } from './format';
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
    env: {},
    isTty: false,
    sleep: async () => undefined,
    nowMs: () => 0,
  };
  return io;
}

describe('fogctl arguments', () => {
  it.each(['get', 'put', 'delete', 'append', 'locate', 'batch', 'status', 'decommission'])('has --help for %s', async (cmd) => {
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
    for (const cmd of ['get', 'put', 'delete', 'append', 'locate', 'batch', 'status', 'decommission']) expect(io.out).toContain(`fogctl ${cmd}`);
    expect(io.out).toMatch(/Exit codes: 0 ok/);
  });

  it.each<[string[], RegExp]>([
    [[], /give a command/],
    [['frob'], /Unknown argument/],
    [['get'], /Not enough non-option arguments/],
    [['put', 'k'], /give VALUE, or --file/],
    [['put', 'k', 'v', '--file', 'f'], /not both/],
    [['batch', 'missing.json'], /cannot read missing.json/],
    [['batch', '-'], /stdin is not JSON/],
    [['decommission', 'n', '--timeout-s', '0'], /must be positive/],
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
    nodes: [
      { id: 's2', role: 'storage', address: 'h:2', zone: 'b', weight: 1, state: 'leaving', partitions: 3, pendingPartitions: 1, lastHeartbeatAgoMs: 200 },
      { id: 'f1', role: 'frontend', address: 'h:9', zone: 'a', weight: 1, state: 'up', lastHeartbeatAgoMs: 100 },
      { id: 's1', role: 'storage', address: 'h:1', zone: 'a', weight: 1, state: 'up', partitions: 16, pendingPartitions: 0, lastHeartbeatAgoMs: 300 },
    ],
    moves: [
      { partition: 10, node: 's1', reason: 'decommission', startedAtMs: 0, keysCopied: 5, bytesCopied: 50, done: false },
      { partition: 2, node: 's1', reason: 'join', startedAtMs: 0, keysCopied: 9, bytesCopied: 90, done: true },
    ],
  };

  it('shows nodes (storage first), states, partitions and pending moves', () => {
    const text = renderStatus(view);
    expect(text).toMatch(/^epoch 4 {2}formed {2}K=2 {2}partitions 16/);
    const rows = text.split('\n').filter((l) => /^(s1|s2|f1) /.test(l));
    expect(rows.map((r) => r.split(/\s+/).slice(0, 3))).toEqual([['s1', 'storage', 'up'], ['s2', 'storage', 'leaving'], ['f1', 'frontend', 'up']]);
    expect(text).toMatch(/moves pending: 1\nPARTITION/);
    expect(text).toMatch(/\na +s1 +decommission +5 +50/);
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
