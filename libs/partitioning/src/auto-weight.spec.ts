import { AUTO_WEIGHT, autoWeight, describeWeight } from './auto-weight';

const GiB = 1024 ** 3;

describe('autoWeight', () => {
  it.each<[string, Parameters<typeof autoWeight>[0], Parameters<typeof autoWeight>[1], number, string, string]>([
    ['memory limit, the scarcer', 'auto', { cpus: 8, memoryLimitBytes: 4 * GiB, cgroupMemoryBytes: null, totalMemoryBytes: 64 * GiB }, 2, 'limit', 'memory'],
    ['CPUs, the scarcer', 'auto', { cpus: 2, memoryLimitBytes: null, cgroupMemoryBytes: null, totalMemoryBytes: 32 * GiB }, 2, 'total', 'cpu'],
    ['a container limit under the machine', 'auto', { cpus: 16, memoryLimitBytes: null, cgroupMemoryBytes: 3 * GiB, totalMemoryBytes: 64 * GiB }, 1.5, 'cgroup', 'memory'],
    ['a container limit above the machine (no limit)', 'auto', { cpus: 16, memoryLimitBytes: null, cgroupMemoryBytes: 128 * GiB, totalMemoryBytes: 8 * GiB }, 4, 'total', 'memory'],
    ['by memory alone', 'auto:memory', { cpus: 1, memoryLimitBytes: null, cgroupMemoryBytes: null, totalMemoryBytes: 16 * GiB }, 8, 'total', 'memory'],
    ['by CPU alone', 'auto:cpu', { cpus: 12, memoryLimitBytes: 1 * GiB, cgroupMemoryBytes: null, totalMemoryBytes: 16 * GiB }, 12, 'limit', 'cpu'],
    ['a tiny node stays above zero', 'auto', { cpus: 1, memoryLimitBytes: 1024, cgroupMemoryBytes: null, totalMemoryBytes: GiB }, AUTO_WEIGHT.weightMin, 'limit', 'memory'],
    ['a huge node is capped', 'auto:cpu', { cpus: 512, memoryLimitBytes: null, cgroupMemoryBytes: null, totalMemoryBytes: GiB }, AUTO_WEIGHT.weightMax, 'total', 'cpu'],
  ])('%s', (_name, mode, input, weight, memorySource, limitedBy) => {
    const r = autoWeight(mode, input);
    expect(r.weight).toBe(weight);
    expect(r.basis).toMatchObject({ mode, memorySource, limitedBy });
  });

  it('gives twice the weight to a node with twice the memory and CPUs', () => {
    const small = autoWeight('auto', { cpus: 2, memoryLimitBytes: 4 * GiB, cgroupMemoryBytes: null, totalMemoryBytes: 64 * GiB });
    const big = autoWeight('auto', { cpus: 4, memoryLimitBytes: 8 * GiB, cgroupMemoryBytes: null, totalMemoryBytes: 64 * GiB });
    expect(big.weight).toBe(2 * small.weight);
  });

  it('says where a weight came from', () => {
    const r = autoWeight('auto', { cpus: 8, memoryLimitBytes: 4 * GiB, cgroupMemoryBytes: null, totalMemoryBytes: 64 * GiB });
    expect(describeWeight(r.weight, r.basis)).toBe('weight 2 from --weight auto: 8 CPUs, 4.0 GiB memory limit, the scarcer (memory)');
    expect(describeWeight(3, undefined)).toBe('weight 3 (set by --weight)');
  });
});
