import { aggregate, formatFigures, formatRatios, ratioTable, type Measurement } from './report';

const m = (target: string, op: string, round: number, requests: number, extra: Partial<Measurement> = {}): Measurement => ({
  target, op, round, requests, elapsedS: 1, p50Us: 1000 * round, p99Us: 5000, p999Us: 9000, bad: 0, errors: 0, cpuUsPerRequest: {}, ...extra,
});

describe('aggregate', () => {
  it('takes the median of each figure over rounds and sums the failures', () => {
    const a = aggregate([
      m('fog', 'get', 1, 900, { bad: 1, cpuUsPerRequest: { frontend: 100 } }),
      m('fog', 'get', 2, 1100, { errors: 2, cpuUsPerRequest: { frontend: 300 } }),
      m('fog', 'get', 3, 1000, { cpuUsPerRequest: { frontend: 200 } }),
    ]);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ target: 'fog', op: 'get', rounds: 3, rps: 1000, p50Us: 2000, bad: 1, errors: 2, cpuUsPerRequest: { frontend: 200 } });
  });
});

describe('ratioTable', () => {
  const aggs = aggregate([
    m('fog', 'get', 1, 3000), m('fog', 'set', 1, 1000),
    m('express', 'get', 1, 2000), m('express', 'set', 1, 1000),
    m('redis', 'get', 1, 12000),
  ]);
  it('divides the subject\'s req/s by each anchor\'s, NaN where one is missing', () => {
    const rows = ratioTable(aggs, 'fog', ['get', 'set']);
    expect(rows.map((r) => r.against)).toEqual(['express', 'redis']);
    expect(rows[0].ratios).toEqual({ get: 1.5, set: 1 });
    expect(rows[1].ratios.get).toBe(0.25);
    expect(rows[1].ratios.set).toBeNaN();
  });
  it('prints ratios with a multiplication sign and a dash for missing ones', () => {
    const text = formatRatios(ratioTable(aggs, 'fog', ['get', 'set']), 'Velour Fog', ['get', 'set']);
    expect(text.split('\n')).toEqual([
      '| Velour Fog against | get | set |',
      '|---|---:|---:|',
      '| express | 1.50× | 1.00× |',
      '| redis | 0.25× | - |',
    ]);
  });
  it('prints figures in milliseconds', () => {
    const text = formatFigures(aggregate([m('fog', 'get', 1, 3000, { cpuUsPerRequest: { frontend: 81.4 } })]));
    expect(text.split('\n')[2]).toBe('| fog | get | 3000 | 1.00 | 5.00 | 9.00 | 0 | 0 | frontend 81 |');
  });
});
