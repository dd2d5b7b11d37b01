import { describe, expect, it } from 'vitest';
import { arr, num, sqlObjects, str } from './loose';

describe('loose accessors', () => {
  it('find arrays bare or under a key', () => {
    expect(arr([{ a: 1 }, 2])).toEqual([{ a: 1 }]);
    expect(arr({ rows: [{ a: 1 }] }, 'items', 'rows')).toEqual([{ a: 1 }]);
    expect(arr('x', 'rows')).toEqual([]);
  });
  it('read strings and numbers by the first present key', () => {
    expect(str({ name: 'pay', event: 'x' }, 'event', 'name')).toBe('x');
    expect(str({ n: 3 }, 'n')).toBe('3');
    expect(str(null)).toBe('');
    expect(num({ volume: '12' }, 'count', 'volume')).toBe(12);
    expect(num({ volume: 'many' }, 'volume')).toBeNull();
  });
  it('turns SQL results into objects', () => {
    expect(sqlObjects({ columns: [{ name: 'a' }, { name: 'b' }], rows: [[1, 'x']] })).toEqual([{ a: 1, b: 'x' }]);
  });
});
