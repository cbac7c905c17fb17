import { randomBytes } from 'node:crypto';
import { ClusterAuth } from '@fog/http-kit';

/**
 * The cluster secret every app a test file starts runs with (unless the test gives its own, or
 * --insecure): drawn once per test process. The harness's HTTP helpers sign every request with
 * it, so tests reach internal and admin routes as a node of the cluster would.
 */
export const E2E_CLUSTER_SECRET = randomBytes(24).toString('hex');

/** Signs as a member of the e2e clusters (knows no cluster id: sends none). */
export const E2E_AUTH = new ClusterAuth(E2E_CLUSTER_SECRET);

/** The environment that gives an app the e2e secret, unless its arguments or env choose otherwise. */
export function secretEnv(args: readonly string[], env: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const chosen = args.some((a) => a === '--insecure' || a.startsWith('--cluster-secret')) || (env !== undefined && ('FOG_CLUSTER_SECRET' in env || 'FOG_INSECURE' in env));
  return chosen ? {} : { FOG_CLUSTER_SECRET: E2E_CLUSTER_SECRET };
}
