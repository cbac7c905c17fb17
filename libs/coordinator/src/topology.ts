import type { ClusterView } from '@fog/protocol';

/**
 * The frontends a client may use, from the controller's view: those up (heartbeating), by
 * address, in a stable order, with `self` always included (it is answering the question).
 */
export function liveFrontends(view: Pick<ClusterView, 'nodes'>, self: string): string[] {
  const up = view.nodes.filter((n) => n.role === 'frontend' && n.state === 'up').map((n) => n.address);
  return [...new Set([self, ...up])].sort();
}

export const TOPOLOGY_DEFAULTS = {
  /** How long a frontend reuses the frontend list it fetched from the controller. */
  frontendListMaxAgeMs: 5_000,
} as const;
