import type { Entry } from '@fog/lww';
import { FogError } from '@fog/protocol';
import { encodeValue, formatBatchResults, parseBatchRequest } from './batch-request';
import { appendIf, checkPrecondition, parsePreconditions, replaceIf } from './preconditions';

const LIMITS = { batchItemsMax: 3, keyBytesMax: 8, valueBytesMax: 4 };
const entry = (ms: number, value: string | null): Entry => ({ ver: { ms, c: 0, w: 'fe1' }, value: value === null ? null : Buffer.from(value) });
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as FogError).code;
  }
  return undefined;
};

describe('parsePreconditions', () => {
  it.each<[string | undefined, string | undefined, unknown]>([
    [undefined, undefined, { kind: 'none' }],
    ['*', undefined, { kind: 'exists' }],
    [undefined, '*', { kind: 'absent' }],
    ['"5.0.fe1"', undefined, { kind: 'match', versions: [{ ms: 5, c: 0, w: 'fe1' }] }],
    ['W/"5.0.fe1", 6.1.fe2', undefined, { kind: 'match', versions: [{ ms: 5, c: 0, w: 'fe1' }, { ms: 6, c: 1, w: 'fe2' }] }],
  ])('If-Match %j If-None-Match %j', (m, n, want) => expect(parsePreconditions(m, n)).toEqual(want));

  it.each<[string | undefined, string | undefined]>([
    ['"nonsense"', undefined],
    ['', undefined],
    [undefined, '"5.0.fe1"'],
    ['*', '*'],
  ])('refuses If-Match %j If-None-Match %j', (m, n) => expect(codeOf(() => parsePreconditions(m, n))).toBe('FOG_ERR_BAD_REQUEST'));
});

describe('checkPrecondition', () => {
  const v5 = { kind: 'match' as const, versions: [{ ms: 5, c: 0, w: 'fe1' }] };
  it.each<[string, Parameters<typeof checkPrecondition>[0], Entry | null, boolean]>([
    ['match holds', v5, entry(5, 'x'), true],
    ['match fails on another version', v5, entry(6, 'x'), false],
    ['match fails on a deleted key with that version', v5, entry(5, null), false],
    ['match fails on a missing key', v5, null, false],
    ['exists holds', { kind: 'exists' }, entry(1, ''), true],
    ['exists fails on a tombstone', { kind: 'exists' }, entry(1, null), false],
    ['absent holds on a missing key', { kind: 'absent' }, null, true],
    ['absent holds on a tombstone', { kind: 'absent' }, entry(1, null), true],
    ['absent fails on a value', { kind: 'absent' }, entry(1, 'x'), false],
  ])('%s', (_name, pre, current, ok) => {
    expect(codeOf(() => checkPrecondition(pre, current))).toBe(ok ? undefined : 'FOG_ERR_VERSION_CONFLICT');
  });

  it('reports the current version in a conflict', () => {
    let err: FogError | undefined;
    try {
      checkPrecondition({ kind: 'absent' }, entry(7, 'x'));
    } catch (e) {
      err = e as FogError;
    }
    expect(err?.details).toEqual({ current: '7.0.fe1' });
  });
});

describe('decisions', () => {
  it('appends to the value, to nothing for a missing or deleted key, within the value limit', () => {
    expect(appendIf({ kind: 'none' }, Buffer.from('cd'), 4)(entry(1, 'ab'))?.toString()).toBe('abcd');
    expect(appendIf({ kind: 'none' }, Buffer.from('cd'), 4)(null)?.toString()).toBe('cd');
    expect(appendIf({ kind: 'none' }, Buffer.from('cd'), 4)(entry(1, null))?.toString()).toBe('cd');
    expect(codeOf(() => appendIf({ kind: 'none' }, Buffer.from('cde'), 4)(entry(1, 'ab')))).toBe('FOG_ERR_VALUE_TOO_LARGE');
  });
  it('replaces or deletes only when the precondition holds', () => {
    expect(replaceIf({ kind: 'absent' }, Buffer.from('v'))(null)?.toString()).toBe('v');
    expect(replaceIf({ kind: 'exists' }, null)(entry(1, 'x'))).toBeNull();
    expect(codeOf(() => replaceIf({ kind: 'exists' }, null)(null))).toBe('FOG_ERR_VERSION_CONFLICT');
  });
});

