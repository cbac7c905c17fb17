import { createLogger, onShutdown, parseNodeCli, useTls } from '@fog/http-kit';
import { DEFAULT_LIMITS } from '@fog/protocol';
import { hideBin } from 'yargs/helpers';
import { autoWeight } from '@fog/partitioning';
import { readCapacity } from './capacity';
import { HANDOFF_DEFAULTS } from './handoff';
import { SYNC_TRANSPORTS, type SyncTransportKind } from './peer-sync-client';
import { StorageNode } from './storage-node';
import { storageFlagProblems, storageFlags } from './storage-options';

const cli = parseNodeCli('storage', hideBin(process.argv), (y) =>
  storageFlags(y).option('handoff-bytes-per-sec-max', {
    type: 'number', default: HANDOFF_DEFAULTS.bytesPerSecMax,
    describe: 'ceiling on the rate this node copies partitions it is given (bytes/s), so a join does not starve client traffic',
  }).option('replica-transport', {
    choices: SYNC_TRANSPORTS, default: 'binary' as const,
    describe: 'how anti-entropy and partition copies speak to peers: binary frames over persistent connections, or JSON over HTTP',
  }),
);
if (!(cli['handoff-bytes-per-sec-max'] >= 1024)) {
  process.stderr.write('error: --handoff-bytes-per-sec-max must be at least 1024\n');
  process.exit(2);
}
const problems = storageFlagProblems(cli);
if (problems.length) {
  process.stderr.write(`${problems.map((p) => `error: ${p}`).join('\n')}\n(run with --help for usage)\n`);
  process.exit(2);
}
useTls(cli.tls);
const log = createLogger('storage', cli.logLevel, undefined, { node: cli.id });
// --weight auto: the weight comes from this node's memory and CPUs, and the node says how.
const derived = cli.weightMode ? autoWeight(cli.weightMode, readCapacity(cli.maxMemoryBytes)) : null;
if (derived) log.info('weight derived from capacity', { weight: derived.weight, ...derived.basis });
const node = new StorageNode(
  {
    ...cli, secret: cli.secret, internalPort: cli.internalPort, internalAddress: cli.internalAddress,
    ...(derived ? { weight: derived.weight, weightBasis: derived.basis } : {}), handoffBytesPerSecMax: cli['handoff-bytes-per-sec-max'],
    replicaTransport: cli['replica-transport'] as SyncTransportKind, internalBatchOpsMax: DEFAULT_LIMITS.internalBatchOpsMax,
    durability: {
      dataDir: cli.dataDir, fsync: cli.fsync, snapshotLogBytes: cli.snapshotLogBytes, snapshotIntervalMs: cli.snapshotIntervalMs,
      maxMemoryBytes: cli.maxMemoryBytes, antiEntropyIntervalMs: cli.antiEntropyIntervalMs, antiEntropy: cli.antiEntropy,
      antiEntropyPartitionsPerRoundMax: cli.antiEntropyPartitionsPerRoundMax, antiEntropyKeysPerRoundMax: cli.antiEntropyKeysPerRoundMax,
      tombstoneGraceMs: cli.tombstoneGraceMs, faultInjectFile: cli.faultInjectFile, compress: cli.compress, compressMinBytes: cli.compressMinBytes,
    },
  },
  log,
);
node.start().catch((err: Error) => {
  log.error('failed to start', { error: err.message });
  process.exit(1);
});
onShutdown(log, () => node.stop());
