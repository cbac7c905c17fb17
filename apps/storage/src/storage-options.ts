import type { Argv } from 'yargs';
import { COMPRESSION_DEFAULTS } from '@fog/lww';
import { ANTI_ENTROPY_DEFAULTS, tombstoneGraceProblem } from '@fog/replica-sync';
import { FSYNC_POLICIES, type FsyncPolicy } from './append-log';
import { ANTI_ENTROPY_RECEIVE_LIMITS } from './anti-entropy-loop';
import { PERSISTENCE_DEFAULTS } from './persistence';

/** Storage-only flags, on top of the node flags every app shares (libs/http-kit node-cli). */
export interface StorageFlags {
  dataDir?: string;
  fsync: FsyncPolicy;
  snapshotLogBytes: number;
  snapshotIntervalMs: number;
  maxMemoryBytes: number;
  antiEntropyIntervalMs: number;
  /** 'off': this node starts no anti-entropy pass (it still answers its peers'); for diagnosis and tests. */
  antiEntropy?: 'on' | 'off';
  antiEntropyPartitionsPerRoundMax: number;
  antiEntropyKeysPerRoundMax: number;
  tombstoneGraceMs: number;
  /** Store values of at least compressMinBytes deflated when that saves bytes (default off: see docs/benchmarks.md). */
  compress?: 'on' | 'off';
  compressMinBytes?: number;
  /** TEST ONLY: see fault-injection.ts. */
  faultInjectFile?: string;
}

export const SNAPSHOT_LOG_BYTES_MIN = 64 * 1024;
export const ANTI_ENTROPY_INTERVAL_MS_MIN = 10;
/** Below this a deflated value cannot be smaller than the plain one by enough to matter. */
export const COMPRESS_MIN_BYTES_FLOOR = 64;

const MIB = 1024 * 1024;

export function storageFlags(y: Argv): Argv<StorageFlags> {
  return y
    .option('data-dir', {
      type: 'string',
      describe: 'folder for this node\'s log and snapshots (one per node); omit to keep data in memory only, lost on restart',
    })
    .option('fsync', {
      choices: FSYNC_POLICIES,
      default: PERSISTENCE_DEFAULTS.fsync,
      describe: 'always: fsync before acknowledging a write; everysec: write before acknowledging, fsync every second (an OS crash or power loss may lose the last ~1 s); no: never fsync (the kernel decides). See docs/durability.md',
    })
    .option('snapshot-log-bytes', {
      type: 'number',
      default: PERSISTENCE_DEFAULTS.snapshotLogBytes,
      describe: `take a snapshot once the log holds this many bytes (bounds replay time and disk use; default ${PERSISTENCE_DEFAULTS.snapshotLogBytes / MIB} MiB, min ${SNAPSHOT_LOG_BYTES_MIN})`,
    })
    .option('snapshot-interval-ms', {
      type: 'number',
      default: PERSISTENCE_DEFAULTS.snapshotIntervalMs,
      describe: 'also take a snapshot this long after the last one if anything was logged since (0: by log size only)',
    })
    .option('max-memory-bytes', {
      type: 'number',
      default: 0,
      describe: 'bytes the store may hold in memory (fog_storage_bytes: records, indexes, per-partition overhead); writes beyond it get FOG_ERR_MEMORY_LIMIT (0: no limit)',
    })
    .option('anti-entropy', {
      choices: ['on', 'off'] as const,
      default: 'on' as const,
      describe: 'off: start no anti-entropy pass (peers\' passes are still answered); replicas then converge only by hints and read repair. For diagnosis and tests',
    })
    .option('anti-entropy-interval-ms', {
      type: 'number',
      default: ANTI_ENTROPY_DEFAULTS.intervalMs,
      describe: 'pause between two anti-entropy passes (hash-tree comparison with peer replicas) when the last one left nothing to do',
    })
    .option('anti-entropy-partitions-per-round-max', {
      type: 'number',
      default: ANTI_ENTROPY_DEFAULTS.partitionsPerRoundMax,
      describe: `partitions one anti-entropy round compares (1..${ANTI_ENTROPY_RECEIVE_LIMITS.partitionsPerRequestMax})`,
    })
    .option('anti-entropy-keys-per-round-max', {
      type: 'number',
      default: ANTI_ENTROPY_DEFAULTS.keysPerRoundMax,
      describe: `keys one anti-entropy round lists, pulls and pushes (1..${ANTI_ENTROPY_RECEIVE_LIMITS.keysPerRequestMax})`,
    })
    .option('tombstone-grace-ms', {
      type: 'number',
      default: ANTI_ENTROPY_DEFAULTS.tombstoneGraceMs,
      describe: 'how long a delete\'s tombstone is kept before it may be purged; must be at least 4 x --anti-entropy-interval-ms',
    })
    .option('compress', {
      choices: ['on', 'off'] as const,
      default: 'off' as const,
      describe: 'on: keep values of at least --compress-min-bytes deflated (node:zlib, level 1) when that saves bytes; clients see no difference, memory and disk count the bytes stored. Off by default: it costs CPU on writes and reads, most for values that do not compress (docs/benchmarks.md, Compression)',
    })
    .option('compress-min-bytes', {
      type: 'number',
      default: COMPRESSION_DEFAULTS.compressMinBytes,
      describe: `smallest value --compress tries, bytes (at least ${COMPRESS_MIN_BYTES_FLOOR})`,
    })
    .option('fault-inject-file', {
      type: 'string',
      hidden: true,
      describe: 'TEST ONLY: a file naming disk faults to inject (fsync-eio, write-enospc, write-eio)',
    }) as unknown as Argv<StorageFlags>;
}

