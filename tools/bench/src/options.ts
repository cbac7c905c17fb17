import yargs from 'yargs';

/** Hard ceilings so that a mistyped flag cannot turn a benchmark into a flood. */
export const BENCH_LIMITS = {
  connectionsMax: 1024,
  durationMsMax: 600_000,
  roundsMax: 20,
  keysMax: 10_000_000,
  valueBytesMax: 1024 * 1024,
  rateMax: 1_000_000,
} as const;

export const TARGET_NAMES = ['fog', 'bare', 'express', 'redis', 'etcd'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];
export const OP_NAMES = ['get', 'set', 'mixed'] as const;
export type OpName = (typeof OP_NAMES)[number];

export interface BenchOptions {
  targets: TargetName[];
  ops: OpName[];
  rounds: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  /** Keys preloaded and then read and written at random: bench-0 .. bench-(keys-1). */
  keys: number;
  /** When > 0, requests go to keys 0 .. hotKeys-1 only (contention on few keys). */
  hotKeys: number;
  valueBytes: number;
  /** Requests per second offered (open loop, own generator); 0: closed loop at full speed. */
  rate: number;
  driver: 'auto' | 'wrk' | 'node';
  api: 'original' | 'v1';
  /** Measure an already running frontend instead of starting a stack (no CPU figures then). */
  frontend: string | null;
  /** After the rounds, offer half of Velour Fog's median GET peak, open loop, and print its latency. */
  halfPeak: boolean;
  /** Storage nodes started (K = min(3, storage)). */
  storage: number;
  /** Where the built apps are (controller/main.js, storage/main.js, frontend/main.js); null: dist/apps. */
  appsDir: string | null;
  /** When set, the frontend and storage nodes write V8 CPU profiles (node --cpu-prof) here when stopped. */
  profileDir: string | null;
  /** Extra command-line flags for the frontend (e.g. --replica-inflight-requests-max=1). */
  frontendFlags: string[];
  storageFlags: string[];
  /** Node.js options placed before the storage app's script (V8 heap sizing, for example). */
  storageNodeOptions: string[];
  /** When set, storage nodes persist under DIR/storage-N (--data-dir); default: in memory. */
  storageDataDir: string | null;
  /** Stop after the preload (its keys/s and bytes per key), measuring no rounds. */
  preloadOnly: boolean;
}

