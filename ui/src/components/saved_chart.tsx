// A saved chart, queried and drawn; on dashboards under the shared range and filters.

import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/endpoints';
import type { SavedChart } from '../api/types';
import { applyShared } from '../lib/dashboard';
import { designProblems, emptyDesign, toQuery, type Design, type Filter, type TimeRange } from '../lib/design';
import { suggestChart, type ChartType } from '../lib/suggest';
import { ChartView } from './chart_view';
import { Empty, ErrorBox, Loading } from './common';

export function designOf(c: SavedChart): Design | null {
  const d = c.design as Partial<Design> | undefined;
  if (!d || typeof d !== 'object' || typeof d.model !== 'string') return null;
  return { ...emptyDesign(d.model), ...d };
}

export function SavedChartView({
  chart,
  range = null,
  filters = [],
  refreshMs = 0,
  height = 260,
}: {
  chart: SavedChart;
  range?: TimeRange | null;
  filters?: Filter[];
  refreshMs?: number;
  height?: number;
}) {
  const base = designOf(chart);
  const design = useMemo(() => (base ? applyShared(base, range, filters) : null), [base, range, filters]);
  const problems = design ? designProblems(design) : ['This chart has no design to query.'];
  const request = design && problems.length === 0 ? toQuery(design) : null;
  const result = useQuery({
    queryKey: ['query', JSON.stringify(request)],
    queryFn: () => api.query(request),
    enabled: request !== null,
    refetchInterval: refreshMs > 0 ? refreshMs : false,
  });
  if (!design || problems.length > 0) return <Empty>{problems.join(' ')}</Empty>;
  if (result.error) return <ErrorBox error={result.error} />;
  if (!result.data) return <Loading what="Querying" />;
  const type = (chart.chart_type as ChartType | undefined) ?? suggestChart(design);
  return (
    <ChartView
      type={type}
      result={result.data}
      dimensions={design.analysis === 'metrics' ? design.dimensions : []}
      metrics={design.analysis === 'metrics' ? design.metrics : []}
      grain={design.grain}
      height={height}
      title={chart.name}
    />
  );
}
