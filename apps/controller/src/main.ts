import { existsSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { LOG_LEVELS, createLogger, onShutdown, parseWithKnownEnv, securityFlags, securityFrom, useTls, type LogLevel } from '@fog/http-kit';
import {
  BUILD_VERSION, PARTITION_DIGITS_DEFAULT, PARTITION_DIGITS_MAX, PARTITION_DIGITS_MIN, REDUNDANCY_DEFAULT, REDUNDANCY_MAX, REDUNDANCY_MIN,
} from '@fog/protocol';
import { FAILURE_DEFAULTS, STALL_AFTER_MS_DEFAULT, SYNC_PUBLISH_INTERVAL_MS_DEFAULT } from '@fog/cluster';
import { ControllerNode } from './controller-node';

const parser = yargs(hideBin(process.argv))
  .scriptName('controller')
  .usage('$0 [PORT] [NUM_STORAGE] [REDUNDANCY] [options]\n\nStart the Velour Fog controller.')
  .env('FOG')
  .option('port', { type: 'number', describe: 'port to listen on (or first positional)', default: undefined })
  .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on' })
  .option('expected-storage', { type: 'number', describe: 'storage nodes needed before the first table (or second positional)' })
  .option('redundancy', { type: 'number', describe: `replicas per partition, K (or third positional; default ${REDUNDANCY_DEFAULT})` })
  .option('partition-digits', { type: 'number', default: PARTITION_DIGITS_DEFAULT, describe: `D: 16^D partitions (${PARTITION_DIGITS_MIN}..${PARTITION_DIGITS_MAX})` })
  .option('data-dir', { type: 'string', describe: 'folder for the state file (membership, table, epoch, moves); omit to keep state in memory only' })
  .option('heartbeat-interval-ms', { type: 'number', default: 1000, describe: 'ms between node heartbeats (the nodes\' flag of the same name should match)' })
  .option('down-after-ms', { type: 'number', describe: 'silence after which a node is down (default 3 heartbeats)' })
  .option('out-after-ms', { type: 'number', default: FAILURE_DEFAULTS.outAfterMs, describe: 'silence after which a down node is out and its partitions re-replicated' })
  .option('suspect-after-ms', { type: 'number', describe: 'silence after which a frontend report marks a node down early (default 1.5 heartbeats)' })
  .option('sync-publish-interval-ms', { type: 'number', default: SYNC_PUBLISH_INTERVAL_MS_DEFAULT, describe: 'completed partition copies are published together at most this often (failures and joins are not delayed)' })
  .option('frontend-forget-after-ms', { type: 'number', default: FAILURE_DEFAULTS.frontendForgetAfterMs, describe: 'a frontend out (silent) this long is removed from the membership (more than --out-after-ms)' })
  .option('tick-interval-ms', { type: 'number', default: 200, describe: 'how often failure detection runs and changes become one new table' })
  .option('stall-after-ms', { type: 'number', describe: `a gap between ticks longer than this is the controller's own stall and is not counted as the nodes' silence (default ${STALL_AFTER_MS_DEFAULT}, at most half of down-after-ms)` })
  .option('lateness-credit-max-ms', { type: 'number', describe: 'the most the controller\'s own event-loop lateness adds to the silence before it calls a node down or out (default: down-after-ms; 0 turns the credit off)' })
  .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'lowest level logged' })
  .strictOptions()
  .help()
  .version(BUILD_VERSION);
