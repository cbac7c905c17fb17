import { createHash } from 'node:crypto';
import { sha1, sha1Prefix } from './sha1';
import { mulberry32, randomInt } from './testing/seeded-random';

function expectedPrefix(text: string): [number, number] {
  const digest = createHash('sha1').update(text, 'utf8').digest();
  return [digest.readUInt32BE(0), digest.readUInt32BE(4)];
}

describe('sha1Prefix', () => {
  it.each([
    ['', 0xda39a3ee, 0x5e6b4b0d],
    ['abc', 0xa9993e36, 0x4706816a],
    ['héllo', 0x35b5ea45, 0xc5e41f78],
  ])('%j', (text, first, second) => {
    expect(sha1Prefix(text)).toEqual([first, second]);
  });

  it('agrees with node:crypto across block boundaries and non-ASCII text', () => {
    // 55/56 and 119/120 bytes are where the padding spills into another block.
    const lengths = [1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 121, 300, 1000];
    for (const length of lengths) {
      const text = 'x'.repeat(length);
      expect(sha1Prefix(text)).toEqual(expectedPrefix(text));
    }
    const rng = mulberry32(42);
    for (let i = 0; i < 300; i++) {
      const text = Array.from({ length: randomInt(rng, 0, 80) }, () => String.fromCodePoint(randomInt(rng, 32, 0x2fff))).join('');
      expect(sha1Prefix(text)).toEqual(expectedPrefix(text));
    }
  });
});

describe('sha1', () => {
  it('hashes strings as UTF-8 and bytes as they are', () => {
    expect(sha1('abc').toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(sha1(new Uint8Array([0x61, 0x62, 0x63])).toString('hex')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });
});
