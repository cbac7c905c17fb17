import { checkKey } from './key';
import { quorumOf, resolveConsistency } from './consistency';
import { formatVersion, parseVersion } from './version';
import { parseAddress, partitionLabel } from './cluster';

describe('checkKey', () => {
  it.each<[unknown, string | null]>([
    ['a', null],
    ['hello world/with:punct?&=', null],
    ['héllo-日本', null],
    ['x'.repeat(1024), null],
    ['é'.repeat(512), null],
    ['x'.repeat(1025), 'FOG_ERR_KEY_TOO_LONG'],
    ['é'.repeat(513), 'FOG_ERR_KEY_TOO_LONG'],
    ['', 'FOG_ERR_KEY_MISSING'],
    [undefined, 'FOG_ERR_KEY_MISSING'],
    [42, 'FOG_ERR_KEY_MISSING'],
    ['a\u0000b', 'FOG_ERR_KEY_INVALID'],
    ['line\nbreak', 'FOG_ERR_KEY_INVALID'],
    ['del\u007f', 'FOG_ERR_KEY_INVALID'],
    ['lone\ud800surrogate', 'FOG_ERR_KEY_INVALID'],
  ])('%j → %s', (key, want) => {
    expect(checkKey(key, 1024)).toBe(want);
  });
});

describe('consistency', () => {
  it.each<[string | undefined, number, number | null]>([
    [undefined, 3, 2],
    ['', 3, 2],
    ['quorum', 3, 2],
    ['quorum', 4, 3],
    ['quorum', 1, 1],
    ['one', 3, 1],
    ['all', 3, 3],
    ['2', 3, 2],
    ['3', 3, 3],
    ['4', 3, null],
    ['0', 3, null],
    ['-1', 3, null],
    ['two', 3, null],
    ['1.5', 3, null],
  ])('%s at K=%d → %s', (text, k, want) => {
    expect(resolveConsistency(text, k)).toBe(want);
  });

  it('a read quorum and a write quorum always overlap', () => {
    for (let k = 1; k <= 7; k++) expect(quorumOf(k) * 2).toBeGreaterThan(k);
  });
});

describe('versions', () => {
  it('round-trips', () => {
    const v = { ms: 1795243311748, c: 3, w: 'frontend-127.0.0.1-8001' };
    expect(formatVersion(v)).toBe('1795243311748.3.frontend-127.0.0.1-8001');
    expect(parseVersion(formatVersion(v))).toEqual(v);
  });
  it.each(['', '1.2', 'a.b.c', '1.2.bad writer', '99999999999999999.0.w'])('rejects %j', (t) => {
    expect(parseVersion(t)).toBeNull();
  });
});

describe('addresses', () => {
  it.each<[string, { host: string; port: number } | null]>([
    ['127.0.0.1:7000', { host: '127.0.0.1', port: 7000 }],
    ['localhost:1', { host: 'localhost', port: 1 }],
    ['[::1]:8001', { host: '[::1]', port: 8001 }],
    ['127.0.0.1', null],
    ['127.0.0.1:0', null],
    ['127.0.0.1:65536', null],
    ['http://x:1', null],
  ])('%s', (text, want) => {
    expect(parseAddress(text)).toEqual(want);
  });
  it('labels partitions with D hex digits', () => {
    expect(partitionLabel(0, 2)).toBe('00');
    expect(partitionLabel(255, 2)).toBe('ff');
    expect(partitionLabel(10, 3)).toBe('00a');
  });
});
