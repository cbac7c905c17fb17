import yargs, { type Argv } from 'yargs';
import { BUILD_VERSION, DEFAULT_LIMITS, NODE_ID_RE, WEIGHT_MODES, ZONE_RE, parseAddress, type NodeRole, type WeightMode } from '@fog/protocol';
import { securityFlags, securityFrom } from './security-flags';
import type { TlsMaterial } from './tls';
import { LOG_LEVELS, type LogLevel } from './logger';

export const NODE_CLI_DEFAULTS = {
  controller: '127.0.0.1:7000',
  zone: 'default',
  weight: 1,
  logLevel: 'info' as LogLevel,
  heartbeatIntervalMs: 1000,
} as const;

export interface NodeCliOptions {
  controller: string;
  /** host:port other nodes reach this node on. */
  address: string;
  /** Interface to listen on. */
  host: string;
  port: number;
  id: string;
  zone: string;
  weight: number;
  /** Storage: derive the weight from the node's capacity (--weight auto); weight is then a placeholder. */
  weightMode: WeightMode | null;
  logLevel: LogLevel;
  heartbeatIntervalMs: number;
  /** Largest internal request body this node reads. */
  internalBodyBytesMax: number;
  /** Bytes of internal request bodies this node buffers at once (503 over it). */
  internalInflightBytesMax: number;
  /** The cluster secret (null: --insecure, internal routes open). */
  secret: string | null;
  /** Port of the internal listener (null: internal routes answer on `port`). */
  internalPort: number | null;
  /** host:port other nodes reach the internal listener on (null: none of its own, or port 0: known once bound). */
  internalAddress: string | null;
  /** TLS for every listener and every connection to other nodes (null: none). */
  tls: TlsMaterial | null;
}

/** Smallest internal body limit a node accepts: a table push at D=1 and an ops request must fit. */
export const INTERNAL_BODY_BYTES_MAX_MIN = 64 * 1024;

/**
 * Command line shared by storage nodes and frontends: the original positional form
 * `<CONTROLLER_HOST:PORT> <OWN_HOST:PORT>` or flags, with FOG_* environment variables
 * (FOG_CONTROLLER, FOG_ADDRESS, ...) as fallbacks.
 */