const args = parseWithKnownEnv(securityFlags(parser)) as ReturnType<typeof parser.parseSync>;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n(run with --help for usage)\n`);
  process.exit(2);
}
const pos = args._.map(String);
if (pos.length > 3) fail(`too many positional arguments: ${pos.join(' ')}`);
const num = (flag: number | undefined, p: string | undefined, fallback: number | undefined, name: string): number => {
  const v = flag ?? (p !== undefined ? Number(p) : fallback);
  if (v === undefined || !Number.isSafeInteger(v)) fail(`${name} must be an integer`);
  return v;
};
const port = num(args.port, pos[0], 7000, 'port');
const expectedStorage = num(args['expected-storage'], pos[1], undefined, 'expected-storage (NUM_STORAGE)');
const redundancy = num(args.redundancy, pos[2], REDUNDANCY_DEFAULT, 'redundancy');
const digits = num(args['partition-digits'], undefined, PARTITION_DIGITS_DEFAULT, 'partition-digits');
if (port < 0 || port > 65535) fail('port must be 0..65535');
if (expectedStorage < 1) fail('expected-storage must be >= 1');
if (redundancy < REDUNDANCY_MIN || redundancy > REDUNDANCY_MAX) fail(`redundancy must be ${REDUNDANCY_MIN}..${REDUNDANCY_MAX}`);
if (redundancy > expectedStorage) fail(`redundancy ${redundancy} needs at least ${redundancy} storage nodes, expected-storage is ${expectedStorage}`);
if (digits < PARTITION_DIGITS_MIN || digits > PARTITION_DIGITS_MAX) fail(`partition-digits must be ${PARTITION_DIGITS_MIN}..${PARTITION_DIGITS_MAX}`);

const heartbeatIntervalMs = num(args['heartbeat-interval-ms'], undefined, 1000, 'heartbeat-interval-ms');
const downAfterMs = num(args['down-after-ms'], undefined, 3 * heartbeatIntervalMs, 'down-after-ms');
const outAfterMs = num(args['out-after-ms'], undefined, FAILURE_DEFAULTS.outAfterMs, 'out-after-ms');
const suspectAfterMs = num(args['suspect-after-ms'], undefined, Math.round(1.5 * heartbeatIntervalMs), 'suspect-after-ms');
const tickIntervalMs = num(args['tick-interval-ms'], undefined, 200, 'tick-interval-ms');
const stallAfterMs = num(args['stall-after-ms'], undefined, Math.min(STALL_AFTER_MS_DEFAULT, Math.floor(downAfterMs / 2)), 'stall-after-ms');
const syncPublishIntervalMs = num(args['sync-publish-interval-ms'], undefined, SYNC_PUBLISH_INTERVAL_MS_DEFAULT, 'sync-publish-interval-ms');
if (syncPublishIntervalMs < 0 || syncPublishIntervalMs > 60_000) fail('sync-publish-interval-ms must be 0..60000');
if (heartbeatIntervalMs < 10) fail('heartbeat-interval-ms must be >= 10');
if (downAfterMs < 2 * heartbeatIntervalMs) fail(`down-after-ms (${downAfterMs}) must be at least 2 heartbeat intervals (${2 * heartbeatIntervalMs}) or one late packet marks a node down`);
if (outAfterMs <= downAfterMs) fail(`out-after-ms (${outAfterMs}) must exceed down-after-ms (${downAfterMs})`);
if (suspectAfterMs < heartbeatIntervalMs) fail('suspect-after-ms must be at least one heartbeat interval');
const frontendForgetAfterMs = num(args['frontend-forget-after-ms'], undefined, FAILURE_DEFAULTS.frontendForgetAfterMs, 'frontend-forget-after-ms');
if (frontendForgetAfterMs <= outAfterMs) fail(`frontend-forget-after-ms (${frontendForgetAfterMs}) must exceed out-after-ms (${outAfterMs})`);
if (tickIntervalMs < 10 || tickIntervalMs > downAfterMs) fail('tick-interval-ms must be in [10, down-after-ms]');
if (stallAfterMs <= tickIntervalMs || stallAfterMs + heartbeatIntervalMs >= downAfterMs) {
  fail(`stall-after-ms (${stallAfterMs}) must be above tick-interval-ms (${tickIntervalMs}) and below down-after-ms minus one heartbeat (${downAfterMs - heartbeatIntervalMs})`);
}

const latenessCreditMsMax = num(args['lateness-credit-max-ms'], undefined, downAfterMs, 'lateness-credit-max-ms');
if (latenessCreditMsMax < 0 || latenessCreditMsMax > outAfterMs) fail(`lateness-credit-max-ms must be 0..out-after-ms (${outAfterMs})`);

let secret: string | null = null;
try {
  const security = securityFrom(args as unknown as Record<string, unknown>);
  secret = security.secret;
  useTls(security.tls);
} catch (err) {
  fail((err as Error).message);
}

const log = createLogger('controller', args['log-level'] as LogLevel);
// Built beside this file (project.json additionalEntryPoints).
const workerCandidate = join(__dirname, 'placement-worker.js');
const placementWorkerFile = existsSync(workerCandidate) ? workerCandidate : null;
let node: ControllerNode;
try {
  node = new ControllerNode(
  { host: args.host, port, expectedStorage, redundancy, digits, downAfterMs, outAfterMs, suspectAfterMs, syncPublishIntervalMs, tickIntervalMs, frontendForgetAfterMs, stallAfterMs, dataDir: args['data-dir'] ?? null, secret,
    latenessCreditMsMax, placementWorkerFile },
  log,
  );
} catch (err) {
  log.error('cannot start', { error: (err as Error).message });
  process.exit(1);
}
node.start().catch((err: Error) => {
  log.error('failed to start', { error: err.message });
  process.exit(1);
});
onShutdown(log, () => node.stop());
