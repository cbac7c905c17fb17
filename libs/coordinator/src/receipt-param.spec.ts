import { FogError } from '@fog/protocol';
import { afterParam } from './receipt-param';

describe('afterParam', () => {
  it('reads a version from the header or the query, quoted as an ETag or not', () => {
    expect(afterParam(undefined, undefined)).toBeNull();
    expect(afterParam('1700000000000.3.fe-1', undefined)).toEqual({ ms: 1_700_000_000_000, c: 3, w: 'fe-1' });
    expect(afterParam(undefined, '"5.0.fe"')).toEqual({ ms: 5, c: 0, w: 'fe' });
  });

  it.each<[unknown, unknown]>([
    ['1.0.a', '1.0.a'],
    ['yesterday', undefined],
    [undefined, ['1.0.a', '2.0.a']],
    ['1.0.', undefined],
  ])('refuses header %p with query %p', (header, query) => {
    expect(() => afterParam(header, query)).toThrow(FogError);
  });
});
