import { describe, expect, it } from 'vitest';
import { sortRows } from './data_table';

describe('sortRows', () => {
  const rows = [
    ['b', 10],
    ['a', 2],
    [null, 5],
    ['c', '7'],
  ];
  it('sorts numbers as numbers, text as text, nulls last', () => {
    expect(sortRows(rows, 1, false).map((r) => r[1])).toEqual([2, 5, '7', 10]);
    expect(sortRows(rows, 1, true).map((r) => r[1])).toEqual([10, '7', 5, 2]);
    expect(sortRows(rows, 0, false).map((r) => r[0])).toEqual(['a', 'b', 'c', null]);
  });
  it('leaves the input alone', () => {
    sortRows(rows, 1, true);
    expect(rows[0]).toEqual(['b', 10]);
  });
});
