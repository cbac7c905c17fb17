import { cgroupMemoryBytes } from './capacity';

describe('cgroupMemoryBytes', () => {
  const files = (m: Record<string, string>) => (p: string) => {
    if (!(p in m)) throw new Error('ENOENT');
    return m[p];
  };
  it.each<[string, Record<string, string>, number | null]>([
    ['a cgroup v2 limit', { '/sys/fs/cgroup/memory.max': '4294967296\n' }, 4294967296],
    ['no cgroup v2 limit', { '/sys/fs/cgroup/memory.max': 'max\n' }, null],
    ['a cgroup v1 limit', { '/sys/fs/cgroup/memory/memory.limit_in_bytes': '1073741824' }, 1073741824],
    ['no cgroup at all', {}, null],
    ['garbage', { '/sys/fs/cgroup/memory.max': 'lots' }, null],
  ])('%s', (_name, m, want) => expect(cgroupMemoryBytes(files(m))).toBe(want));
});