function isInt(n: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;
}

/** Every problem with the storage flags (empty: they are fine). */
export function storageFlagProblems(f: StorageFlags): string[] {
  const problems: string[] = [];
  if (f.dataDir !== undefined && f.dataDir.trim() === '') problems.push('data-dir must not be empty');
  if (!isInt(f.snapshotLogBytes, SNAPSHOT_LOG_BYTES_MIN)) problems.push(`snapshot-log-bytes must be an integer >= ${SNAPSHOT_LOG_BYTES_MIN}`);
  if (!isInt(f.snapshotIntervalMs, 0)) problems.push('snapshot-interval-ms must be an integer >= 0');
  if (!isInt(f.maxMemoryBytes, 0)) problems.push('max-memory-bytes must be an integer >= 0 (0: no limit)');
  if (!isInt(f.antiEntropyIntervalMs, ANTI_ENTROPY_INTERVAL_MS_MIN)) problems.push(`anti-entropy-interval-ms must be an integer >= ${ANTI_ENTROPY_INTERVAL_MS_MIN}`);
  if (!isInt(f.antiEntropyPartitionsPerRoundMax, 1, ANTI_ENTROPY_RECEIVE_LIMITS.partitionsPerRequestMax)) {
    problems.push(`anti-entropy-partitions-per-round-max must be an integer from 1 to ${ANTI_ENTROPY_RECEIVE_LIMITS.partitionsPerRequestMax}`);
  }
  if (!isInt(f.antiEntropyKeysPerRoundMax, 1, ANTI_ENTROPY_RECEIVE_LIMITS.keysPerRequestMax)) {
    problems.push(`anti-entropy-keys-per-round-max must be an integer from 1 to ${ANTI_ENTROPY_RECEIVE_LIMITS.keysPerRequestMax}`);
  }
  if (f.compressMinBytes !== undefined && !isInt(f.compressMinBytes, COMPRESS_MIN_BYTES_FLOOR)) problems.push(`compress-min-bytes must be an integer >= ${COMPRESS_MIN_BYTES_FLOOR}`);
  if (problems.length === 0) {
    const grace = tombstoneGraceProblem(f.tombstoneGraceMs, f.antiEntropyIntervalMs);
    if (grace) problems.push(grace);
  }
  return problems;
}