function intIn(name: string, v: number, min: number, max: number): number {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

function listOf<T extends string>(name: string, raw: string[], allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const item of raw.flatMap((r) => r.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (!(allowed as readonly string[]).includes(item)) throw new Error(`--${name}: ${item} is not one of ${allowed.join(', ')}`);
    if (!out.includes(item as T)) out.push(item as T);
  }
  if (out.length === 0) throw new Error(`--${name} names nothing`);
  return out;
}

/** Parse and check the command line (without the node and script arguments); throws on bad input. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const a = yargs(argv)
    .scriptName('fog-bench')
    .usage('$0 [options]: start Velour Fog and the anchors, drive them in interleaved rounds, print figures and ratios')
    .option('targets', { type: 'string', array: true, default: [...TARGET_NAMES], describe: `what to measure (${TARGET_NAMES.join(', ')}); redis and etcd only when installed` })
    .option('ops', { type: 'string', array: true, default: ['get', 'set'], describe: 'get, set, mixed (50/50 over the preloaded keys)' })
    .option('rounds', { type: 'number', default: 3, describe: 'interleaved rounds; figures are the median' })
    .option('duration-ms', { type: 'number', default: 5000, describe: 'length of one measurement' })
    .option('warmup-ms', { type: 'number', default: 1000, describe: 'unmeasured load before each target\'s first round' })
    .option('connections', { type: 'number', default: 50, describe: 'keep-alive connections (requests in flight)' })
    .option('keys', { type: 'number', default: 100_000, describe: 'keys preloaded, then read and written at random' })
    .option('hot-keys', { type: 'number', default: 0, describe: 'when > 0: every request goes to one of this many keys' })
    .option('value-bytes', { type: 'number', default: 100, describe: 'value size' })
    .option('rate', { type: 'number', default: 0, describe: 'offered requests/s, open loop (own generator); 0: as fast as answers come' })
    .option('driver', { choices: ['auto', 'wrk', 'node'] as const, default: 'auto' as const, describe: 'auto: wrk when installed (and no --rate), else the built-in generator' })
    .option('api', { choices: ['original', 'v1'] as const, default: 'original' as const, describe: 'Velour Fog API: /get/ and /set/, or /v1/kv/{key}' })
    .option('frontend', { type: 'string', describe: 'HOST:PORT of a running frontend to measure instead of starting a stack' })
    .option('half-peak', { type: 'boolean', default: true, describe: 'also measure Velour Fog latency at half its GET peak (open loop)' })
    .option('storage', { type: 'number', default: 3, describe: 'storage nodes to start (in memory)' })
    .option('frontend-flag', { type: 'string', array: true, default: [] as string[], describe: 'extra flag for the frontend, repeatable (--frontend-flag=--replica-transport=http)' })
    .option('storage-flag', { type: 'string', array: true, default: [] as string[], describe: 'extra flag for every storage node, repeatable (--storage-flag=--anti-entropy=off)' })
    .option('storage-node-option', { type: 'string', array: true, default: [] as string[], describe: 'a Node.js option for every storage node process, repeatable (--storage-node-option=--max-semi-space-size=2)' })
    .option('storage-data-dir', { type: 'string', describe: 'persist the storage nodes under DIR/storage-N (default: in memory)' })
    .option('profile-dir', { type: 'string', describe: 'write CPU profiles of the frontend and storage nodes here (node --cpu-prof)' })
    .option('preload-only', { type: 'boolean', default: false, describe: 'stop after the preload: keys/s, RSS growth and fog_storage_bytes per key only' })
    .option('apps-dir', { type: 'string', describe: 'folder of the built apps to start (default: dist/apps), e.g. another build to compare' })
    .strictOptions()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .help(false)
    .version(false)
    .parseSync();
  const frontend = a.frontend ?? null;
  if (frontend !== null && !/^[^:\s]+:\d{1,5}$/.test(frontend)) throw new Error(`--frontend must be HOST:PORT, got ${frontend}`);
  return {
    targets: listOf('targets', a.targets, TARGET_NAMES),
    ops: listOf('ops', a.ops, OP_NAMES),
    rounds: intIn('rounds', a.rounds, 1, BENCH_LIMITS.roundsMax),
    durationMs: intIn('duration-ms', a['duration-ms'], 100, BENCH_LIMITS.durationMsMax),
    warmupMs: intIn('warmup-ms', a['warmup-ms'], 0, BENCH_LIMITS.durationMsMax),
    connections: intIn('connections', a.connections, 1, BENCH_LIMITS.connectionsMax),
    keys: intIn('keys', a.keys, 1, BENCH_LIMITS.keysMax),
    hotKeys: intIn('hot-keys', a['hot-keys'], 0, Math.min(a.keys, BENCH_LIMITS.keysMax)),
    valueBytes: intIn('value-bytes', a['value-bytes'], 1, BENCH_LIMITS.valueBytesMax),
    rate: intIn('rate', a.rate, 0, BENCH_LIMITS.rateMax),
    driver: a.driver,
    api: a.api,
    frontend,
    halfPeak: a['half-peak'],
    storage: intIn('storage', a.storage, 1, 9),
    appsDir: a['apps-dir'] ?? null,
    profileDir: a['profile-dir'] ?? null,
    frontendFlags: a['frontend-flag'],
    storageFlags: a['storage-flag'],
    storageNodeOptions: a['storage-node-option'],
    storageDataDir: a['storage-data-dir'] ?? null,
    preloadOnly: a['preload-only'],
  };
}
