import { compareKeyBytes } from './key-order';

/** Characters from every UTF-8 length class, including the ones where byte and UTF-16 order disagree. */
const ALPHABET = ['a', 'z', '\u0001', '\u007f', '\u00e9', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uf8ff', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];

function randomKeys(n: number, seed: number): string[] {
  let x = seed;
  const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: n }, () => Array.from({ length: next() % 5 }, () => ALPHABET[next() % ALPHABET.length]).join(''));
}

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
const jsOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('compareKeyBytes', () => {
  it.each<[string, string]>([
    ['\ue000', '\u{10000}'], // BMP above the surrogates sorts after astral in UTF-16, before in UTF-8
    ['\uffff', '\u{1f600}'],
    ['a\ue000', 'a\u{10ffff}'],
    ['\ud7ff', '\u{10000}'],
    ['ab', 'abc'],
    ['', 'a'],
    ['\u00e9', 'z'],
  ])('orders %j and %j as JavaScript strings do', (a, b) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    expect(sign(compareKeyBytes(x, 0, x.length, y, 0, y.length))).toBe(jsOrder(a, b));
    expect(sign(compareKeyBytes(y, 0, y.length, x, 0, x.length))).toBe(jsOrder(b, a));
  });

  it('sorts random keys over every UTF-8 length class exactly as Array.prototype.sort does', () => {
    const keys = randomKeys(3000, 5);
    const bytes = new Map(keys.map((k) => [k, Buffer.from(k)]));
    const byBytes = [...keys].sort((a, b) => {
      const x = bytes.get(a)!;
      const y = bytes.get(b)!;
      return compareKeyBytes(x, 0, x.length, y, 0, y.length);
    });
    expect(byBytes).toEqual([...keys].sort());
  });

  it('compares ranges inside larger buffers', () => {
    const buf = Buffer.from('xx\ue000yy\u{10000}');
    const a = Buffer.byteLength('xx');
    const b = a + Buffer.byteLength('\ue000');
    const c = b + Buffer.byteLength('yy');
    expect(compareKeyBytes(buf, a, b, buf, c, buf.length)).toBeGreaterThan(0);
  });
});