describe('parseBatchRequest', () => {
  it('carries a put\'s ttl and refuses a bad one with FOG_ERR_BAD_TTL naming the op', () => {
    const limits = { batchItemsMax: 10, keyBytesMax: 100, valueBytesMax: 100 };
    expect(parseBatchRequest({ ops: [{ op: 'put', key: 'k', value: 'v', ttl: '30s' }] }, limits).ops).toEqual([{ op: 'put', key: 'k', value: Buffer.from('v'), ttlMs: 30_000 }]);
    for (const ttl of ['soon', 5, '1ms']) {
      let err: FogError | undefined;
      try {
        parseBatchRequest({ ops: [{ op: 'get', key: 'a' }, { op: 'put', key: 'k', value: 'v', ttl }] }, limits);
      } catch (e) {
        err = e as FogError;
      }
      expect(err?.code).toBe('FOG_ERR_BAD_TTL');
      expect(err?.message).toMatch(/^ops\[1\]: /);
    }
  });

  it('reads gets, puts (UTF-8 or base64) and deletes', () => {
    const { ops, base64 } = parseBatchRequest({ ops: [
      { op: 'put', key: 'a', value: 'hé' },
      { op: 'put', key: 'b', value: Buffer.from([0, 255]).toString('base64'), encoding: 'base64' },
      { op: 'get', key: 'a', encoding: 'base64' },
    ] }, { ...LIMITS, valueBytesMax: 10 });
    expect(ops).toEqual([
      { op: 'put', key: 'a', value: Buffer.from('hé') },
      { op: 'put', key: 'b', value: Buffer.from([0, 255]) },
      { op: 'get', key: 'a' },
    ]);
    expect(base64).toEqual([false, false, true]);
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'x', 'FOG_ERR_BAD_REQUEST'],
    ['no ops array', { ops: 1 }, 'FOG_ERR_BAD_REQUEST'],
    ['too many ops', { ops: [1, 2, 3, 4].map((i) => ({ op: 'get', key: `k${i}` })) }, 'FOG_ERR_BATCH_TOO_LARGE'],
    ['unknown op', { ops: [{ op: 'frob', key: 'k' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['missing key', { ops: [{ op: 'get' }] }, 'FOG_ERR_KEY_MISSING'],
    ['key over the limit', { ops: [{ op: 'get', key: '123456789' }] }, 'FOG_ERR_KEY_TOO_LONG'],
    ['key with a control character', { ops: [{ op: 'get', key: 'a\nb' }] }, 'FOG_ERR_KEY_INVALID'],
    ['put without a value', { ops: [{ op: 'put', key: 'k' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['bad base64', { ops: [{ op: 'put', key: 'k', value: 'a$==', encoding: 'base64' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['bad encoding', { ops: [{ op: 'put', key: 'k', value: 'a', encoding: 'hex' }] }, 'FOG_ERR_BAD_REQUEST'],
    ['an unknown field (a put with ifNoneMatch)', { ops: [{ op: 'put', key: 'k', value: 'v', ifNoneMatch: '*' }] }, 'FOG_ERR_UNKNOWN_FIELD'],
    ['an unknown field on a get', { ops: [{ op: 'get', key: 'k', ttl: '3s' }] }, 'FOG_ERR_UNKNOWN_FIELD'],
    ['an op that is an array', { ops: [['get', 'k']] }, 'FOG_ERR_BAD_REQUEST'],
    ['value over the limit', { ops: [{ op: 'get', key: 'ok' }, { op: 'put', key: 'k', value: '12345' }] }, 'FOG_ERR_VALUE_TOO_LARGE'],
  ])('refuses the whole batch for %s', (_name, body, code) => {
    expect(codeOf(() => parseBatchRequest(body, LIMITS))).toBe(code);
  });

  it('names the index of the bad op', () => {
    let err: FogError | undefined;
    try {
      parseBatchRequest({ ops: [{ op: 'get', key: 'ok' }, { op: 'put', key: 'k', value: '12345' }] }, LIMITS);
    } catch (e) {
      err = e as FogError;
    }
    expect(err?.details).toMatchObject({ index: 1 });
    expect(err?.message).toMatch(/^ops\[1\]/);
  });

  it('names the unknown fields and the op that carries them', () => {
    let err: FogError | undefined;
    try {
      parseBatchRequest({ ops: [{ op: 'get', key: 'ok' }, { op: 'put', key: 'k', value: 'v', ifNoneMatch: '*' }] }, LIMITS);
    } catch (e) {
      err = e as FogError;
    }
    expect(err?.details).toEqual({ index: 1, fields: ['ifNoneMatch'] });
    expect(err?.message).toContain('"ifNoneMatch"');
  });
});

describe('batch results', () => {
  it('encodes text as UTF-8 and anything else as base64', () => {
    expect(encodeValue(Buffer.from('héllo'), false)).toEqual({ value: 'héllo', encoding: 'utf8' });
    expect(encodeValue(Buffer.from([0xff, 0xfe]), false)).toEqual({ value: '//4=', encoding: 'base64' });
    expect(encodeValue(Buffer.from('text'), true)).toEqual({ value: 'dGV4dA==', encoding: 'base64' });
  });

  it('answers 404 for a missing or deleted key and the error of a failed op', () => {
    const items = formatBatchResults([
      { ok: true, op: 'get', key: 'a', partition: 1, entry: null },
      { ok: true, op: 'get', key: 'b', partition: 1, entry: entry(1, null) },
      { ok: true, op: 'get', key: 'c', partition: 1, entry: entry(2, 'v') },
      { ok: true, op: 'put', key: 'd', partition: 1, ver: { ms: 3, c: 1, w: 'fe1' }, acks: 2 },
      { ok: false, op: 'put', key: 'e', error: new FogError('FOG_ERR_QUORUM_NOT_MET', 'write needed 2') },
    ], [false, false, false, false, false]);
    expect(items.map((i) => i.status)).toEqual([404, 404, 200, 200, 503]);
    expect(items[2]).toEqual({ op: 'get', key: 'c', status: 200, version: '2.0.fe1', value: 'v', encoding: 'utf8' });
    expect(items[3].version).toBe('3.1.fe1');
    expect(items[4].error).toEqual({ code: 'FOG_ERR_QUORUM_NOT_MET', message: 'write needed 2' });
  });
});
