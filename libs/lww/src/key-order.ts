/**
 * Key order over UTF-8 bytes that matches JavaScript string order (UTF-16 code units), the
 * order every listing, page and cross-partition scan merge uses.
 *
 * UTF-8 byte order is code point order. UTF-16 code unit order agrees with it except that code
 * points U+E000..U+FFFF (3-byte sequences led by 0xEE or 0xEF) sort after the supplementary
 * planes (surrogate pairs, 0xD800..: 4-byte sequences led by 0xF0..0xF4). Two well-formed
 * strings with equal bytes up to the first difference are at the same character boundary
 * there, so when the differing bytes are such a pair of lead bytes the answer flips; in every
 * other case byte order is the answer.
 */
export function compareKeyBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLen = aEnd - aStart;
  const bLen = bEnd - bStart;
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i];
    const y = b[bStart + i];
    if (x !== y) {
      if (x >= 0xee && y >= 0xee && x < 0xf8 && y < 0xf8 && (x >= 0xf0) !== (y >= 0xf0)) return x >= 0xf0 ? -1 : 1;
      return x < y ? -1 : 1;
    }
  }
  return aLen - bLen;
}
