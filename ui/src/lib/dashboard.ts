// Dashboards: a grid of saved charts with a shared time range and filters. The layout is the
// item order (row by row on a 12-column grid) with a width and height per item.

import { emptyDesign, type Design, type Filter, type TimeRange } from './design';

export interface LayoutItem {
  chart: string; // saved chart id
  w: number; // columns of 12
  h: number; // rows of 110 px
}

export const kWidths = [3, 4, 6, 8, 12];
export const kHeights = [2, 3, 4, 5];

// Moves the item at `from` to `to` (dnd-kit's arrayMove, kept here to test it with the rest).
export function moveItem<T>(list: T[], from: number, to: number): T[] {
  if (from === to || from < 0 || to < 0 || from >= list.length || to >= list.length) return list;
  const out = [...list];
  const [x] = out.splice(from, 1);
  out.splice(to, 0, x as T);
  return out;
}

// The dashboard's "charts" as stored: one {id, x, y, w, h} per item; items flow left to
// right, a row ends when the next item would pass column 12.
export function placeItems(items: LayoutItem[]): { id: string; x: number; y: number; w: number; h: number }[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return items.map((it) => {
    const w = Math.min(12, Math.max(1, it.w));
    if (x + w > 12) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { id: it.chart, x, y, w, h: it.h };
    x += w;
    rowHeight = Math.max(rowHeight, it.h);
    return placed;
  });
}

// Reads the "charts" of a stored dashboard (chart ids, or {id, x, y, w, h}), in position order.
export function itemsOf(raw: unknown): LayoutItem[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .map((x, i) => {
      if (typeof x === 'string' || typeof x === 'number') return { chart: String(x), w: 6, h: 3, x: 0, y: i };
      if (typeof x !== 'object' || x === null || !('id' in x)) return null;
      const o = x as Record<string, unknown>;
      return { chart: String(o.id), w: Number(o.w) || 6, h: Number(o.h) || 3, x: Number(o.x) || 0, y: Number(o.y) || 0 };
    })
    .filter((x): x is LayoutItem & { x: number; y: number } => x !== null)
    .sort((a, b) => a.y - b.y || a.x - b.x)
    .map(({ chart, w, h }) => ({ chart, w, h }));
}

// A chart's design under the dashboard's shared time range and filters: the shared range
// replaces the chart's own, the shared filters are added to its own (on dimensions the chart's
// model has).
export function applyShared(design: Design, range: TimeRange | null, filters: Filter[], dimensions?: ReadonlySet<string>): Design {
  const d = { ...emptyDesign(design.model), ...design };
  const extra = filters.filter((f) => f.kind === 'dimension' && (!dimensions || dimensions.has(f.field)));
  return { ...d, range: range ?? d.range, filters: [...d.filters, ...extra] };
}
