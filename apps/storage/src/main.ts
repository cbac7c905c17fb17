import { createLogger, onShutdown, parseNodeCli } from '@fog/http-kit';
import { DEFAULT_LIMITS } from '@fog/protocol';
import { hideBin } from 'yargs/helpers';
import { StorageNode } from './storage-node';

const cli = parseNodeCli('storage', hideBin(process.argv));
const log = createLogger('storage', cli.logLevel, undefined, { node: cli.id });
const node = new StorageNode(
  { ...cli, internalBodyBytesMax: DEFAULT_LIMITS.internalBodyBytesMax, internalBatchOpsMax: DEFAULT_LIMITS.internalBatchOpsMax },
  log,
);
node.start().catch((err: Error) => {
  log.error('failed to start', { error: err.message });
  process.exit(1);
});
onShutdown(log, () => node.stop());
