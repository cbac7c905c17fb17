import { parseRestoreRequest } from './restore-request';

const LIMITS = { batchItemsMax: 3, keyBytesMax: 8, valueBytesMax: 4 };
const NOW = 1_000_000;

function codeOf(body: unknown): string | undefined {
  try {
    parseRestoreRequest(body, LIMITS, NOW, 100);
  } catch (e) {
    return (e as { code: string }).code;
  }
  return undefined;
}

describe('parseRestoreRequest', () => {
  it('reads keys, versions and values (text or base64), placing bucket items by their bucket', () => {
    expect(parseRestoreRequest({ entries: [
      { key: 'a', version: '5.1.fe1', value: 'hé' },
      { key: 'b\u0001i', version: `${NOW + 100}.0.fe2`, value: 'AP8=', encoding: 'base64' },
    ] }, LIMITS, NOW, 100)).toEqual([
      { key: 'a', ver: { ms: 5, c: 1, w: 'fe1' }, value: Buffer.from('hé') },
      { key: 'b\u0001i', ver: { ms: NOW + 100, c: 0, w: 'fe2' }, value: Buffer.from([0, 255]), placeBy: 'b' },
    ]);
  });

  it('keeps an entry\'s expiry, which must follow its version', () => {
    expect(parseRestoreRequest({ entries: [{ key: 'a', version: '5.1.fe1', value: 'v', expiresAtMs: 30_005 }] }, LIMITS, NOW, 100))
      .toEqual([{ key: 'a', ver: { ms: 5, c: 1, w: 'fe1' }, value: Buffer.from('v'), exp: 30_005 }]);
    expect(codeOf({ entries: [{ key: 'a', version: '5.1.fe1', value: 'v', expiresAtMs: 5 }] })).toBe('FOG_ERR_BAD_REQUEST');
    expect(codeOf({ entries: [{ key: 'a', version: '5.1.fe1', value: 'v', expiresAtMs: '30s' }] })).toBe('FOG_ERR_BAD_REQUEST');
  });

  it.each<[string, unknown, string]>([
    ['no entries', {}, 'FOG_ERR_BAD_REQUEST'],
    ['too many entries', { entries: [1, 2, 3, 4].map(() => ({ key: 'k', version: '1.0.f', value: 'v' })) }, 'FOG_ERR_BATCH_TOO_LARGE'],
    ['an unknown field', { entries: [{ key: 'k', version: '1.0.f', value: 'v', ttl: 3 }] }, 'FOG_ERR_UNKNOWN_FIELD'],
    ['a missing version', { entries: [{ key: 'k', value: 'v' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['a malformed version', { entries: [{ key: 'k', version: 'yesterday', value: 'v' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['a version too far ahead of the clock', { entries: [{ key: 'k', version: `${NOW + 101}.0.f`, value: 'v' }] }, 'FOG_ERR_VERSION_AHEAD'],
    ['a key over the limit', { entries: [{ key: '123456789', version: '1.0.f', value: 'v' }] }, 'FOG_ERR_KEY_TOO_LONG'],
    ['a bucket item key with an empty item', { entries: [{ key: 'b\u0001', version: '1.0.f', value: 'v' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['a value over the limit', { entries: [{ key: 'k', version: '1.0.f', value: '12345' }] }, 'FOG_ERR_VALUE_TOO_LARGE'],
    ['a tombstone (no value)', { entries: [{ key: 'k', version: '1.0.f', value: null }] }, 'FOG_ERR_BAD_REQUEST'],
    ['bad base64', { entries: [{ key: 'k', version: '1.0.f', value: '$$', encoding: 'base64' }] }, 'FOG_ERR_BAD_REQUEST'],
  ])('refuses the whole request for %s', (_name, body, code) => {
    expect(codeOf(body)).toBe(code);
  });
});
