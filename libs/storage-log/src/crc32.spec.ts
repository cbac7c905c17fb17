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
