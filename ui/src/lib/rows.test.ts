import { describe, expect, it } from 'vitest';
import { compareColumn, pivot, toCsv } from './rows';

const cols = (...names: string[]) => names.map((name) => ({ name }));

describe('pivot', () => {
  it('splits one metric over time by a dimension (stacked bar of revenue by channel)', () => {
    const r = {
      columns: [{ name: 'time', type: 'TIMESTAMP' }, { name: 'channel' }, { name: 'revenue', format: 'currency' }],
      rows: [
        ['2026-10-01T00:00:00Z', 'ads', 10],
        ['2026-10-01T00:00:00Z', 'organic', 5],
        ['2026-10-02T00:00:00Z', 'ads', '7.5'],
      ],
    };
    expect(pivot(r, ['channel'], ['revenue'], 'day')).toEqual({
      categories: ['2026-10-01', '2026-10-02'],
      series: [
        { name: 'ads', metric: 'revenue', format: 'currency', data: [10, 7.5] },
        { name: 'organic', metric: 'revenue', format: 'currency', data: [5, null] },
      ],
    });
  });

  it('gives one series per metric along a dimension, rows as objects too', () => {
    const r = {
      columns: cols('channel', 'dau', 'revenue'),
      rows: [
        { channel: 'ads', dau: 3, revenue: 10 },
        { channel: null, dau: 1, revenue: 0 },
      ],
    };
    expect(pivot(r, ['channel'], ['dau', 'revenue'], 'none')).toEqual({
      categories: ['ads', '(none)'],
      series: [
        { name: 'dau', metric: 'dau', format: 'number', data: [3, 1] },
        { name: 'revenue', metric: 'revenue', format: 'number', data: [10, 0] },
      ],
    });
  });

  it('a total without dimensions', () => {
    expect(pivot({ columns: cols('dau'), rows: [[42]] }, [], ['dau'], 'none')).toEqual({
      categories: ['total'],
      series: [{ name: 'dau', metric: 'dau', format: 'number', data: [42] }],
    });
  });

  it('finds comparison columns', () => {
    expect(compareColumn(cols('revenue', 'revenue_previous'), 'revenue')).toBe(1);
    expect(compareColumn(cols('revenue', 'revenue_per_user'), 'revenue')).toBe(-1);
  });
});

describe('toCsv', () => {
  it('quotes what needs quoting', () => {
    expect(toCsv({ columns: cols('a', 'b'), rows: [['x,y', 'say "hi"'], [null, 3]] })).toBe(
      'a,b\r\n"x,y","say ""hi"""\r\n,3\r\n',
    );
  });
});
