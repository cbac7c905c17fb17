import { checkExposition, sampleValue } from './prometheus-text';

// The checker guards every /metrics assertion, so it is tested on its own: a checker that
// accepts anything would make those tests unable to fail.
const VALID = [
  '# HELP fog_http_requests_total HTTP requests served, by operation and status code.',
  '# TYPE fog_http_requests_total counter',
  'fog_http_requests_total{op="set",status="200",app="frontend"} 3',
  'fog_http_requests_total{op="get",status="404",app="frontend"} 1',
  '',
  '# HELP fog_frontend_table_epoch Epoch of the table.',
  '# TYPE fog_frontend_table_epoch gauge',
  'fog_frontend_table_epoch{app="frontend"} 1',
  '# HELP fog_http_request_duration_seconds Time to answer.',
  '# TYPE fog_http_request_duration_seconds histogram',
  'fog_http_request_duration_seconds_bucket{le="0.1",op="set",app="frontend"} 2',
  'fog_http_request_duration_seconds_bucket{le="1",op="set",app="frontend"} 3',
  'fog_http_request_duration_seconds_bucket{le="+Inf",op="set",app="frontend"} 3',
  'fog_http_request_duration_seconds_sum{op="set",app="frontend"} 0.25',
  'fog_http_request_duration_seconds_count{op="set",app="frontend"} 3',
  '# HELP fog_process_heap_bytes Heap with "quotes" and a \\\\ backslash.',
  '# TYPE fog_process_heap_bytes gauge',
  'fog_process_heap_bytes{app="frontend",note="a \\"quoted\\" \\\\ value\\n"} 1.5e+7 1700000000000',
  '# a plain comment',
  'fog_process_heap_bytes{app="other"} NaN',
  '',
].join('\n');

describe('Prometheus text checker', () => {
  it('accepts a valid exposition and reads values by labels', () => {
    const r = checkExposition(VALID, { requiredPrefix: 'fog_' });
    expect(r.errors).toEqual([]);
    expect(sampleValue(r.samples, 'fog_http_requests_total', { op: 'set', status: '200' })).toBe(3);
    expect(sampleValue(r.samples, 'fog_http_requests_total')).toBe(4);
    expect(sampleValue(r.samples, 'fog_http_requests_total', { op: 'put' })).toBeUndefined();
    expect(r.samples.find((s) => s.labels.note)?.labels.note).toBe('a "quoted" \\ value\n');
    expect(r.families.get('fog_http_request_duration_seconds')?.samples).toHaveLength(5);
  });

  const mutations: Array<[string, (t: string) => string, RegExp]> = [
    ['no trailing newline', (t) => t.trimEnd(), /line feed/],
    ['a value that is not a float', (t) => t.replace('"200",app="frontend"} 3', '"200",app="frontend"} three'), /invalid value/],
    ['a bad metric name', (t) => t.replace('fog_frontend_table_epoch{', '9fog_frontend_table_epoch{'), /not a sample line/],
    ['a bad label name', (t) => t.replace('{op="get"', '{o-p="get"'), /invalid label name|malformed labels/],
    ['an unterminated label value', (t) => t.replace('status="404"', 'status="404'), /malformed labels/],
    ['a bad escape in a label value', (t) => t.replace('\\"quoted\\"', '\\quoted'), /malformed labels/],
    ['a missing HELP', (t) => t.replace(/# HELP fog_frontend_table_epoch.*\n/, ''), /fog_frontend_table_epoch has samples but no HELP/],
    ['a missing TYPE', (t) => t.replace('# TYPE fog_frontend_table_epoch gauge\n', ''), /no TYPE/],
    ['a TYPE after the samples', (t) => t.replace('# TYPE fog_frontend_table_epoch gauge\nfog_frontend_table_epoch{app="frontend"} 1', 'fog_frontend_table_epoch{app="frontend"} 1\n# TYPE fog_frontend_table_epoch gauge'), /no TYPE line before|after its samples/],
    ['an unknown TYPE', (t) => t.replace('fog_frontend_table_epoch gauge', 'fog_frontend_table_epoch meter'), /unknown TYPE/],
    ['a counter without _total', (t) => t.replaceAll('fog_http_requests_total', 'fog_http_requests'), /does not end with _total/],
    ['a negative counter', (t) => t.replace('"404",app="frontend"} 1', '"404",app="frontend"} -1'), /counter .* has value -1/],
    ['a name without the fog_ prefix', (t) => t.replaceAll('fog_frontend_table_epoch', 'frontend_table_epoch'), /does not start with fog_/],
    ['a duplicate series', (t) => t.replace('fog_frontend_table_epoch{app="frontend"} 1', 'fog_frontend_table_epoch{app="frontend"} 1\nfog_frontend_table_epoch{app="frontend"} 2'), /duplicate series/],
    ['a family split in two groups', (t) => `${t}fog_http_requests_total{op="late"} 1\n`, /not grouped/],
    ['a histogram without +Inf', (t) => t.replace(/.*le="\+Inf".*\n/, ''), /no le="\+Inf"/],
    ['non-cumulative buckets', (t) => t.replace('{le="1",op="set",app="frontend"} 3', '{le="1",op="set",app="frontend"} 1'), /not cumulative/],
    ['_count differing from +Inf', (t) => t.replace('_count{op="set",app="frontend"} 3', '_count{op="set",app="frontend"} 4'), /differs from \+Inf/],
    ['a bad timestamp', (t) => t.replace('1.5e+7 1700000000000', '1.5e+7 soon'), /invalid timestamp/],
    ['a duplicate label', (t) => t.replace('{app="other"}', '{app="other",app="x"}'), /duplicate label/],
    ['a bad escape in HELP', (t) => t.replace('a \\\\ backslash', 'a \\x backslash'), /invalid escape in HELP/],
    ['a second HELP', (t) => t.replace('# TYPE fog_frontend_table_epoch gauge', '# HELP fog_frontend_table_epoch again\n# TYPE fog_frontend_table_epoch gauge'), /second HELP/],
  ];

  it.each(mutations)('rejects %s', (_what, mutate, expected) => {
    const text = mutate(VALID);
    expect(text).not.toBe(VALID);
    const r = checkExposition(text, { requiredPrefix: 'fog_' });
    expect(r.errors.join('\n')).toMatch(expected);
  });
});
