import { partitionCount } from '@fog/protocol';
import { PARTITION_DIGITS_EXACT_MAX, partitionOf, partitionOfBytes } from './partition-of';

// Digests from `printf '%s' KEY | sha1sum`.
const KNOWN: readonly { key: string; sha1: string }[] = [
  { key: '', sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
  { key: 'abc', sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d' },
  { key: 'hello', sha1: 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d' },
  { key: 'user:42', sha1: 'adf14d23d3caa1297fd8df9a6f360b9d003ef4bc' },
  { key: 'The quick brown fox jumps over the lazy dog', sha1: '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12' },
  // UTF-8: é is the two bytes c3 a9 (same digest as `printf 'h\xc3\xa9llo' | sha1sum`).
  { key: 'héllo', sha1: '35b5ea45c5e41f78b46a937cc74d41dfea920890' },
];

describe('partitionOf', () => {
  it.each([
    ['', 2, 0xda],
    ['abc', 1, 0xa],
    ['abc', 2, 0xa9],
    ['abc', 3, 0xa99],
    ['abc', 4, 0xa999],
    ['hello', 2, 0xaa],
    ['user:42', 2, 0xad],
    ['user:42', 3, 0xadf],
    ['The quick brown fox jumps over the lazy dog', 2, 0x2f],
    ['héllo', 2, 0x35],
    ['héllo', 4, 0x35b5],
  ])('partitionOf(%j, %i) = %i', (key, digits, expected) => {
    expect(partitionOf(key, digits)).toBe(expected);
  });

  it.each(KNOWN)('equals the leading hex digits of sha1($key) for every digit count', ({ key, sha1 }) => {
    for (let digits = 1; digits <= PARTITION_DIGITS_EXACT_MAX; digits++) {
      expect(partitionOf(key, digits)).toBe(parseInt(sha1.slice(0, digits), 16));
    }
  });

  it('stays within 0 .. 16^D - 1', () => {
    for (let digits = 1; digits <= 4; digits++) {
      for (let i = 0; i < 200; i++) {
        const p = partitionOf(`key-${i}`, digits);
        expect(Number.isInteger(p)).toBe(true);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(partitionCount(digits));
      }
    }
  });

  it.each([0, -1, 1.5, PARTITION_DIGITS_EXACT_MAX + 1, NaN])('rejects %p digits', (digits) => {
    expect(() => partitionOf('abc', digits)).toThrow(/digits/);
    expect(() => partitionOfBytes(new Uint8Array([1]), digits)).toThrow(/digits/);
  });
});

describe('partitionOfBytes', () => {
  it.each(KNOWN)('agrees with partitionOf for $key', ({ key }) => {
    const bytes = new TextEncoder().encode(key);
    for (const digits of [1, 2, 3, 4]) expect(partitionOfBytes(bytes, digits)).toBe(partitionOf(key, digits));
  });

  it('hashes raw bytes that are not valid UTF-8', () => {
    // `printf '\xff\xfe' | sha1sum` = d62636d8...
    expect(partitionOfBytes(new Uint8Array([0xff, 0xfe]), 4)).toBe(0xd626);
  });
});
