import { describe, expect, it } from 'vitest';
import { decodeDesign, designProblems, emptyDesign, encodeDesign, insertUnique, toQuery, type Design } from './design';

function design(over: Partial<Design>): Design {
  return { ...emptyDesign('events'), ...over };
}

describe('toQuery', () => {
  it('builds the metrics query of the contract', () => {
    const q = toQuery(
      design({
        metrics: ['dau', 'revenue', 'arpu'],
        dimensions: ['channel'],
        range: ['2026-10-01', '2026-10-31'],
        grain: 'day',
        filters: [{ field: 'event', kind: 'dimension', op: 'in', values: ['login', 'pay', ' '] }],
        compare: 'previous_period',
        order: { field: 'revenue', desc: true },
        limit: 100,
      }),
    );
    expect(q).toEqual({
      model: 'events',
      metrics: ['dau', 'revenue', 'arpu'],
      dimensions: ['channel'],
      time: { range: ['2026-10-01', '2026-10-31'], grain: 'day' },
      filters: [{ dimension: 'event', op: 'in', values: ['login', 'pay'] }],
      compare: 'previous_period',
      order: [{ metric: 'revenue', desc: true }],
      limit: 100,
    });
  });

  it('leaves out grain, compare and an order on a field not in the query', () => {
    const q = toQuery(design({ metrics: ['revenue'], grain: 'none', order: { field: 'dau', desc: false } }));
    expect(q).toEqual({ model: 'events', metrics: ['revenue'], dimensions: [], time: { range: 'last_14_days' }, limit: 1000 });
  });

  it('types metric filter values as numbers and drops values of null checks', () => {
    const q = toQuery(
      design({
        metrics: ['revenue'],
        filters: [
          { field: 'revenue', kind: 'metric', op: 'between', values: ['10', '20.5'] },
          { field: 'channel', kind: 'dimension', op: 'is_null', values: ['x'] },
          { field: 'level', kind: 'dimension', op: '>=', values: ['3'] },
          { field: 'country', kind: 'dimension', op: '=', values: ['007'] },
        ],
      }),
      new Set(['level']),
    );
    expect(q.filters).toEqual([
      { metric: 'revenue', op: 'between', values: [10, 20.5] },
      { dimension: 'channel', op: 'is_null' },
      { dimension: 'level', op: '>=', values: [3] },
      { dimension: 'country', op: '=', values: ['007'] },
    ]);
  });

  it('builds funnel and retention analyses', () => {
    expect(
      toQuery(design({ analysis: 'funnel', steps: [{ event: 'install' }, { event: 'pay' }], window: '7d', breakdown: 'channel' })),
    ).toEqual({
      model: 'events',
      type: 'funnel',
      steps: [{ event: 'install' }, { event: 'pay' }],
      window: '7d',
      breakdown: 'channel',
      time: { range: 'last_14_days' },
    });
    expect(
      toQuery(design({ analysis: 'retention', startEvent: 'install', returnEvent: 'login', retentionGrain: 'week', periods: 8 })),
    ).toEqual({
      model: 'events',
      type: 'retention',
      start: { event: 'install' },
      return: { event: 'login' },
      period: 'week',
      periods: 8,
      time: { range: 'last_14_days' },
    });
  });
});

describe('the default design', () => {
  it('answers "revenue by channel, last 14 days" by day, as a stacked bar', async () => {
    const { suggestChart } = await import('./suggest');
    const d = design({ metrics: ['revenue'], dimensions: ['channel'] });
    expect(toQuery(d)).toEqual({
      model: 'events',
      metrics: ['revenue'],
      dimensions: ['channel'],
      time: { range: 'last_14_days', grain: 'day' },
      limit: 1000,
    });
    expect(suggestChart(d)).toBe('bar_stacked');
  });
});

describe('designProblems', () => {
  it('explains what is missing in words', () => {
    expect(designProblems(design({}))).toEqual(['Drop at least one metric into Metrics.']);
    expect(designProblems(design({ metrics: ['dau'] }))).toEqual([]);
    expect(designProblems(design({ metrics: ['dau'], range: ['2026-10-31', '2026-10-01'] }))).toEqual([
      'The time range starts after it ends.',
    ]);
    expect(
      designProblems(design({ metrics: ['dau'], filters: [{ field: 'event', kind: 'dimension', op: 'between', values: ['a'] }] })),
    ).toEqual(['Filter 1 (event): "between" needs two values.']);
    expect(
      designProblems(design({ metrics: ['dau'], filters: [{ field: 'dau', kind: 'metric', op: '>', values: ['many'] }] })),
    ).toEqual(['Filter 1 (dau): a metric is compared with numbers.']);
    expect(designProblems(design({ analysis: 'funnel', steps: [{ event: 'install' }] }))).toEqual([
      'A funnel needs at least two steps.',
    ]);
  });
});

describe('helpers', () => {
  it('insertUnique moves an existing item', () => {
    expect(insertUnique(['a', 'b', 'c'], 'a', 2)).toEqual(['b', 'c', 'a']);
    expect(insertUnique(['a'], 'b')).toEqual(['a', 'b']);
  });
  it('round-trips a design through the URL form, unicode included', () => {
    const d = design({ metrics: ['revenue'], filters: [{ field: 'country', kind: 'dimension', op: '=', values: ['中国'] }] });
    expect(decodeDesign(encodeDesign(d))).toEqual(d);
    expect(decodeDesign('not base64!')).toBeNull();
  });
});
