// The chart picker's suggestion: the chart type that best shows what was dropped.

import type { Design } from './design';

export type ChartType =
  | 'line'
  | 'bar'
  | 'bar_stacked'
  | 'area'
  | 'pie'
  | 'table'
  | 'number'
  | 'funnel'
  | 'retention';

export const kChartTypes: { type: ChartType; label: string }[] = [
  { type: 'line', label: 'Line' },
  { type: 'bar', label: 'Bar (grouped)' },
  { type: 'bar_stacked', label: 'Bar (stacked)' },
  { type: 'area', label: 'Area' },
  { type: 'pie', label: 'Pie' },
  { type: 'table', label: 'Table' },
  { type: 'number', label: 'Single number' },
  { type: 'funnel', label: 'Funnel' },
  { type: 'retention', label: 'Retention heatmap' },
];

// REQUIRES nothing; works on incomplete designs too.
export function suggestChart(d: Pick<Design, 'analysis' | 'metrics' | 'dimensions' | 'grain'>): ChartType {
  if (d.analysis === 'funnel') return 'funnel';
  if (d.analysis === 'retention') return 'retention';
  const timed = d.grain !== 'none';
  const dims = d.dimensions.length;
  const metrics = d.metrics.length;
  if (timed) {
    if (dims === 0) return 'line';
    if (dims === 1 && metrics === 1) return 'bar_stacked';
    return 'table';
  }
  if (dims === 0) return metrics <= 1 ? 'number' : 'bar';
  if (dims === 1) return metrics === 1 ? 'bar' : metrics <= 3 ? 'bar' : 'table';
  return 'table';
}

// Whether a chart type can show the design at all (the picker disables the others).
export function chartFits(type: ChartType, d: Pick<Design, 'analysis' | 'metrics' | 'dimensions' | 'grain'>): boolean {
  if (d.analysis === 'funnel') return type === 'funnel' || type === 'table';
  if (d.analysis === 'retention') return type === 'retention' || type === 'table';
  const timed = d.grain !== 'none';
  const axes = d.dimensions.length + (timed ? 1 : 0);
  switch (type) {
    case 'funnel':
    case 'retention':
      return false;
    case 'number':
      return axes === 0;
    case 'pie':
      return axes === 1 && d.metrics.length === 1;
    case 'line':
    case 'area':
    case 'bar':
    case 'bar_stacked':
      return axes >= 1 && axes <= 2;
    case 'table':
      return true;
  }
}
