import { describe, expect, it } from 'vitest';
import { apisOf, labelsOf, metricsOf } from './catalog';

const tables = [
  {
    name: 'events',
    lineage: {
      written_by: [{ loader: 'warehouse' }, { dag: 'daily', task: 'load', owner: 'x' }],
      read_by: [{ dag: 'daily_revenue', task: 'revenue' }],
      models: [{ model: 'events', file: 'models/events.yaml:1' }],
      metrics: [
        { model: 'events', metric: 'revenue' },
        { model: 'events', metric: 'dau' },
      ],
      apis: [{ api: 'revenue_by_channel', path: '/data/v1/revenue_by_channel' }],
      charts: [{ id: '1', name: 'Revenue by channel', model: 'events', metrics: ['revenue'] }],
      dashboards: [{ id: '2', name: 'Finance' }],
    },
  },
  { name: 'users', lineage: { metrics: [{ model: 'events', metric: 'revenue' }] } },
];

describe('catalogue lineage', () => {
  it('labels each kind of lineage entry', () => {
    expect(labelsOf(tables[0]!.lineage.written_by)).toEqual(['the loader', 'daily.load']);
    expect(labelsOf(tables[0]!.lineage.metrics)).toEqual(['events.revenue', 'events.dau']);
    expect(labelsOf(tables[0]!.lineage.apis)).toEqual(['revenue_by_channel']);
    expect(labelsOf(tables[0]!.lineage.dashboards)).toEqual(['Finance']);
    expect(labelsOf(undefined)).toEqual([]);
  });
  it('answers who uses a metric, once per metric', () => {
    const m = metricsOf(tables);
    expect(m.map((x) => [x.name, (x.used_by as { name: string }[]).map((c) => c.name)])).toEqual([
      ['dau', []],
      ['revenue', ['Revenue by channel']],
    ]);
    expect(apisOf(tables)).toEqual([{ name: 'revenue_by_channel', path: '/data/v1/revenue_by_channel' }]);
  });
});
