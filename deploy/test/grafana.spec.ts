import { readText } from './deploy-files';

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource: { uid: string } }>;
}

const dashboard = JSON.parse(readText('deploy/grafana/velour-fog.json')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string }> };
};

// Which metrics each query names is checked against live /metrics by e2e/src/deploy-kit.spec.ts.
describe('Grafana dashboard', () => {
  it('is an importable dashboard with a Prometheus data source variable', () => {
    expect(dashboard.uid).toBe('velour-fog');
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
  });

  it('has unique panel ids and panels that fit the 24-column grid without overlapping', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect({ title: p.title, fits: x >= 0 && w > 0 && x + w <= 24 && h > 0 }).toEqual({ title: p.title, fits: true });
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect({ title: p.title, overlaps: cells.has(cell) }).toEqual({ title: p.title, overlaps: false });
          cells.add(cell);
        }
      }
    }
  });

  it('gives every graph at least one query on the chosen data source', () => {
    const graphs = dashboard.panels.filter((p) => p.type !== 'row');
    expect(graphs.length).toBeGreaterThanOrEqual(20);
    for (const p of graphs) {
      expect({ title: p.title, queries: (p.targets ?? []).length > 0, uid: p.datasource?.uid }).toEqual({ title: p.title, queries: true, uid: '${datasource}' });
      for (const t of p.targets ?? []) expect({ title: p.title, expr: t.expr.length > 0, uid: t.datasource.uid }).toEqual({ title: p.title, expr: true, uid: '${datasource}' });
    }
  });
});
