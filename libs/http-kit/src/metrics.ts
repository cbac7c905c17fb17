import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { registerBuildInfo } from './build-info';

/** Latency buckets in seconds, from a fast in-memory hop to a slow quorum write. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export interface HttpMetrics {
  registry: Registry;
  requests: Counter<'op' | 'status'>;
  latency: Histogram<'op' | 'status'>;
}

/**
 * One registry per process with the default process metrics, `fog_build_info` and the
 * request metrics every app shares. `op` comes from a fixed list per app and `status` is the HTTP status code, so
 * label values never come from keys.
 */
export function createHttpMetrics(app: string): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, prefix: 'fog_' });
  // prom-client names these gauges with a `_total` suffix, which Prometheus reserves for
  // counters (promtool flags them): leave them out rather than expose misleading names.
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`fog_${name}`);
  registerBuildInfo(registry);
  const requests = new Counter({
    name: 'fog_http_requests_total',
    help: 'HTTP requests served, by operation and status code.',
    labelNames: ['op', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'fog_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by operation and status code.',
    labelNames: ['op', 'status'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  return { registry, requests, latency };
}

/** HTTP requests served since the process started, over every op and status. */
export async function requestsServed(metrics: HttpMetrics): Promise<number> {
  const m = await metrics.requests.get();
  return Math.round(m.values.reduce((n, v) => n + v.value, 0));
}
