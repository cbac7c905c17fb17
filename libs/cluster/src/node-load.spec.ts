import { NodeLoadTracker, validateLoad } from './node-load';

describe('node load', () => {
  it('turns request counts of successive heartbeats into requests per second', () => {
    const t = new NodeLoadTracker();
    t.report('s1', { keys: 10, bytes: 1000, requestsTotal: 100 }, 1000);
    expect(t.view('s1')).toEqual({ keys: 10, bytes: 1000, requestsPerSec: null });
    t.report('s1', { keys: 12, bytes: 1200, requestsTotal: 600 }, 3000);
    expect(t.view('s1')).toEqual({ keys: 12, bytes: 1200, requestsPerSec: 250 });
    // The count went down: the node restarted; the rate is unknown until the next report.
    t.report('s1', { requestsTotal: 5 }, 4000);
    expect(t.view('s1')).toEqual({ keys: null, bytes: null, requestsPerSec: null });
    expect(t.view('nobody')).toBeUndefined();
    t.retain(new Set());
    expect(t.view('s1')).toBeUndefined();
  });

  it.each([[{ keys: -1 }], [{ bytes: 1.5 }], [{ requestsTotal: 'x' }], [[1]], ['load']])('refuses %j with a 400', (bad) => {
    expect(() => validateLoad(bad)).toThrow(expect.objectContaining({ code: 'FOG_ERR_BAD_REQUEST' }));
  });

  it('accepts no load and a partial one', () => {
    expect(validateLoad(undefined)).toBeUndefined();
    expect(validateLoad({ keys: 3 })).toEqual({ keys: 3, bytes: undefined, requestsTotal: undefined });
  });
});
