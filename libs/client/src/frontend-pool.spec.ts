import { FrontendPool } from './frontend-pool';

describe('FrontendPool.add', () => {
  it('adds discovered frontends once, keeps the configured ones, and rotates over all', () => {
    const pool = new FrontendPool(['a'], 1000);
    expect(pool.add(['a', 'b', 'c'])).toEqual(['b', 'c']);
    expect(pool.add(['b'])).toEqual([]);
    expect(pool.frontends).toEqual(['a', 'b', 'c']);
    expect([pool.order(0)[0], pool.order(0)[0], pool.order(0)[0], pool.order(0)[0]]).toEqual(['a', 'b', 'c', 'a']);
  });
});
