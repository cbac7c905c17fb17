/**
 * What storing values compressed saves and costs: for value kinds from very compressible to
 * incompressible, the bytes stored against the bytes written and the CPU time per MB of
 * compressing on write and inflating on read, through the storage node's own code
 * (compressEntry / plainEntry in libs/lww). Prints figures; asserts nothing about speed.
 *
 *   npm run bench:compression [-- --level N --mb M]
 */
import { randomBytes } from 'node:crypto';
import { COMPRESSION_DEFAULTS, compressEntry, plainEntry, type Entry } from '@fog/lww';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const levels = args.includes('--level') ? [flag('level', COMPRESSION_DEFAULTS.compressLevel)] : [1, 6];
/** Plain megabytes pushed through each kind and level. */
const mb = flag('mb', 32);

function jsonLike(bytes: number): Buffer {
  const rows: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const row = JSON.stringify({ id: i, user: `user-${i % 997}`, email: `user${i % 997}@example.com`, active: i % 3 === 0, score: (i * 7919) % 10007, tags: ['alpha', 'beta', 'gamma'].slice(0, 1 + (i % 3)) });
    rows.push(row);
    n += row.length + 1;
  }
  return Buffer.from(rows.join('\n')).subarray(0, bytes);
}

function logLike(bytes: number): Buffer {
  const lines: string[] = [];
  let n = 0;
  for (let i = 0; n < bytes; i++) {
    const line = `2026-11-30T12:${String(i % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z INFO request done method=GET route=/v1/kv/:key status=200 ms=${(i * 13) % 97} node=frontend-${i % 4}`;
    lines.push(line);
    n += line.length + 1;
  }
  return Buffer.from(lines.join('\n')).subarray(0, bytes);
}

const KINDS: Array<{ name: string; make: (bytes: number) => Buffer }> = [
  { name: 'repeated text', make: (b) => Buffer.alloc(b, 'velour fog '.repeat(10)) },
  { name: 'log lines', make: logLike },
  { name: 'JSON records', make: jsonLike },
  { name: 'random bytes', make: (b) => randomBytes(b) },
];
const SIZES = [4 * 1024, 100 * 1024];

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const ver = { ms: 1, c: 0, w: 'bench' };
console.log(`compression bench: node ${process.version}, ${mb} MB per row, threshold ${COMPRESSION_DEFAULTS.compressMinBytes} bytes`);
console.log('level  kind            value    stored/plain  saved per MB  compress ms/MB  inflate ms/MB');
for (const level of levels) {
  const cfg = { compressMinBytes: COMPRESSION_DEFAULTS.compressMinBytes, compressLevel: level };
  for (const kind of KINDS) {
    for (const size of SIZES) {
      const value = kind.make(size);
      const count = Math.max(1, Math.round((mb * 1024 * 1024) / size));
      const entry: Entry = { ver, value };
      let stored: Entry = entry;
      compressEntry(entry, cfg); // warm up
      const cMs = cpuMs(() => {
        for (let i = 0; i < count; i++) stored = compressEntry(entry, cfg);
      });
      let iMs = 0;
      if (stored.z !== undefined) {
        iMs = cpuMs(() => {
          for (let i = 0; i < count; i++) plainEntry(stored);
        });
        if (!plainEntry(stored).value!.equals(value)) throw new Error('round trip changed the value');
      }
      const ratio = stored.value!.length / size;
      const perMb = (ms: number) => (ms / ((count * size) / (1024 * 1024))).toFixed(2);
      console.log(
        `${String(level).padEnd(6)} ${kind.name.padEnd(15)} ${`${size / 1024} KiB`.padEnd(8)} ${ratio.toFixed(3).padStart(12)}  ${`${((1 - ratio) * 1024).toFixed(0)} KiB`.padStart(12)}  ${perMb(cMs).padStart(14)}  ${stored.z === undefined ? '(kept plain)'.padStart(13) : perMb(iMs).padStart(13)}`,
      );
    }
  }
}
