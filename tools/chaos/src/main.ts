/**
 * npm run chaos -- [--seed N] [--minutes N | --seconds N | --long]
 *
 * Starts the built apps as a real cluster, injects the seed's faults while a workload runs,
 * checks the recorded history and prints a table of figures. Exit status 1 on any finding.
 * The same seed and length give the same fault schedule.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { liveProcesses, releaseDistSnapshot } from '@fog/e2e-harness';
import { formatReport } from './report';
import { runChaos } from './run';

const LONG_MINUTES = 10;

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .scriptName('chaos')
    .usage('$0 [--seed N] [--minutes N | --seconds N | --long]')
    .option('seed', { type: 'number', describe: 'decides the fault schedule (default: a random one, printed)' })
    .option('seconds', { type: 'number', describe: 'length of the fault phase in seconds (default 60)' })
    .option('minutes', { type: 'number', describe: 'length of the fault phase in minutes' })
    .option('long', { type: 'boolean', describe: `a ${LONG_MINUTES}-minute fault phase` })
    .option('storage', { type: 'number', default: 4, describe: 'storage nodes (K=3)' })
    .option('frontends', { type: 'number', default: 2 })
    .option('clients', { type: 'number', default: 4, describe: 'concurrent clients of the workload' })
    .option('think-ms', { type: 'number', default: 20, describe: 'pause of each client between operations' })
    .option('out-after-ms', { type: 'number', default: 10_000, describe: "the controller's --out-after-ms (outage faults last longer)" })
    .option('convergence-timeout-ms', { type: 'number', default: 120_000 })
    .conflicts('long', ['minutes', 'seconds'])
    .conflicts('minutes', 'seconds')
    .strictOptions()
    .help()
    .parse();
  const seed = args.seed ?? 1 + Math.floor(Math.random() * 2 ** 31);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer, not ${args.seed}`);
  const faultPhaseMs = args.long ? LONG_MINUTES * 60_000 : args.minutes !== undefined ? args.minutes * 60_000 : (args.seconds ?? 60) * 1000;
  if (!(faultPhaseMs > 0)) throw new Error('the fault phase must be longer than 0');
  if (args.storage < 4) throw new Error('--storage must be at least 4 (K=3 and one node down at a time, with a spare for outages)');
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const report = await runChaos({
    seed, faultPhaseMs, storage: args.storage, frontends: args.frontends, clients: args.clients, thinkMs: args['think-ms'],
    outAfterMs: args['out-after-ms'], convergenceTimeoutMs: args['convergence-timeout-ms'], log,
  });
  process.stdout.write(`${formatReport(report)}\n`);
  process.exitCode = report.passed ? 0 : 1;
}

// The apps are children of this process: stop them on Ctrl-C, and never leave one behind (nor
// the private copy of the app bundles they ran from).
const killChildren = () => {
  for (const p of liveProcesses()) p.signal('SIGKILL');
  releaseDistSnapshot();
};
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    process.stderr.write(`chaos: ${sig}: stopping the cluster\n`);
    killChildren();
    process.exit(130);
  });
}

main().catch((err: Error) => {
  process.stderr.write(`chaos: ${err.stack ?? err.message}\n`);
  process.exitCode = 2;
});