export function parseNodeCli<T extends object = object>(
  role: NodeRole,
  argv: string[],
  extra: (y: Argv) => Argv<T> = (y) => y as Argv<T>,
): NodeCliOptions & T {
  const base = yargs(argv)
    .scriptName(role)
    .usage(`$0 [CONTROLLER_HOST:PORT] [OWN_HOST:PORT] [options]\n\nStart a Velour Fog ${role} node.`)
    .env('FOG')
    .option('controller', { type: 'string', describe: 'controller host:port (or first positional)' })
    .option('address', { type: 'string', describe: 'host:port other nodes reach this node on (or second positional)' })
    .option('host', { type: 'string', describe: 'interface to listen on (default: host of --address)' })
    .option('port', { type: 'number', describe: 'port to listen on (default: port of --address)' })
    .option('id', { type: 'string', describe: `node id (default: ${role}-HOST-PORT)` })
    .option('zone', { type: 'string', default: NODE_CLI_DEFAULTS.zone, describe: 'failure domain label' })
    .option('weight', { type: 'string', default: String(NODE_CLI_DEFAULTS.weight), describe: 'relative share of partitions (storage): a number in (0, 100], or auto (from memory and CPUs), auto:memory, auto:cpu' })
    .option('log-level', { choices: LOG_LEVELS, default: NODE_CLI_DEFAULTS.logLevel, describe: 'lowest level logged' })
    .option('heartbeat-interval-ms', { type: 'number', default: NODE_CLI_DEFAULTS.heartbeatIntervalMs, describe: 'ms between heartbeats to the controller' })
    .option('internal-body-bytes-max', {
      type: 'number', default: DEFAULT_LIMITS.internalBodyBytesMax,
      describe: `largest internal request body read (table pushes, storage operations, anti-entropy), bytes; larger ones get 413 before they are buffered (min ${INTERNAL_BODY_BYTES_MAX_MIN})`,
    })
    .option('internal-inflight-bytes-max', {
      type: 'number', default: DEFAULT_LIMITS.internalInflightBytesMax,
      describe: 'bytes of internal request bodies buffered at once, over every request; a request that would exceed it gets 503 FOG_ERR_INFLIGHT_LIMIT (at least --internal-body-bytes-max)',
    })
    .option('internal-port', {
      type: 'number',
      describe: 'port of a listener of its own for internal routes (replication, tables, anti-entropy); the client port then serves only the client API, /metrics, /health and /ready. Omit: internal routes share the client port',
    })
    .option('internal-address', { type: 'string', describe: 'host:port other nodes reach the internal listener on (default: host of --address, --internal-port)' })
    .strictOptions()
    .help()
    .version(BUILD_VERSION);
  const args = parseWithKnownEnv(securityFlags(extra(base as unknown as Argv))) as unknown as Record<string, unknown> & { _: Array<string | number> };
  const positional = args._.map(String);
  if (positional.length > 2) fail(`too many positional arguments: ${positional.join(' ')}`);
  const controller = (args.controller as string | undefined) ?? positional[0] ?? NODE_CLI_DEFAULTS.controller;
  const address = (args.address as string | undefined) ?? positional[1];
  if (!parseAddress(controller)) fail(`controller must be host:port, got '${controller}'`);
  if (!address) fail('own address is required: give OWN_HOST:PORT or --address');
  const own = parseAddress(address!);
  if (!own) fail(`address must be host:port, got '${address}'`);
  const id = (args.id as string | undefined) ?? `${role}-${own!.host.replace(/[[\]]/g, '')}-${own!.port}`;
  if (!NODE_ID_RE.test(id)) fail(`id '${id}' may hold only letters, digits and _.:@-`);
  const zone = args.zone as string;
  if (!ZONE_RE.test(zone)) fail(`zone '${zone}' may hold only letters, digits and _.-`);
  const weightText = String(args.weight);
  const weightMode = (WEIGHT_MODES as readonly string[]).includes(weightText) ? (weightText as WeightMode) : null;
  const weight = weightMode ? NODE_CLI_DEFAULTS.weight : Number(weightText);
  if (!weightMode && !(/^\d+(\.\d+)?$/.test(weightText) && weight > 0 && weight <= 100)) fail(`weight must be in (0, 100] or one of ${WEIGHT_MODES.join(', ')}`);
  const heartbeatIntervalMs = args['heartbeat-interval-ms'] as number;
  if (!(Number.isInteger(heartbeatIntervalMs) && heartbeatIntervalMs >= 10)) fail('heartbeat-interval-ms must be an integer >= 10');
  const internalBodyBytesMax = args['internal-body-bytes-max'] as number;
  const internalInflightBytesMax = args['internal-inflight-bytes-max'] as number;
  if (!(Number.isSafeInteger(internalBodyBytesMax) && internalBodyBytesMax >= INTERNAL_BODY_BYTES_MAX_MIN)) fail(`internal-body-bytes-max must be an integer >= ${INTERNAL_BODY_BYTES_MAX_MIN}`);
  if (!(Number.isSafeInteger(internalInflightBytesMax) && internalInflightBytesMax >= internalBodyBytesMax)) fail('internal-inflight-bytes-max must be an integer >= internal-body-bytes-max');
  const port = (args.port as number | undefined) ?? own!.port;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) fail('port must be 0..65535');
  const internalPort = (args['internal-port'] as number | undefined) ?? null;
  if (internalPort !== null && !(Number.isInteger(internalPort) && internalPort >= 0 && internalPort <= 65535)) fail('internal-port must be 0..65535 (0: any free port)');
  if (internalPort !== null && internalPort === port && port !== 0) fail('internal-port must differ from the client port');
  const internalAddressArg = args['internal-address'] as string | undefined;
  if (internalAddressArg !== undefined && internalPort === null) fail('internal-address needs --internal-port');
  if (internalAddressArg !== undefined && !parseAddress(internalAddressArg)) fail(`internal-address must be host:port, got '${internalAddressArg}'`);
  // Port 0 without --internal-address: the node advertises the port it was given once bound.
  const internalAddress = internalPort === null ? null : internalAddressArg ?? (internalPort === 0 ? null : `${own!.host}:${internalPort}`);
  let security: { secret: string | null; tls: TlsMaterial | null } = { secret: null, tls: null };
  try {
    security = securityFrom(args);
  } catch (err) {
    fail((err as Error).message);
  }
  const { secret, tls } = security;
  return {
    ...(args as unknown as T),
    controller,
    address: address!,
    host: (args.host as string | undefined) ?? own!.host.replace(/[[\]]/g, ''),
    port,
    id,
    zone,
    weight,
    weightMode,
    logLevel: args['log-level'] as LogLevel,
    heartbeatIntervalMs,
    internalBodyBytesMax,
    internalInflightBytesMax,
    secret,
    internalPort,
    internalAddress,
    tls,
  };
}

/**
 * Parse with FOG_* environment variables as fallbacks for the flags, ignoring (with a warning)
 * FOG_* variables that name no flag: an unrelated variable must not stop a node from starting.
 */
export function parseWithKnownEnv<T>(y: Argv<T>, prefix = 'FOG'): T {
  const known = new Set<string>();
  const options = (y as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key;
  for (const name of Object.keys(options)) known.add(`${prefix}_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toUpperCase()}`);
  const hidden: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith(`${prefix}_`) && !known.has(k) && v !== undefined) {
      hidden.push([k, v]);
      delete process.env[k];
    }
  }
  for (const [k] of hidden) process.stderr.write(`warning: ignoring environment variable ${k}: it names no option\n`);
  try {
    return y.parseSync() as T;
  } finally {
    for (const [k, v] of hidden) process.env[k] = v;
  }
}

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n(run with --help for usage)\n`);
  process.exit(2);
}
