import path from 'node:path';

/** Every process binds here: the local stack is for this machine only. */
export const HOST = '127.0.0.1';

export const RUNLOCAL_DEFAULTS = {
  storage: 4,
  frontends: 2,
  redundancy: 3,
  partitionDigits: 2,
  zones: 1,
  logLevel: 'info',
  timeoutS: 30,
  controllerPort: 7000,
  /** Storage node i (1-based) listens on storagePort + i - 1. */
  storagePort: 7101,
  /** Frontend i (1-based) listens on frontendPort + i - 1. */
  frontendPort: 8001,
} as const;

export const RUNLOCAL_LIMITS = {
  storageMax: 899,
  frontendsMax: 999,
  partitionDigitsMin: 1,
  partitionDigitsMax: 4,
  timeoutSMax: 3600,
  portMin: 1,
  portMax: 65535,
} as const;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export interface RunlocalOptions {
  storage: number;
  frontends: number;
  redundancy: number;
  partitionDigits: number;
  zones: number;
  logLevel: string;
  /** Absolute: logs in baseDir/logs, data in baseDir/data. */
  baseDir: string;
  timeoutS: number;
  /** `always` (--build), `never` (--no-build) or `if-stale` (the default). */
  build: 'always' | 'never' | 'if-stale';
  controllerPort: number;
  storagePort: number;
  frontendPort: number;
}

export type ParseResult =
  | { kind: 'run'; options: RunlocalOptions }
  | { kind: 'help' }
  /** A usage error: print the message, exit 2. */
  | { kind: 'usage'; message: string };

export const USAGE = `Usage: ./runlocal.sh [options]

Run a local Velour Fog cluster in the foreground: 1 controller on
127.0.0.1:7000, storage nodes on 7101, 7102, ..., frontends on 8001, 8002, ...
Ctrl-C (or SIGTERM) stops every process the script started.

Options:
  --storage N            storage nodes to start (default 4, max 899)
  --frontends N          frontends to start (default 2, max 999)
  --redundancy K         replicas per partition, 1..N (default 3)
  --partition-digits D   16^D partitions, 1..4 (default 2)
  --zones N              spread storage nodes over zones z1..zN, round-robin
                         (default 1, at most the number of storage nodes)
  --log-level L          debug | info | warn | error (default info)
  --base-dir DIR         logs in DIR/logs/<name>.log, data in DIR/data/<name>/
                         (default: .runlocal in the repository root)
  --timeout SECONDS      how long to wait for the cluster to become ready
                         (default 30)
  --build                always rebuild the apps first (otherwise only when
                         dist/ is missing or older than apps/, libs/ or tools/)
  --no-build             never build; use dist/ as it is
  --controller-port P    the controller's port (default 7000)
  --storage-port P       the first storage node's port (default 7101)
  --frontend-port P      the first frontend's port (default 8001)
  -h, --help             show this help and exit

Options also accept the --flag=value form. Exit status: 0 after a requested
stop (Ctrl-C or SIGTERM), 1 if start-up fails, 2 for bad flags.
`;

const VALUE_FLAGS = [
  '--storage', '--frontends', '--redundancy', '--partition-digits', '--zones', '--log-level', '--base-dir', '--timeout',
  '--controller-port', '--storage-port', '--frontend-port',
] as const;
type ValueFlag = (typeof VALUE_FLAGS)[number];
const SWITCHES = ['--help', '--build', '--no-build'] as const;

class UsageError extends Error {}

/** A decimal integer in [min, max], as the flag's text; at most 9 digits, like the shell version. */
function intIn(name: string, text: string, min: number, max: number): number {
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (got '${text}')`);
  }
  return Number(text);
}

/**
 * Parse runlocal's command line. Flags are taken in order (so `--help` after a bad flag
 * still reports the bad flag), then the values are checked. `invocationDir` resolves a
 * relative --base-dir; `repoRoot` holds the default one.
 */
export function parseRunlocalArgs(argv: readonly string[], invocationDir: string, repoRoot: string): ParseResult {
  try {
    return parse(argv, invocationDir, repoRoot);
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'usage', message: err.message };
    throw err;
  }
}

function parse(argv: readonly string[], invocationDir: string, repoRoot: string): ParseResult {
  const raw = new Map<ValueFlag, string>();
  let build: RunlocalOptions['build'] = 'if-stale';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (arg === '--build') {
      build = 'always';
      continue;
    }
    if (arg === '--no-build') {
      build = 'never';
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    let name: string;
    let value: string;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      name = arg.slice(0, eq);
      value = arg.slice(eq + 1);
      if ((SWITCHES as readonly string[]).includes(name)) throw new UsageError(`${name} takes no value`);
    } else {
      name = arg;
      if (!(VALUE_FLAGS as readonly string[]).includes(name)) throw new UsageError(`unknown flag '${name}'`);
      if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
      value = argv[++i];
    }
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) throw new UsageError(`unknown flag '${name}'`);
    raw.set(name as ValueFlag, value);
  }

  const text = (flag: ValueFlag, fallback: string | number) => raw.get(flag) ?? String(fallback);
  const L = RUNLOCAL_LIMITS;
  const D = RUNLOCAL_DEFAULTS;
  const storage = intIn('--storage', text('--storage', D.storage), 1, L.storageMax);
  const frontends = intIn('--frontends', text('--frontends', D.frontends), 1, L.frontendsMax);
  const redundancyText = text('--redundancy', D.redundancy);
  if (!/^[0-9]{1,9}$/.test(redundancyText) || Number(redundancyText) < 1 || Number(redundancyText) > storage) {
    throw new UsageError(`--redundancy must be an integer from 1 to the number of storage nodes (${storage}); got '${redundancyText}'`);
  }
  const redundancy = Number(redundancyText);
  const partitionDigits = intIn('--partition-digits', text('--partition-digits', D.partitionDigits), L.partitionDigitsMin, L.partitionDigitsMax);
  const zones = intIn('--zones', text('--zones', D.zones), 1, storage);
  const timeoutS = intIn('--timeout', text('--timeout', D.timeoutS), 1, L.timeoutSMax);
  const logLevel = text('--log-level', D.logLevel);
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got '${logLevel}')`);
  }
  const controllerPort = intIn('--controller-port', text('--controller-port', D.controllerPort), L.portMin, L.portMax);
  const storagePort = intIn('--storage-port', text('--storage-port', D.storagePort), L.portMin, L.portMax - storage + 1);
  const frontendPort = intIn('--frontend-port', text('--frontend-port', D.frontendPort), L.portMin, L.portMax - frontends + 1);
  const ranges: Array<[string, number, number]> = [
    ['controller', controllerPort, controllerPort],
    ['storage', storagePort, storagePort + storage - 1],
    ['frontends', frontendPort, frontendPort + frontends - 1],
  ];
  for (let a = 0; a < ranges.length; a++) {
    for (let b = a + 1; b < ranges.length; b++) {
      const [na, lo1, hi1] = ranges[a];
      const [nb, lo2, hi2] = ranges[b];
      if (lo1 <= hi2 && lo2 <= hi1) throw new UsageError(`the ports of the ${na} (${lo1}..${hi1}) and the ${nb} (${lo2}..${hi2}) overlap`);
    }
  }
  const baseDirText = raw.get('--base-dir');
  const baseDir = baseDirText === undefined || baseDirText === '' ? path.join(repoRoot, '.runlocal') : path.resolve(invocationDir, baseDirText);
  return {
    kind: 'run',
    options: { storage, frontends, redundancy, partitionDigits, zones, logLevel, baseDir, timeoutS, build, controllerPort, storagePort, frontendPort },
  };
}
