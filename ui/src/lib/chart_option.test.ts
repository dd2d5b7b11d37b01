import { describe, expect, it } from 'vitest';
import { chartOption, retentionOption } from './chart_option';

describe('chartOption', () => {
  const r = {
    columns: [
      { name: 'time', kind: 'time' },
      { name: 'channel', kind: 'dimension' },
      { name: 'revenue', kind: 'metric', format: 'currency' },
    ],
    rows: [
      ['2026-10-01', 'ads', 10],
      ['2026-10-01', 'organic', 5],
      ['2026-10-02', 'organic', 6],
    ],
  };
  it('stacks the bars of revenue by channel per day', () => {
    const o = chartOption('bar_stacked', r, ['channel'], ['revenue'], 'day') as { series: { name: string; type: string; stack?: string; data: unknown[] }[]; xAxis: { data: string[] } };
    expect(o.xAxis.data).toEqual(['2026-10-01', '2026-10-02']);
    expect(o.series.map((s) => [s.name, s.type, s.stack, s.data])).toEqual([
      ['ads', 'bar', 'total', [10, null]],
      ['organic', 'bar', 'total', [5, 6]],
    ]);
  });
  it('groups bars without a stack, and a pie takes the first series', () => {
    const o = chartOption('bar', r, ['channel'], ['revenue'], 'day') as { series: { stack?: string }[] };
    expect(o.series.every((s) => s.stack === undefined)).toBe(true);
    const pie = chartOption('pie', { columns: r.columns.slice(1), rows: [['ads', 3], ['organic', 4]] }, ['channel'], ['revenue'], 'none') as {
      series: { data: unknown[] }[];
    };
    expect(pie.series[0]!.data).toEqual([
      { name: 'ads', value: 3 },
      { name: 'organic', value: 4 },
    ]);
  });
  it('draws a comparison dashed and unstacked beside its metric', () => {
    const c = {
      columns: [{ name: 'time', kind: 'time' }, { name: 'dau', kind: 'metric' }, { name: 'dau_compare', kind: 'compare' }, { name: 'dau_change', kind: 'change' }],
      rows: [
        ['2026-10-01', 10, 8, 0.25],
        ['2026-10-02', 12, 12, 0],
      ],
    };
    const o = chartOption('area', c, [], ['dau', 'dau_compare'], 'day') as { series: { name: string; data: unknown[]; stack?: string; lineStyle?: unknown }[] };
    expect(o.series.map((s) => [s.name, s.data, s.stack, s.lineStyle])).toEqual([
      ['dau', [10, 12], 'total', undefined],
      ['dau_compare', [8, 12], undefined, { type: 'dashed' }],
    ]);
  });
  it('tables and numbers have no chart option', () => {
    expect(chartOption('table', r, ['channel'], ['revenue'], 'day')).toBeNull();
  });
  it('funnel steps in order with their users', () => {
    const f = chartOption(
      'funnel',
      { columns: [{ name: 'step' }, { name: 'event' }, { name: 'users' }, { name: 'conversion' }], rows: [[1, 'install', 100, 1], [2, 'pay', 20, 0.2]] },
      [],
      [],
      'none',
    ) as { series: { data: unknown[] }[] };
    expect(f.series[0]!.data).toEqual([
      { name: '1. install', value: 100 },
      { name: '2. pay', value: 20 },
    ]);
  });
  it('retention is a cohort × period heatmap of rates', () => {
    const o = retentionOption({
      columns: [{ name: 'cohort' }, { name: 'cohort_size' }, { name: 'period' }, { name: 'users' }, { name: 'rate' }],
      rows: [
        ['2026-10-01', 10, 0, 10, 1],
        ['2026-10-01', 10, 1, 4, 0.4],
        ['2026-10-02', 5, 0, 5, 1],
      ],
    }) as { yAxis: { data: string[] }; xAxis: { data: string[] }; series: { data: unknown[] }[] };
    expect(o.yAxis.data).toEqual(['2026-10-01', '2026-10-02']);
    expect(o.xAxis.data).toEqual(['0', '1']);
    expect(o.series[0]!.data).toEqual([
      [0, 0, 1],
      [1, 0, 0.4],
      [0, 1, 1],
    ]);
  });
});
