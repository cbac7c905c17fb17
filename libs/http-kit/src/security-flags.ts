import type { Argv } from 'yargs';
import { loadClusterSecret } from './cluster-auth';
import { loadTls, type TlsMaterial } from './tls';

/** The cluster secret and TLS flags every app takes (controller, storage, frontend). See docs/security.md. */
export function securityFlags<T>(y: Argv<T>): Argv<T> {
  return y
    .option('cluster-secret-file', { type: 'string', describe: 'file holding the cluster secret (the same on every node; at least 16 bytes): internal and admin requests and tables are signed and checked with it. See docs/security.md' })
    .option('cluster-secret', { type: 'string', hidden: true, describe: 'the cluster secret itself: give it as FOG_CLUSTER_SECRET, never on the command line' })
    .option('insecure', { type: 'boolean', default: false, describe: 'run without a cluster secret: internal and admin routes accept any request (said at start, in the log and in /health)' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate: serve every listener over TLS (with --tls-key and --tls-ca; the whole cluster then runs TLS)' })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('tls-ca', { type: 'string', describe: 'PEM CA certificate(s) the other nodes\' certificates are checked against' }) as unknown as Argv<T>;
}

/** The secret (null: --insecure) and TLS material (null: none) the flags name; throws with a message for the operator. */
export function securityFrom(args: Record<string, unknown>): { secret: string | null; tls: TlsMaterial | null } {
  const str = (k: string) => (typeof args[k] === 'string' ? (args[k] as string) : undefined);
  return {
    secret: loadClusterSecret({ clusterSecretFile: str('cluster-secret-file'), clusterSecret: str('cluster-secret'), insecure: args.insecure === true }),
    tls: loadTls({ tlsCert: str('tls-cert'), tlsKey: str('tls-key'), tlsCa: str('tls-ca') }),
  };
}
