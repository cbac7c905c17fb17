import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkExposition, getJson, installProcessSafetyNet, request, sampleValue, useCluster, waitFor } from './harness';
import type { ClusterView } from './harness';

installProcessSafetyNet();

// One ceiling for every copy of the node together. Pages are charged as they arrive, so the
// copies in flight may run ahead by about one burst (the ceiling's worth of bytes, pages of a
// quarter of it each).
const RATE_BYTES_PER_SEC = 512 * 1024;
const BURST_BYTES = RATE_BYTES_PER_SEC;
const VALUE_BYTES = 16 * 1024;
const KEYS = 256;
const run = randomBytes(4).toString('hex');

async function copiedBytes(url: string): Promise<number> {
  const res = await request('GET', `${url}/metrics`);
  return sampleValue(checkExposition(res.text).samples, 'fog_storage_handoff_copied_bytes') ?? 0;
}

describe('partition copy throttle', () => {
  const { cluster, it } = useCluster({
    storage: 3, frontends: 1, redundancy: 3, digits: 1, label: 'copy-throttle',
    controllerArgs: ['--heartbeat-interval-ms', '200', '--tick-interval-ms', '100', '--sync-publish-interval-ms', '200'],
    storageArgs: () => ['--heartbeat-interval-ms', '200', '--handoff-bytes-per-sec-max', String(RATE_BYTES_PER_SEC)],
  });

  it('holds --handoff-bytes-per-sec-max for all the copies of a joining node together', async () => {
    const c = cluster();
    const value = 'v'.repeat(VALUE_BYTES);
    for (let i = 0; i < KEYS; i += 16) {
      await Promise.all(Array.from({ length: 16 }, (_, j) => request('PUT', `${c.frontendUrl(0)}/v1/kv/${run}-${i + j}`, value).then((r) => expect(r.status).toBe(200))));
    }
    const t0 = Date.now();
    const idx = await c.addStorage();
    const url = c.storageUrl(idx);
    const samples: Array<{ ms: number; bytes: number }> = [];
    let moves = 1;
    while (moves > 0 && Date.now() - t0 < 60_000) {
      samples.push({ ms: Date.now() - t0, bytes: await copiedBytes(url) });
      const view = await getJson<ClusterView>(`${c.controllerUrl}/v1/cluster`);
      moves = view.moves.length;
      await sleep(150);
    }
    const total = await copiedBytes(url);
    const seconds = (Date.now() - t0) / 1000;
    process.stdout.write(`copy throttle: ${total} bytes copied in ${seconds.toFixed(1)} s (${Math.round(total / seconds / 1024)} KiB/s, ceiling ${RATE_BYTES_PER_SEC / 1024} KiB/s)\n`);
    expect(moves).toBe(0);
    // The joining node took about a quarter of the replicas: enough that four copies at once,
    // each at the ceiling, would break the bound below many times over.
    expect(total).toBeGreaterThan(3 * RATE_BYTES_PER_SEC);
    const over = samples.filter((s) => s.bytes > (RATE_BYTES_PER_SEC * s.ms) / 1000 + 2 * BURST_BYTES);
    expect(over).toEqual([]);
    await waitFor(() => copiedBytes(url), { what: 'copied bytes settled', until: (b) => b === total, timeoutMs: 5_000 });
    // The pages came as binary frames (values raw), none over HTTP.
    const metrics = checkExposition((await request('GET', `${url}/metrics`)).text).samples;
    expect(sampleValue(metrics, 'fog_storage_replica_sync_bytes_total', { transport: 'binary', direction: 'received' }) ?? 0).toBeGreaterThan(total);
    expect(sampleValue(metrics, 'fog_storage_replica_sync_bytes_total', { transport: 'http', direction: 'sent' }) ?? 0).toBe(0);
  }, 120_000);
});
