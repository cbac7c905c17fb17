import type { WeightBasis, WeightMode } from '@fog/protocol';

export const AUTO_WEIGHT = {
  /** Memory that counts as one unit of weight: a node with 2 GiB per CPU is balanced. */
  memoryBytesPerUnit: 2 * 1024 ** 3,
  /** Lightest and heaviest weight derived (the controller accepts (0, 100]). */
  weightMin: 0.01,
  weightMax: 100,
} as const;

export interface CapacityInput {
  /** CPUs this process may use (os.availableParallelism()). */
  cpus: number;
  /** The node's own memory limit (--max-memory-bytes), when it has one. */
  memoryLimitBytes: number | null;
  /** The container's memory limit (cgroup memory.max), when there is one. */
  cgroupMemoryBytes: number | null;
  /** The machine's memory (os.totalmem()). */
  totalMemoryBytes: number;
}

/**
 * A storage node's weight from its capacity. Memory counts as the node's own limit, else the
 * container's, else the machine's; it is weighed in units of memoryBytesPerUnit against the
 * CPU count. `auto` takes the scarcer of the two (a node with much memory and one CPU serves
 * like one CPU; one with many CPUs and little memory holds like its memory); `auto:memory` and
 * `auto:cpu` weigh by one alone (uniform in memory, uniform in CPU). Rounded to 2 decimals.
 */
export function autoWeight(mode: WeightMode, input: CapacityInput): { weight: number; basis: WeightBasis } {
  const cpus = Math.max(1, Math.floor(input.cpus));
  const [memoryBytes, memorySource]: [number, WeightBasis['memorySource']] = input.memoryLimitBytes !== null && input.memoryLimitBytes > 0
    ? [input.memoryLimitBytes, 'limit']
    : input.cgroupMemoryBytes !== null && input.cgroupMemoryBytes > 0 && input.cgroupMemoryBytes < input.totalMemoryBytes
      ? [input.cgroupMemoryBytes, 'cgroup']
      : [input.totalMemoryBytes, 'total'];
  const memoryUnits = memoryBytes / AUTO_WEIGHT.memoryBytesPerUnit;
  let raw: number;
  let limitedBy: WeightBasis['limitedBy'];
  if (mode === 'auto:memory') [raw, limitedBy] = [memoryUnits, 'memory'];
  else if (mode === 'auto:cpu') [raw, limitedBy] = [cpus, 'cpu'];
  else [raw, limitedBy] = memoryUnits < cpus ? [memoryUnits, 'memory'] : [cpus, 'cpu'];
  const weight = Math.min(AUTO_WEIGHT.weightMax, Math.max(AUTO_WEIGHT.weightMin, Math.round(raw * 100) / 100));
  return { weight, basis: { mode, cpus, memoryBytes, memorySource, limitedBy } };
}

/** One line saying where a weight came from, for locate and status. */
export function describeWeight(weight: number, basis: WeightBasis | undefined): string {
  if (!basis) return `weight ${weight} (set by --weight)`;
  const gib = (basis.memoryBytes / 1024 ** 3).toFixed(1);
  const memory = `${gib} GiB ${basis.memorySource === 'limit' ? 'memory limit' : basis.memorySource === 'cgroup' ? 'container memory limit' : 'total memory'}`;
  const by = basis.mode === 'auto' ? `, the scarcer (${basis.limitedBy})` : ` (by ${basis.limitedBy} alone)`;
  return `weight ${weight} from --weight ${basis.mode}: ${basis.cpus} CPUs, ${memory}${by}`;
}
