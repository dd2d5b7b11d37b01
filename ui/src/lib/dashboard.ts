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

// Grid positions for the server's form ({chart, x, y, w, h}): items flow left to right, a row
// ends when the next item would pass column 12.
export function placeItems(items: LayoutItem[]): (LayoutItem & { x: number; y: number })[] {
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
    const placed = { ...it, w, x, y };
    x += w;
    rowHeight = Math.max(rowHeight, it.h);
    return placed;
  });
}

// Reads the items of a stored dashboard, ordered by position.
export function itemsOf(raw: unknown): LayoutItem[] {
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null && 'chart' in x)
    .map((x) => ({ chart: String(x.chart), w: Number(x.w) || 6, h: Number(x.h) || 3, x: Number(x.x) || 0, y: Number(x.y) || 0 }))
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
