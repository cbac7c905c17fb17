import fs from 'node:fs';
import os from 'node:os';
import type { CapacityInput } from '@fog/partitioning';

/** cgroup v2 (and v1) files that hold a container's memory limit. */
const CGROUP_MEMORY_FILES = ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'];

/** The container's memory limit in bytes, or null when there is none (or it cannot be read). */
export function cgroupMemoryBytes(readFile: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): number | null {
  for (const file of CGROUP_MEMORY_FILES) {
    try {
      const text = readFile(file).trim();
      if (text === 'max') return null;
      const n = Number(text);
      if (Number.isSafeInteger(n) && n > 0) return n;
    } catch {
      // not this cgroup version, or no cgroup: try the next
    }
  }
  return null;
}

/** What this machine and process offer, for --weight auto. */
export function readCapacity(memoryLimitBytes: number): CapacityInput {
  return {
    cpus: os.availableParallelism(),
    memoryLimitBytes: memoryLimitBytes > 0 ? memoryLimitBytes : null,
    cgroupMemoryBytes: cgroupMemoryBytes(),
    totalMemoryBytes: os.totalmem(),
  };
}
