import { createLogger } from './logger';
import { createHttpMetrics } from './metrics';
import { RefusalReporter } from './refusals';

describe('RefusalReporter', () => {
  it('counts every refusal and logs the first of each kind, then one line per interval with what it held back', async () => {
    const lines: string[] = [];
    const metrics = createHttpMetrics('t');
    let now = 0;
    const r = new RefusalReporter(metrics.refused, createLogger('t', 'info', (l) => lines.push(l)), 1000, () => now);
    r.refuse('ops', 'malformed', 'ops[0]: an operation is a JSON object');
    r.refuse('ops', 'malformed');
    r.refuse('ops', 'malformed');
    r.refuse('ops', 'version_ahead');
    now = 999;
    r.refuse('ops', 'malformed');
    now = 1000;
    r.refuse('ops', 'malformed');
    const logged = lines.map((l) => JSON.parse(l) as { op: string; reason: string; refusedSinceLastLine: number });
    expect(logged.map((l) => [l.reason, l.refusedSinceLastLine])).toEqual([['malformed', 0], ['version_ahead', 0], ['malformed', 3]]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('fog_internal_refused_total{op="ops",reason="malformed",app="t"} 5');
    expect(text).toContain('fog_internal_refused_total{op="ops",reason="version_ahead",app="t"} 1');
  });
});
