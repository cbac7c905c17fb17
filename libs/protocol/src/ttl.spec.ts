import { isExpiry, parseTtl, TTL_LIMITS } from './ttl';

describe('parseTtl', () => {
  it.each([
    ['30s', 30_000],
    ['30', 30_000],
    ['1500ms', 1500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    [' 10s ', 10_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseTtl(text)).toEqual({ ok: true, ttlMs: ms });
  });

  it.each(['', 's', '-5s', '1.5s', '10 s', '10y', '999ms', '0', `${TTL_LIMITS.ttlMsMax + 1}ms`, '366d', '99999999999999d'])('refuses %p', (text) => {
    const r = parseTtl(text);
    expect(r.ok).toBe(false);
  });

  it('accepts both bounds exactly', () => {
    expect(parseTtl(`${TTL_LIMITS.ttlMsMin}ms`)).toEqual({ ok: true, ttlMs: TTL_LIMITS.ttlMsMin });
    expect(parseTtl('365d')).toEqual({ ok: true, ttlMs: TTL_LIMITS.ttlMsMax });
  });
});

describe('isExpiry', () => {
  it.each([[undefined, true], [1, true], [1_700_000_000_000, true], [0, false], [-1, false], [1.5, false], ['5', false], [null, false]])('%p → %p', (x, ok) => {
    expect(isExpiry(x)).toBe(ok);
  });
});
