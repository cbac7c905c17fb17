import yargs from 'yargs';
import { storageFlagProblems, storageFlags, type StorageFlags } from './storage-options';

function parse(argv: string[]): StorageFlags {
  return storageFlags(yargs(argv).strictOptions().exitProcess(false).fail((msg) => {
    throw new Error(msg);
  })).parseSync() as unknown as StorageFlags;
}

describe('storage flags', () => {
  it('defaults to in-memory, everysec, no memory limit, 1 s anti-entropy, 10 min grace', () => {
    const f = parse([]);
    expect(f).toMatchObject({ fsync: 'everysec', maxMemoryBytes: 0, antiEntropyIntervalMs: 1000, tombstoneGraceMs: 600_000, snapshotLogBytes: 64 * 1024 * 1024 });
    expect(f.dataDir).toBeUndefined();
    expect(storageFlagProblems(f)).toEqual([]);
  });

  it('reads every flag', () => {
    const f = parse(['--data-dir', '/d', '--fsync', 'always', '--snapshot-log-bytes', '1048576', '--snapshot-interval-ms', '0', '--max-memory-bytes', '1000',
      '--anti-entropy-interval-ms', '100', '--anti-entropy-partitions-per-round-max', '4', '--anti-entropy-keys-per-round-max', '50', '--tombstone-grace-ms', '400']);
    expect(f).toMatchObject({ dataDir: '/d', fsync: 'always', snapshotLogBytes: 1048576, snapshotIntervalMs: 0, maxMemoryBytes: 1000, antiEntropyIntervalMs: 100, antiEntropyPartitionsPerRoundMax: 4, antiEntropyKeysPerRoundMax: 50, tombstoneGraceMs: 400 });
    expect(storageFlagProblems(f)).toEqual([]);
  });

  it('refuses an fsync policy it does not know', () => {
    expect(() => parse(['--fsync', 'sometimes'])).toThrow(/Choices/);
  });

  it.each<[string, string[], RegExp]>([
    ['a grace period under 4 intervals', ['--anti-entropy-interval-ms', '1000', '--tombstone-grace-ms', '3999'], /at least 4 x/],
    ['a fractional memory limit', ['--max-memory-bytes', '1.5'], /max-memory-bytes/],
    ['a negative snapshot interval', ['--snapshot-interval-ms', '-1'], /snapshot-interval-ms/],
    ['a snapshot trigger below the minimum', ['--snapshot-log-bytes', '1000'], /snapshot-log-bytes/],
    ['zero partitions per round', ['--anti-entropy-partitions-per-round-max', '0'], /partitions-per-round-max/],
    ['too many keys per round', ['--anti-entropy-keys-per-round-max', '1000000'], /keys-per-round-max/],
    ['an interval below 10 ms', ['--anti-entropy-interval-ms', '5'], /anti-entropy-interval-ms/],
    ['an empty data dir', ['--data-dir', ''], /data-dir/],
  ])('reports %s', (_name, argv, problem) => {
    expect(storageFlagProblems(parse(argv)).join('\n')).toMatch(problem);
  });
});
