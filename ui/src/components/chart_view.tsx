// A query result drawn as the chosen chart type (shared by Explore, the chart list and
// dashboards).

import { useMemo } from 'react';
import type { QueryResult } from '../api/types';
import { chartOption } from '../lib/chart_option';
import { formatChange, formatValue } from '../lib/format';
import { compareColumn, rowsAsArrays, toNumber } from '../lib/rows';
import type { ChartType } from '../lib/suggest';
import { DataTable } from './data_table';
import { EChart } from './echart';
import { Empty } from './common';

export function ChartView({
  type,
  result,
  dimensions,
  metrics,
  grain,
  additive,
  height = 340,
  title,
}: {
  type: ChartType;
  result: QueryResult;
  dimensions: string[];
  metrics: string[];
  grain: string;
  additive?: ReadonlySet<string>;
  height?: number;
  title: string;
}) {
  const rows = useMemo(() => rowsAsArrays(result), [result]);
  // With a comparison, its columns ("revenue_compare") are drawn beside the metrics.
  const drawn = useMemo(
    () => [...metrics, ...metrics.map((m) => result.columns[compareColumn(result.columns, m)]?.name).filter((n): n is string => !!n)],
    [metrics, result],
  );
  const option = useMemo(() => chartOption(type, result, dimensions, drawn, grain), [type, result, dimensions, drawn, grain]);
  if (rows.length === 0) return <Empty>The query returned no rows for this range and these filters.</Empty>;
  if (type === 'table') return <DataTable columns={result.columns} rows={rows} additive={additive} height={height} label={title} />;
  if (type === 'number') {
    return (
      <div className="number-view" data-testid="single-number">
        {metrics.map((m) => {
          const i = result.columns.findIndex((c) => c.name === m);
          const c = compareColumn(result.columns, m);
          const v = toNumber(rows[0]?.[i]);
          const prev = c >= 0 ? toNumber(rows[0]?.[c]) : null;
          return (
            <div key={m}>
              <div className="big-number">{formatValue(v, result.columns[i]?.format ?? 'number')}</div>
              <div className="big-change">
                {m}
                {prev !== null && v !== null && (
                  <>
                    {' '}
                    · {formatChange(v, prev)} vs {formatValue(prev, result.columns[i]?.format ?? 'number')}
                  </>
                )}
              </div>
            </div>
          );
        })}
      </div>
    );
  }
  if (!option) return <Empty>This chart type cannot show this result; pick another.</Empty>;
  return <EChart option={option} height={height} label={title} />;
}
