import { parseProcStatTicks, parseProcStatusRssBytes } from './proc-stat';

describe('/proc parsing', () => {
  it('adds utime and stime (fields 14 and 15)', () => {
    const line = '4242 (node) S 1 4242 4242 0 -1 4194560 1234 0 0 0 731 69 0 0 20 0 11 0 5000 1000000 20000 18446744073709551615';
    expect(parseProcStatTicks(line)).toBe(800);
  });
  it('counts fields after the last parenthesis, whatever the command name holds', () => {
    const line = '7 (a) b (c) d) R 1 7 7 0 -1 0 0 0 0 0 12 3 0 0 20 0 1 0 1 1 1';
    expect(parseProcStatTicks(line)).toBe(15);
  });
  it('refuses text that is not a stat line', () => {
    expect(() => parseProcStatTicks('nonsense')).toThrow();
  });
  it('reads VmRSS in bytes', () => {
    expect(parseProcStatusRssBytes('Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t   2048 kB\nThreads: 7\n')).toBe(2048 * 1024);
    expect(() => parseProcStatusRssBytes('Name:\tnode\n')).toThrow();
  });
});
