import { createLogger, onShutdown, parseNodeCli, useTls } from '@fog/http-kit';
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, WATCH_LIMITS } from '@fog/protocol';
import { hideBin } from 'yargs/helpers';
import { BINARY_CLIENT_DEFAULTS, REPLICA_CLIENT_DEFAULTS, REPLICA_TRANSPORTS, type ReplicaTransportKind } from '@fog/replica-client';
import { FrontendNode } from './frontend-node';
import { hintConfigFrom, withHintFlags } from './hint-delivery';

const cli = parseNodeCli('frontend', hideBin(process.argv), (y) =>
  withHintFlags(y)
    .option('key-bytes-max', { type: 'number', default: DEFAULT_LIMITS.keyBytesMax, describe: 'longest key, UTF-8 bytes' })
    .option('value-bytes-max', { type: 'number', default: DEFAULT_LIMITS.valueBytesMax, describe: 'largest value, bytes' })
    .option('request-body-bytes-max', { type: 'number', default: DEFAULT_LIMITS.requestBodyBytesMax, describe: 'largest client request body, bytes' })
    .option('batch-items-max', { type: 'number', default: DEFAULT_LIMITS.batchItemsMax, describe: 'most operations in one batch request' })
    .option('replica-request-timeout-ms', { type: 'number', default: DEFAULT_TIMEOUTS.replicaRequestTimeoutMs, describe: 'ms to wait for a storage node' })
    .option('replica-transport', {
      choices: REPLICA_TRANSPORTS, default: 'binary' as const,
      describe: 'frontend -> storage hop: binary frames over persistent connections, or JSON over HTTP',
    })
    .option('replica-inflight-requests-max', {
      type: 'number',
      describe: `internal requests in flight to one storage node; operations arriving meanwhile are sent together in the next (default ${BINARY_CLIENT_DEFAULTS.inflightRequestsMaxPerNode} binary, ${REPLICA_CLIENT_DEFAULTS.inflightRequestsMaxPerNode} http)`,
    })
    .option('watchers-max', {
      type: 'number', default: WATCH_LIMITS.watchersMax,
      describe: 'watches (GET /v1/kv/{key}?watch=) this frontend holds open at once; more are refused 429 FOG_ERR_TOO_MANY_WATCHES',
    })
    .option('replica-queue-ops-max', {
      type: 'number', default: REPLICA_CLIENT_DEFAULTS.queueOpsMaxPerNode,
      describe: 'operations waiting for one storage node before new ones are refused (503 FOG_ERR_OVERLOADED)',
    }),
);
useTls(cli.tls);
const log = createLogger('frontend', cli.logLevel, undefined, { node: cli.id });
const positiveInt = (name: string, n: unknown): number => {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    process.stderr.write(`error: --${name} must be a positive integer\n`);
    process.exit(2);
  }
  return n;
};
const c = cli as unknown as Record<string, unknown>;
const hints = hintConfigFrom(c);
if ('problems' in hints) {
  process.stderr.write(`error: ${hints.problems.join('; ')}\n`);
  process.exit(2);
}
const node = new FrontendNode(
  {
    ...cli,
    replicaRequestTimeoutMs: positiveInt('replica-request-timeout-ms', c['replica-request-timeout-ms']),
    replicaTransport: c['replica-transport'] as ReplicaTransportKind,
    replicaInflightRequestsMax: positiveInt(
      'replica-inflight-requests-max',
      c['replica-inflight-requests-max'] ?? (c['replica-transport'] === 'http' ? REPLICA_CLIENT_DEFAULTS : BINARY_CLIENT_DEFAULTS).inflightRequestsMaxPerNode,
    ),
    replicaQueueOpsMax: positiveInt('replica-queue-ops-max', c['replica-queue-ops-max']),
    hints: hints.config,
    watchersMax: positiveInt('watchers-max', c['watchers-max']),
    limits: {
      ...DEFAULT_LIMITS,
      keyBytesMax: positiveInt('key-bytes-max', c['key-bytes-max']),
      valueBytesMax: positiveInt('value-bytes-max', c['value-bytes-max']),
      requestBodyBytesMax: positiveInt('request-body-bytes-max', c['request-body-bytes-max']),
      batchItemsMax: positiveInt('batch-items-max', c['batch-items-max']),
    },
  },
  log,
);
node.start().catch((err: Error) => {
  log.error('failed to start', { error: err.message });
  process.exit(1);
});
onShutdown(log, () => node.stop());
