import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, commandWorks, itWhenInstalled, run, yamlDocs } from './deploy-files';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface PromConfig {
  rule_files?: string[];
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
}

const promtool = commandWorks('promtool', ['--version']);
const itPromtool = itWhenInstalled('promtool', promtool, 'Debian package prometheus');
const rules = (yamlDocs('deploy/prometheus/alerts.yml')[0] as RuleFile).groups.flatMap((g) => g.rules);
const targetsOf = (file: string) =>
  Object.fromEntries((yamlDocs(file)[0] as PromConfig).scrape_configs.map((s) => [s.job_name, s.static_configs.flatMap((c) => c.targets)]));

describe('alert rules', () => {
  it('cover what an operator must hear about', () => {
    const names = rules.map((r) => r.alert);
    for (const required of [
      'FogTargetDown', 'FogStorageNodeDown', 'FogStorageNodeOut', 'FogPartitionsUnderReplicated', 'FogPartitionsUnavailable',
      'FogDiskNotWritable', 'FogQuorumFailures', 'FogMovesStuck', 'FogReplicasFoundDifferent',
    ]) expect(names).toContain(required);
    expect(new Set(names).size).toBe(names.length);
  });

  it('each say how bad (severity) and what to do (summary, description)', () => {
    for (const r of rules) {
      expect({ alert: r.alert, severity: ['info', 'warning', 'critical'].includes(r.labels?.severity ?? '') }).toEqual({ alert: r.alert, severity: true });
      expect({ alert: r.alert, summary: Boolean(r.annotations?.summary), description: Boolean(r.annotations?.description) }).toEqual({ alert: r.alert, summary: true, description: true });
    }
  });

  itPromtool('pass promtool check rules', () => {
    const r = run('promtool', ['check', 'rules', 'deploy/prometheus/alerts.yml']);
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(r.status).toBe(0);
  });

  itPromtool('fire on the series of their scenarios and stay quiet on a healthy cluster (promtool test rules)', () => {
    const r = run('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml']);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  itPromtool('are really checked: promtool test rules fails when an expected alert is wrong', () => {
    // A copy of the tests expecting a different value must fail, or the SUCCESS above proves nothing.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fog-alerts-'));
    try {
      fs.copyFileSync(path.join(ROOT, 'deploy/prometheus/alerts.yml'), path.join(dir, 'alerts.yml'));
      const tests = fs.readFileSync(path.join(ROOT, 'deploy/prometheus/alerts.test.yml'), 'utf8').replace("summary: '3 partition(s) without", "summary: '4 partition(s) without");
      fs.writeFileSync(path.join(dir, 'alerts.test.yml'), tests);
      const r = run('promtool', ['test', 'rules', 'alerts.test.yml'], dir);
      expect(r.status).not.toBe(0);
      expect(r.output).toContain('FogPartitionsUnavailable');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Prometheus configurations', () => {
  it('scrape the local stack of ./runlocal.sh at its default ports', () => {
    expect(targetsOf('deploy/prometheus/prometheus.yml')).toEqual({
      'fog-controller': ['127.0.0.1:7000'],
      'fog-storage': ['127.0.0.1:7101', '127.0.0.1:7102', '127.0.0.1:7103', '127.0.0.1:7104'],
      'fog-frontend': ['127.0.0.1:8001', '127.0.0.1:8002'],
    });
  });

  it('load the alert rules', () => {
    for (const file of ['deploy/prometheus/prometheus.yml', 'deploy/prometheus/prometheus-compose.yml']) {
      expect((yamlDocs(file)[0] as PromConfig).rule_files).toEqual(['alerts.yml']);
    }
  });

  itPromtool.each(['prometheus.yml', 'prometheus-compose.yml'])('%s passes promtool check config', (file) => {
    const r = run('promtool', ['check', 'config', `deploy/prometheus/${file}`]);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
