import { familyOf, metricNamesIn } from './promql-names';

describe('metric names in PromQL', () => {
  it.each([
    ['up{job=~"fog-.*"} == 0', ['up']],
    ['sum by (state) (fog_controller_nodes{role="storage"})', ['fog_controller_nodes']],
    ['histogram_quantile(0.99, sum by (le, op) (rate(fog_http_request_duration_seconds_bucket{app="frontend"}[$__rate_interval])))', ['fog_http_request_duration_seconds_bucket']],
    ['fog_controller_moves_pending > 0\n  and changes(fog_controller_moves_pending[15m]) == 0\n  and changes(fog_controller_handoff_copied_keys[15m]) == 0', ['fog_controller_handoff_copied_keys', 'fog_controller_moves_pending']],
    ['count(count by (version) (fog_build_info)) > 1', ['fog_build_info']],
    ['max(fog_storage_memory_limit_bytes) > 0 or vector(1e3)', ['fog_storage_memory_limit_bytes']],
    ["sum(rate(fog_x_total{a='b{c}'}[5m])) / on (instance) group_left (zone) fog_y", ['fog_x_total', 'fog_y']],
  ])('%s names %j', (expr, names) => {
    expect(metricNamesIn(expr)).toEqual(names);
  });

  it('maps histogram series to their family', () => {
    const families = new Set(['fog_http_request_duration_seconds', 'fog_storage_keys']);
    expect(familyOf('fog_http_request_duration_seconds_bucket', families)).toBe('fog_http_request_duration_seconds');
    expect(familyOf('fog_storage_keys', families)).toBe('fog_storage_keys');
    expect(familyOf('fog_storage_keys_count', families)).toBe('fog_storage_keys');
    expect(familyOf('fog_missing', families)).toBeNull();
  });
});
