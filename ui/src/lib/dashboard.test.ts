import { describe, expect, it } from 'vitest';
import { applyShared, itemsOf, moveItem, placeItems } from './dashboard';
import { emptyDesign } from './design';

describe('dashboard layout', () => {
  it('moves items', () => {
    expect(moveItem(['a', 'b', 'c'], 0, 2)).toEqual(['b', 'c', 'a']);
    expect(moveItem(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
    expect(moveItem(['a'], 0, 5)).toEqual(['a']);
  });
  it('flows items into rows of 12 columns', () => {
    expect(placeItems([{ chart: '1', w: 6, h: 3 }, { chart: '2', w: 6, h: 2 }, { chart: '3', w: 8, h: 3 }, { chart: '4', w: 4, h: 3 }])).toEqual([
      { id: '1', w: 6, h: 3, x: 0, y: 0 },
      { id: '2', w: 6, h: 2, x: 6, y: 0 },
      { id: '3', w: 8, h: 3, x: 0, y: 3 },
      { id: '4', w: 4, h: 3, x: 8, y: 3 },
    ]);
  });
  it('reads stored charts in position order, bare ids too', () => {
    expect(itemsOf([{ id: 2, x: 6, y: 0, w: 6, h: 3 }, { id: 1, x: 0, y: 0, w: 6, h: 3 }, { nothing: 1 }])).toEqual([
      { chart: '1', w: 6, h: 3 },
      { chart: '2', w: 6, h: 3 },
    ]);
    expect(itemsOf(['a', 'b'])).toEqual([
      { chart: 'a', w: 6, h: 3 },
      { chart: 'b', w: 6, h: 3 },
    ]);
    expect(itemsOf(null)).toEqual([]);
  });
  it('round-trips a layout', () => {
    const items = [{ chart: 'x', w: 4, h: 2 }, { chart: 'y', w: 12, h: 4 }];
    expect(itemsOf(placeItems(items))).toEqual(items);
  });
});

describe('applyShared', () => {
  it('replaces the range and adds filters on known dimensions', () => {
    const d = { ...emptyDesign('events'), metrics: ['revenue'], filters: [{ field: 'event', kind: 'dimension' as const, op: '=' as const, values: ['pay'] }] };
    const out = applyShared(
      d,
      'last_7_days',
      [
        { field: 'channel', kind: 'dimension', op: 'in', values: ['ads'] },
        { field: 'country', kind: 'dimension', op: 'in', values: ['cn'] },
      ],
      new Set(['event', 'channel']),
    );
    expect(out.range).toBe('last_7_days');
    expect(out.filters.map((f) => f.field)).toEqual(['event', 'channel']);
    expect(applyShared(d, null, []).range).toBe('last_14_days');
  });
});
