/**
 * What each replica holds: every key of the history read from every active replica of its
 * partition directly (the storage nodes' internal ops route), so convergence means the
 * replicas themselves agree, not that a quorum read repaired what it touched.
 */
import { partitionOf } from '@fog/partitioning';
import { internalAddressOf, type OpsResponse, type PartitionTable, type Version, type WireEntry } from '@fog/protocol';
import { E2E_AUTH } from '@fog/e2e-harness';
import { compareVersions } from '@fog/sim';
import type { FinalEntry } from './checker';

/** Gets per internal request (the storage node's own limit is 256 ops). */
export const REPLICA_READ_OPS_PER_REQUEST_MAX = 256;
export const REPLICA_READ_TIMEOUT_MS = 5000;

export interface ReplicaView {
  /** Per key: each active replica's entry (null: it holds none), or undefined if it did not answer. */
  entries: Map<string, Map<string, WireEntry | null | undefined>>;
  /** Keys whose active replicas all answered and hold the same version. */
  agreed: number;
  /** Keys where some replica disagrees or did not answer. */
  disagreeing: string[];
}

export async function readReplicas(table: PartitionTable, keys: readonly string[]): Promise<ReplicaView> {
  const byNode = new Map<string, Array<{ key: string; p: number }>>();
  const entries = new Map<string, Map<string, WireEntry | null | undefined>>();
  for (const key of keys) {
    const p = partitionOf(key, table.digits);
    const perNode = new Map<string, WireEntry | null | undefined>();
    for (const node of table.partitions[p].replicas) {
      perNode.set(node, undefined);
      const list = byNode.get(node) ?? [];
      list.push({ key, p });
      byNode.set(node, list);
    }
    entries.set(key, perNode);
  }
  await Promise.all(
    [...byNode].map(async ([node, items]) => {
      const n = table.nodes[node];
      if (!n) return;
      const address = internalAddressOf(n);
      for (let i = 0; i < items.length; i += REPLICA_READ_OPS_PER_REQUEST_MAX) {
        const batch = items.slice(i, i + REPLICA_READ_OPS_PER_REQUEST_MAX);
        try {
          const request = JSON.stringify({ epoch: table.epoch, ops: batch.map(({ key, p }) => ({ op: 'get', p, key })) });
          const res = await fetch(`http://${address}/internal/v1/ops`, {
            method: 'POST',
            // Signed with the cluster's secret, as a frontend signs (the harness starts the cluster with it).
            headers: { 'content-type': 'application/json', ...E2E_AUTH.headersFor('POST', '/internal/v1/ops', request) },
            body: request,
            signal: AbortSignal.timeout(REPLICA_READ_TIMEOUT_MS),
          });
          if (!res.ok) return;
          const body = (await res.json()) as OpsResponse;
          batch.forEach(({ key }, j) => {
            const r = body.results[j];
            if (r && r.ok && 'entry' in r) entries.get(key)!.set(node, r.entry);
          });
        } catch {
          return; // a node that does not answer leaves its keys undecided; the next poll asks again
        }
      }
    }),
  );
  let agreed = 0;
  const disagreeing: string[] = [];
  for (const [key, perNode] of entries) {
    const vers = [...perNode.values()];
    const same = vers.every((e) => e !== undefined && sameVersion(e?.ver ?? null, vers[0]?.ver ?? null));
    if (same) agreed++;
    else disagreeing.push(key);
  }
  return { entries, agreed, disagreeing };
}

/** Per key, the newest entry any replica holds (what the replicas agree on once they converge). */
export function newestEntries(view: ReplicaView): Map<string, FinalEntry> {
  const out = new Map<string, FinalEntry>();
  for (const [key, perNode] of view.entries) {
    let best: WireEntry | null = null;
    for (const e of perNode.values()) if (e && (!best || compareVersions(e.ver, best.ver) > 0)) best = e;
    out.set(key, { ver: best?.ver ?? null, value: best?.val == null ? null : Buffer.from(best.val, 'base64').toString('utf8') });
  }
  return out;
}

function sameVersion(a: Version | null, b: Version | null): boolean {
  if (a === null || b === null) return a === b;
  return compareVersions(a, b) === 0;
}
