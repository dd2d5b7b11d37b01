import { describe, expect, it } from 'vitest';
import { chartFits, suggestChart } from './suggest';

const base = { analysis: 'metrics' as const, metrics: ['revenue'], dimensions: [] as string[], grain: 'none' as const };

describe('suggestChart', () => {
  it('one metric alone is a single number', () => {
    expect(suggestChart(base)).toBe('number');
  });
  it('a metric over time is a line', () => {
    expect(suggestChart({ ...base, grain: 'day' })).toBe('line');
    expect(suggestChart({ ...base, metrics: ['dau', 'revenue'], grain: 'day' })).toBe('line');
  });
  it('a metric by a dimension over time is a stacked bar', () => {
    expect(suggestChart({ ...base, dimensions: ['channel'], grain: 'day' })).toBe('bar_stacked');
  });
  it('a metric by a dimension is a bar; many axes are a table', () => {
    expect(suggestChart({ ...base, dimensions: ['channel'] })).toBe('bar');
    expect(suggestChart({ ...base, dimensions: ['channel', 'country'] })).toBe('table');
    expect(suggestChart({ ...base, dimensions: ['channel', 'country'], grain: 'day' })).toBe('table');
  });
  it('analyses have their own charts', () => {
    expect(suggestChart({ ...base, analysis: 'funnel' })).toBe('funnel');
    expect(suggestChart({ ...base, analysis: 'retention' })).toBe('retention');
  });
});

describe('chartFits', () => {
  it('pie needs one axis and one metric', () => {
    expect(chartFits('pie', { ...base, dimensions: ['channel'] })).toBe(true);
    expect(chartFits('pie', { ...base, dimensions: ['channel'], metrics: ['a', 'b'] })).toBe(false);
  });
  it('single number only without axes; table always', () => {
    expect(chartFits('number', base)).toBe(true);
    expect(chartFits('number', { ...base, grain: 'day' })).toBe(false);
    expect(chartFits('table', { ...base, dimensions: ['a', 'b', 'c'] })).toBe(true);
    expect(chartFits('funnel', base)).toBe(false);
  });
});
