import { FogError } from '@fog/protocol';
import { ttlHeader, ttlParam } from './ttl-param';

describe('ttlParam', () => {
  it('is null when absent and the ttl in ms when valid', () => {
    expect(ttlParam(undefined)).toBeNull();
    expect(ttlParam('30s')).toBe(30_000);
    expect(ttlParam('2m')).toBe(120_000);
  });

  it.each<[unknown, boolean, RegExp]>([
    [['1s', '2s'], false, /once/],
    ['soon', false, /whole number/],
    ['10ms', false, /between/],
    ['30s', true, /delete/],
  ])('refuses %p (delete %p) with FOG_ERR_BAD_TTL', (text, isDelete, message) => {
    let err: unknown;
    try {
      ttlParam(text, isDelete);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FogError);
    expect((err as FogError).code).toBe('FOG_ERR_BAD_TTL');
    expect((err as FogError).status).toBe(400);
    expect((err as FogError).message).toMatch(message);
  });
});

describe('ttlHeader', () => {
  const ver = { ms: 1000, c: 0, w: 'fe' };
  it('gives the remaining ms, never below zero, and nothing without an expiry', () => {
    expect(ttlHeader({ ver, value: Buffer.from('v'), exp: 31_000 }, 1000)).toBe('30000');
    expect(ttlHeader({ ver, value: Buffer.from('v'), exp: 31_000 }, 40_000)).toBe('0');
    expect(ttlHeader({ ver, value: Buffer.from('v') }, 1000)).toBeNull();
  });
});
