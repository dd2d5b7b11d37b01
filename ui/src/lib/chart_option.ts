// ECharts options for a query result and a chart type: line, bar (grouped/stacked), area, pie,
// funnel and the retention heatmap. Axis labels and tooltips use the metrics' formats.

import type { QueryResult } from '../api/types';
import { formatValue } from './format';
import { pivot, rowsAsArrays, toNumber, type Pivot } from './rows';
import type { ChartType } from './suggest';

export type Option = Record<string, unknown>;

const kPalette = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00acc1', '#6d4c41', '#3949ab', '#c0ca33', '#d81b60'];

function valueFormatter(format: string) {
  return (v: unknown) => formatValue(v, format);
}

export function cartesianOption(p: Pivot, type: 'line' | 'bar' | 'bar_stacked' | 'area'): Option {
  const formats = [...new Set(p.series.map((s) => s.format))];
  const format = formats.length === 1 ? (formats[0] ?? 'number') : 'number';
  return {
    color: kPalette,
    tooltip: { trigger: 'axis', valueFormatter: valueFormatter(format) },
    legend: { type: 'scroll', top: 0 },
    grid: { left: 70, right: 24, top: 36, bottom: 40 },
    xAxis: { type: 'category', data: p.categories, axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', axisLabel: { formatter: valueFormatter(format) } },
    series: p.series.map((s) => ({
      name: s.name,
      type: type === 'area' ? 'line' : type === 'bar_stacked' ? 'bar' : type,
      data: s.data,
      ...(type === 'bar_stacked' || type === 'area' ? { stack: 'total' } : {}),
      ...(type === 'area' ? { areaStyle: {} } : {}),
      ...(type === 'line' || type === 'area' ? { showSymbol: p.categories.length <= 40 } : {}),
      // A comparison period's series: dashed and lighter, beside the current one.
      ...(/_compare$/.test(s.metric) ? { lineStyle: { type: 'dashed' }, itemStyle: { opacity: 0.55 }, areaStyle: undefined, stack: undefined } : {}),
      emphasis: { focus: 'series' },
    })),
  };
}

export function pieOption(p: Pivot): Option {
  const s = p.series[0];
  const format = s?.format ?? 'number';
  return {
    color: kPalette,
    tooltip: { trigger: 'item', valueFormatter: valueFormatter(format) },
    legend: { type: 'scroll', orient: 'vertical', left: 0 },
    series: [
      {
        name: s?.name ?? '',
        type: 'pie',
        radius: ['35%', '70%'],
        data: p.categories.map((c, i) => ({ name: c, value: s?.data[i] ?? null })),
      },
    ],
  };
}

// Funnel answers: one row per step with "event" (or "step") and "users".
export function funnelOption(r: Pick<QueryResult, 'columns' | 'rows'>): Option {
  const rows = rowsAsArrays(r);
  const col = (n: string) => r.columns.findIndex((c) => c.name === n);
  const ev = col('event') >= 0 ? col('event') : col('step');
  const users = col('users');
  const conv = col('conversion');
  const breakdown = r.columns.findIndex((c) => c.kind === 'dimension' && c.name !== 'step' && c.name !== 'event');
  const data: { name: string; value: number }[] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const name = `${row[col('step')] ?? ''}. ${String(row[ev] ?? '')}`;
    // With a breakdown, the funnel shows the totals over every breakdown value.
    const v = toNumber(row[users]) ?? 0;
    if (breakdown >= 0 && seen.has(name)) {
      const at = seen.get(name) ?? 0;
      const d = data[at];
      if (d) d.value += v;
    } else {
      seen.set(name, data.length);
      data.push({ name, value: v });
    }
  }
  const first = data[0]?.value ?? 0;
  return {
    color: kPalette,
    tooltip: {
      trigger: 'item',
      formatter: (x: { name: string; value: number }) =>
        `${x.name}: ${formatValue(x.value)} users (${first ? formatValue(x.value / first, 'percent') : '–'})`,
    },
    series: [
      {
        type: 'funnel',
        sort: 'none',
        left: '10%',
        width: '80%',
        label: { show: true, position: 'inside', formatter: '{b}: {c}' },
        data,
      },
    ],
    ...(conv >= 0 ? {} : {}),
  };
}

// Retention answers: rows (cohort, cohort_size, period, users, rate) → a cohort × period heatmap.
export function retentionOption(r: Pick<QueryResult, 'columns' | 'rows'>): Option {
  const rows = rowsAsArrays(r);
  const col = (n: string) => r.columns.findIndex((c) => c.name === n);
  const [ci, pi, ri] = [col('cohort'), col('period'), col('rate')];
  const cohorts = [...new Set(rows.map((x) => String(x[ci])))];
  const periods = [...new Set(rows.map((x) => Number(x[pi])))].sort((a, b) => a - b);
  const data = rows.map((x) => [periods.indexOf(Number(x[pi])), cohorts.indexOf(String(x[ci])), toNumber(x[ri])]);
  return {
    tooltip: {
      position: 'top',
      formatter: (p: { value: [number, number, number] }) =>
        `${cohorts[p.value[1]]}, period ${periods[p.value[0]]}: ${formatValue(p.value[2], 'percent')}`,
    },
    grid: { left: 110, right: 20, top: 10, bottom: 60 },
    xAxis: { type: 'category', data: periods.map(String), name: 'period', nameLocation: 'middle', nameGap: 28 },
    yAxis: { type: 'category', data: cohorts, inverse: true },
    visualMap: { min: 0, max: 1, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#e3f2fd', '#1565c0'] } },
    series: [
      {
        type: 'heatmap',
        data,
        label: { show: cohorts.length <= 20 && periods.length <= 15, formatter: (p: { value: [number, number, number] }) => formatValue(p.value[2], 'percent') },
      },
    ],
  };
}

export function chartOption(
  type: ChartType,
  r: Pick<QueryResult, 'columns' | 'rows'>,
  dimensions: string[],
  metrics: string[],
  grain: string,
): Option | null {
  switch (type) {
    case 'funnel':
      return funnelOption(r);
    case 'retention':
      return retentionOption(r);
    case 'pie':
      return pieOption(pivot(r, dimensions, metrics, grain));
    case 'line':
    case 'bar':
    case 'bar_stacked':
    case 'area':
      return cartesianOption(pivot(r, dimensions, metrics, grain), type);
    default:
      return null;
  }
}
