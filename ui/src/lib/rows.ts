// Query results as the charts and tables use them: rows as arrays in column order, and pivots
// into a category axis with series.

import type { Column, QueryResult } from '../api/types';
import { formatBucket } from './format';

export function rowsAsArrays(r: Pick<QueryResult, 'columns' | 'rows'>): unknown[][] {
  return r.rows.map((row) =>
    Array.isArray(row) ? row : r.columns.map((c) => (row as Record<string, unknown>)[c.name]),
  );
}

export function toNumber(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

// Which column holds the time bucket: the first one that is neither a requested dimension nor a
// metric nor a comparison of one. -1 when the query has no grain.
export function timeColumn(columns: Column[], dimensions: string[], metrics: string[], grain: string): number {
  if (grain === 'none') return -1;
  const byKind = columns.findIndex((c) => c.kind === 'time');
  if (byKind >= 0) return byKind;
  const isMetricLike = (n: string) =>
    metrics.some((m) => n === m || n.startsWith(`${m}_`) || n.startsWith(`${m}:`)) || /_(compare|change)$/.test(n);
  const idx = columns.findIndex((c) => !dimensions.includes(c.name) && !isMetricLike(c.name));
  return idx;
}

// The comparison column of a metric (e.g. "revenue_previous"), or -1.
export function compareColumn(columns: Column[], metric: string): number {
  return columns.findIndex(
    (c) => c.name !== metric && c.name.startsWith(metric) && /prev|compar|last_(week|year)/.test(c.name.slice(metric.length)),
  );
}

export interface Series {
  name: string;
  metric: string;
  format: string;
  data: (number | null)[];
}

export interface Pivot {
  categories: string[];
  series: Series[];
}

// Category axis: the time bucket when there is one, else the first dimension. Series: per metric,
// split by the other axis (the first dimension when time is the category, else the second
// dimension) when there is one.
export function pivot(
  r: Pick<QueryResult, 'columns' | 'rows'>,
  dimensions: string[],
  metrics: string[],
  grain: string,
): Pivot {
  const rows = rowsAsArrays(r);
  const col = (n: string) => r.columns.findIndex((c) => c.name === n);
  const t = timeColumn(r.columns, dimensions, metrics, grain);
  const dimIdx = dimensions.map(col).filter((i) => i >= 0);
  const catIdx = t >= 0 ? t : (dimIdx[0] ?? -1);
  const splitIdx = t >= 0 ? (dimIdx[0] ?? -1) : (dimIdx[1] ?? -1);
  const label = (v: unknown, isTime: boolean) => (v === null || v === undefined ? '(none)' : isTime ? formatBucket(String(v), grain) : String(v));

  const categories: string[] = [];
  const catPos = new Map<string, number>();
  for (const row of rows) {
    const c = catIdx >= 0 ? label(row[catIdx], catIdx === t) : 'total';
    if (!catPos.has(c)) {
      catPos.set(c, categories.length);
      categories.push(c);
    }
  }
  const splits: string[] = [];
  if (splitIdx >= 0) {
    for (const row of rows) {
      const s = label(row[splitIdx], false);
      if (!splits.includes(s)) splits.push(s);
    }
  }
  const series: Series[] = [];
  for (const m of metrics) {
    const mi = col(m);
    if (mi < 0) continue;
    const format = r.columns[mi]?.format ?? 'number';
    const groups = splitIdx >= 0 ? splits : [''];
    for (const g of groups) {
      const name = splitIdx < 0 ? m : metrics.length > 1 ? `${m} · ${g}` : g;
      const data: (number | null)[] = categories.map(() => null);
      for (const row of rows) {
        if (splitIdx >= 0 && label(row[splitIdx], false) !== g) continue;
        const c = catIdx >= 0 ? label(row[catIdx], catIdx === t) : 'total';
        const p = catPos.get(c);
        if (p !== undefined) data[p] = toNumber(row[mi]);
      }
      series.push({ name, metric: m, format, data });
    }
  }
  return { categories, series };
}

// CSV text of a result (RFC 4180 quoting), header first.
export function toCsv(r: Pick<QueryResult, 'columns' | 'rows'>): string {
  const cell = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [r.columns.map((c) => cell(c.name)).join(',')];
  for (const row of rowsAsArrays(r)) lines.push(row.map(cell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
