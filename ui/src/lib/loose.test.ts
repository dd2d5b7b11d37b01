import { describe, expect, it } from 'vitest';
import { arr, num, sqlObjects, str, timeOf } from './loose';

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

describe('timeOf', () => {
  it('reads µs members and text members', () => {
    expect(timeOf({ last_seen_us: 1_764_547_200_000_000 }, 'last_seen')).toBe('2025-12-01T00:00:00.000Z');
    expect(timeOf({ last_seen: '2026-01-01T00:00:00Z' }, 'last_seen')).toBe('2026-01-01T00:00:00Z');
    expect(timeOf({ last_seen_us: null }, 'last_seen')).toBe('');
  });
});
