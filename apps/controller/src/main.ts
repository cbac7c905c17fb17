import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { LOG_LEVELS, createLogger, onShutdown, type LogLevel } from '@fog/http-kit';
import {
  PARTITION_DIGITS_DEFAULT, PARTITION_DIGITS_MAX, PARTITION_DIGITS_MIN, REDUNDANCY_DEFAULT, REDUNDANCY_MAX, REDUNDANCY_MIN,
} from '@fog/protocol';
import { ControllerNode } from './controller-node';

const args = yargs(hideBin(process.argv))
  .scriptName('controller')
  .usage('$0 [PORT] [NUM_STORAGE] [REDUNDANCY] [options]\n\nStart the Velour Fog controller.')
  .env('FOG')
  .option('port', { type: 'number', describe: 'port to listen on (or first positional)', default: undefined })
  .option('host', { type: 'string', default: '127.0.0.1', describe: 'interface to listen on' })
  .option('expected-storage', { type: 'number', describe: 'storage nodes needed before the first table (or second positional)' })
  .option('redundancy', { type: 'number', describe: `replicas per partition, K (or third positional; default ${REDUNDANCY_DEFAULT})` })
  .option('partition-digits', { type: 'number', default: PARTITION_DIGITS_DEFAULT, describe: `D: 16^D partitions (${PARTITION_DIGITS_MIN}..${PARTITION_DIGITS_MAX})` })
  .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'lowest level logged' })
  .strictOptions()
  .help()
  .version(false)
  .parseSync();

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

const log = createLogger('controller', args['log-level'] as LogLevel);
const node = new ControllerNode({ host: args.host, port, expectedStorage, redundancy, digits }, log);
node.start().catch((err: Error) => {
  log.error('failed to start', { error: err.message });
  process.exit(1);
});
onShutdown(log, () => node.stop());
