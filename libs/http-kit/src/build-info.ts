import { Gauge, type Registry } from 'prom-client';
import { BUILD_VERSION } from '@fog/protocol';

/**
 * `fog_build_info{version}` = 1: the usual Prometheus idiom for what is running, so a
 * dashboard or an alert can tell which release each process runs (and spot mixed versions
 * during a rolling upgrade).
 */
export function registerBuildInfo(registry: Registry, version: string = BUILD_VERSION): Gauge<'version' | 'node_version'> {
  const gauge = new Gauge({
    name: 'fog_build_info',
    help: 'Always 1; the labels say which release and Node.js version this process runs.',
    labelNames: ['version', 'node_version'] as const,
    registers: [registry],
  });
  gauge.set({ version, node_version: process.versions.node }, 1);
  return gauge;
}
