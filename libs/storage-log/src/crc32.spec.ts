import { crc32 } from './crc32';

describe('crc32', () => {
  it.each<[string, string, number]>([
    ['the standard check value', '123456789', 0xcbf43926],
    ['the empty input', '', 0x00000000],
    ['one byte', 'a', 0xe8b7be43],
    ['a sentence', 'The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('matches the known vector for %s', (_name, text, want) => {
    expect(crc32(Buffer.from(text, 'latin1'))).toBe(want);
  });

  it('continues over pieces as over the whole', () => {
    const all = Buffer.from('123456789');
    expect(crc32(all.subarray(4), crc32(all.subarray(0, 4)))).toBe(0xcbf43926);
  });

  it('checksums a sub-range without copying', () => {
    const buf = Buffer.from('xx123456789yy');
    expect(crc32(buf, 0, 2, 11)).toBe(0xcbf43926);
  });

  it('sees a single flipped bit', () => {
    const a = Buffer.from('123456789');
    const b = Buffer.from(a);
    b[4] ^= 0x10;
    expect(crc32(b)).not.toBe(crc32(a));
  });
});

/** The table-driven CRC the log format used before node:zlib had one: the reference here. */
function tableCrc32(bytes: Uint8Array, seed = 0): number {
  let c = (seed ^ 0xffffffff) >>> 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32 against the table-driven reference', () => {
  it('agrees on lengths from 0 to 5000 and with seeds', () => {
    const buf = Buffer.alloc(5000);
    for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919 + 13) & 0xff;
    for (const n of [0, 1, 2, 3, 15, 16, 17, 255, 256, 1023, 4096, 5000]) {
      expect(crc32(buf.subarray(0, n))).toBe(tableCrc32(buf.subarray(0, n)));
      expect(crc32(buf.subarray(0, n), 0xdeadbeef)).toBe(tableCrc32(buf.subarray(0, n), 0xdeadbeef));
    }
  });

  it('keeps the seed over zero-length input, whatever its backing store', () => {
    for (const empty of [Buffer.alloc(0), new Uint8Array(0), Buffer.from('abc').subarray(1, 1)]) {
      expect(crc32(empty, 0x12345678)).toBe(0x12345678);
    }
    expect(crc32(Buffer.from('abc'), 0x12345678, 2, 2)).toBe(0x12345678);
  });
});
