// A result table: sortable columns, a totals row for the additive columns (sums and counts;
// a distinct count or a ratio does not add up, so it gets no total), values formatted per
// column format, and rows virtualised so large results stay fast.

import { useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Column } from '../api/types';
import { formatValue } from '../lib/format';
import { toNumber } from '../lib/rows';

export function sortRows(rows: unknown[][], col: number, desc: boolean): unknown[][] {
  const out = [...rows];
  out.sort((a, b) => {
    const x = a[col];
    const y = b[col];
    const nx = toNumber(x);
    const ny = toNumber(y);
    let c: number;
    if (x === null || x === undefined) c = 1;
    else if (y === null || y === undefined) c = -1;
    else if (nx !== null && ny !== null) c = nx - ny;
    else c = String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
  return out;
}

export function DataTable({
  columns,
  rows,
  additive,
  height = 360,
  label = 'Result',
}: {
  columns: Column[];
  rows: unknown[][];
  additive?: ReadonlySet<string>;
  height?: number;
  label?: string;
}) {
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(null);
  const sorted = useMemo(() => (sort ? sortRows(rows, sort.col, sort.desc) : rows), [rows, sort]);
  const numeric = useMemo(
    () => columns.map((c, i) => (c.format !== undefined && c.format !== '') || (rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'number'))),
    [columns, rows],
  );
  const sums = useMemo(
    () => columns.map((c, i) => (numeric[i] && additive?.has(c.name) ? rows.reduce<number>((s, r) => s + (toNumber(r[i]) ?? 0), 0) : null)),
    [columns, rows, numeric, additive],
  );
  const parent = useRef<HTMLDivElement>(null);
  const virt = useVirtualizer({ count: sorted.length, getScrollElement: () => parent.current, estimateSize: () => 30, overscan: 12 });
  const template = `repeat(${Math.max(columns.length, 1)}, minmax(110px, 1fr))`;
  const cell = (v: unknown, i: number) =>
    numeric[i] ? formatValue(v, columns[i]?.format ?? 'number') : v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v);

  return (
    <div className="data-table" role="table" aria-label={label} aria-rowcount={sorted.length + 1}>
      <div className="dt-row dt-head" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((c, i) => (
          <button
            key={c.name}
            type="button"
            role="columnheader"
            className={numeric[i] ? 'num' : ''}
            aria-sort={sort?.col === i ? (sort.desc ? 'descending' : 'ascending') : 'none'}
            onClick={() => setSort(sort?.col === i ? { col: i, desc: !sort.desc } : { col: i, desc: numeric[i] ?? false })}
          >
            {c.name}
            {sort?.col === i ? (sort.desc ? ' ▼' : ' ▲') : ''}
          </button>
        ))}
      </div>
      <div ref={parent} className="dt-body" style={{ maxHeight: height }}>
        <div style={{ height: virt.getTotalSize(), position: 'relative' }}>
          {virt.getVirtualItems().map((v) => {
            const row = sorted[v.index] ?? [];
            return (
              <div
                key={v.key}
                role="row"
                className="dt-row"
                style={{ gridTemplateColumns: template, position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${v.start}px)` }}
              >
                {columns.map((c, i) => (
                  <div key={c.name} role="cell" className={numeric[i] ? 'num' : ''}>
                    {cell(row[i], i)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
      {additive && additive.size > 0 && rows.length > 1 && (
        <div className="dt-row dt-total" role="row" style={{ gridTemplateColumns: template }}>
          {columns.map((c, i) => (
            <div key={c.name} role="cell" className={numeric[i] ? 'num' : ''}>
              {i === 0 && !numeric[0] ? 'Total' : sums[i] !== null && sums[i] !== undefined ? formatValue(sums[i], c.format ?? 'number') : ''}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
