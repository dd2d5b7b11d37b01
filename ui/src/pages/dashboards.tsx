// Dashboards: the list, and one dashboard — a grid of saved charts that can be rearranged
// (drag the handle) and resized, with a shared time range and filters, auto refresh, and an
// address that carries the range, filters and refresh so it can be shared.

import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { DndContext, KeyboardSensor, PointerSensor, closestCenter, useSensor, useSensors, type DragEndEvent } from '@dnd-kit/core';
import { SortableContext, rectSortingStrategy, sortableKeyboardCoordinates, useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { api, listOf } from '../api/endpoints';
import type { Dashboard, SavedChart } from '../api/types';
import { useSession } from '../auth';
import { ConfirmDialog, Empty, ErrorBox, Loading } from '../components/common';
import { SavedChartView } from '../components/saved_chart';
import { itemsOf, kHeights, kWidths, moveItem, placeItems, type LayoutItem } from '../lib/dashboard';
import { kRelativeRanges, type Filter, type TimeRange } from '../lib/design';
import { humanRange } from './explore';

export function DashboardListPage() {
  const { can } = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['dashboards'], queryFn: async () => listOf<Dashboard>(await api.dashboards(), 'dashboards') });
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api.createDashboard({ name: name.trim(), description: '', charts: [] }),
    onSuccess: (d) => {
      setCreating(false);
      void qc.invalidateQueries({ queryKey: ['dashboards'] });
      if (d?.id !== undefined) navigate(`/dashboards/${encodeURIComponent(String(d.id))}`);
    },
  });
  return (
    <section>
      <h1>Dashboards</h1>
      {can.editCharts && (
        <div className="search-row">
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New dashboard…
          </button>
        </div>
      )}
      <ErrorBox error={list.error} />
      {list.isPending && <Loading what="Loading dashboards" />}
      {list.data && list.data.length === 0 && <Empty>No dashboards yet.</Empty>}
      <div className="card-list">
        {(list.data ?? []).map((d) => (
          <div key={String(d.id)} className="card">
            <h3>
              <Link to={`/dashboards/${encodeURIComponent(String(d.id))}`}>{d.name}</Link>
            </h3>
            <div className="muted">
              {itemsOf(d.charts).length} chart(s) {d.description ? `· ${d.description}` : ''}
            </div>
          </div>
        ))}
      </div>
      <ConfirmDialog open={creating} title="New dashboard" confirmLabel="Create" onConfirm={() => name.trim() && create.mutate()} onCancel={() => setCreating(false)}>
        <label htmlFor="dash-name">Name</label>
        <input id="dash-name" value={name} onChange={(e) => setName(e.target.value)} />
        <ErrorBox error={create.error} />
      </ConfirmDialog>
    </section>
  );
}

function parseFilters(s: string | null): Filter[] {
  if (!s) return [];
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? (v as Filter[]).filter((f) => typeof f?.field === 'string' && Array.isArray(f.values)) : [];
  } catch {
    return [];
  }
}

export function DashboardPage() {
  const { id = '' } = useParams();
  const { can } = useSession();
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const dash = useQuery({ queryKey: ['dashboard', id], queryFn: () => api.dashboard(id) });
  const charts = useQuery({ queryKey: ['charts'], queryFn: async () => listOf<SavedChart>(await api.charts(), 'charts') });
  const [items, setItems] = useState<LayoutItem[] | null>(null);
  const [adding, setAdding] = useState('');
  const [dirty, setDirty] = useState(false);
  useEffect(() => {
    if (dash.data && items === null) setItems(itemsOf(dash.data.charts));
  }, [dash.data, items]);

  const rangeParam = params.get('range');
  const range: TimeRange | null = rangeParam
    ? rangeParam.includes('..')
      ? (rangeParam.split('..') as [string, string])
      : (rangeParam as TimeRange)
    : null;
  const filters = useMemo(() => parseFilters(params.get('filters')), [params]);
  const refresh = Number(params.get('refresh') ?? '0');
  const setParam = (k: string, v: string) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v);
    else p.delete(k);
    setParams(p, { replace: true });
  };
  const [filterField, setFilterField] = useState('');
  const [filterValues, setFilterValues] = useState('');

  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 4 } }), useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }));
  const save = useMutation({
    mutationFn: (next: LayoutItem[]) => api.updateDashboard(id, { ...dash.data, name: dash.data?.name ?? '', description: dash.data?.description ?? '', charts: placeItems(next) }),
    onSuccess: () => {
      setDirty(false);
      void qc.invalidateQueries({ queryKey: ['dashboard', id] });
      void qc.invalidateQueries({ queryKey: ['dashboards'] });
    },
  });
  const change = (next: LayoutItem[]) => {
    setItems(next);
    setDirty(true);
  };
  const onDragEnd = (e: DragEndEvent) => {
    if (!items || !e.over || e.active.id === e.over.id) return;
    const from = items.findIndex((x, i) => `${x.chart}#${i}` === e.active.id);
    const to = items.findIndex((x, i) => `${x.chart}#${i}` === e.over?.id);
    change(moveItem(items, from, to));
  };

  if (dash.isPending) return <Loading what="Loading the dashboard" />;
  if (dash.error) return <ErrorBox error={dash.error} />;
  const byId = new Map((charts.data ?? []).map((c) => [String(c.id), c]));
  const list = items ?? [];

  return (
    <section>
      <div className="crumbs">
        <Link to="/dashboards">Dashboards</Link> / {dash.data.name}
      </div>
      <div className="title-row">
        <h1>{dash.data.name}</h1>
        <div className="actions">
          <button type="button" onClick={() => void navigator.clipboard?.writeText(window.location.href)} title="Copy the address with the range and filters">
            Copy link
          </button>
          {can.editCharts && (
            <button type="button" className="primary" disabled={!dirty || save.isPending} onClick={() => save.mutate(list)}>
              {save.isPending ? 'Saving…' : dirty ? 'Save layout' : 'Saved'}
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={save.error} title="Save" />
      <div className="time-row panel" role="group" aria-label="Dashboard controls">
        <div>
          <label htmlFor="dash-range">Time range (every chart)</label>
          <select id="dash-range" value={rangeParam ?? ''} onChange={(e) => setParam('range', e.target.value)}>
            <option value="">each chart's own</option>
            {kRelativeRanges.map((r) => (
              <option key={r} value={r}>
                {humanRange(r)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="dash-refresh">Auto refresh</label>
          <select id="dash-refresh" value={String(refresh)} onChange={(e) => setParam('refresh', e.target.value === '0' ? '' : e.target.value)}>
            <option value="0">off</option>
            <option value="30000">every 30 s</option>
            <option value="60000">every minute</option>
            <option value="300000">every 5 minutes</option>
          </select>
        </div>
        <div>
          <label htmlFor="dash-filter-field">Filter (every chart)</label>
          <input id="dash-filter-field" placeholder="dimension, e.g. channel" value={filterField} onChange={(e) => setFilterField(e.target.value)} style={{ width: 170 }} />
        </div>
        <div>
          <label htmlFor="dash-filter-values">in values</label>
          <input id="dash-filter-values" placeholder="a, b" value={filterValues} onChange={(e) => setFilterValues(e.target.value)} style={{ width: 150 }} />
        </div>
        <button
          type="button"
          disabled={!filterField.trim() || !filterValues.trim()}
          onClick={() => {
            const f: Filter = { field: filterField.trim(), kind: 'dimension', op: 'in', values: filterValues.split(',').map((v) => v.trim()).filter(Boolean) };
            setParam('filters', JSON.stringify([...filters, f]));
            setFilterField('');
            setFilterValues('');
          }}
        >
          Add filter
        </button>
        {filters.map((f, i) => (
          <span key={i} className="chip dimension">
            {f.field} in {f.values.join(', ')}
            <button type="button" aria-label={`Remove filter on ${f.field}`} onClick={() => setParam('filters', filters.length > 1 ? JSON.stringify(filters.filter((_, j) => j !== i)) : '')}>
              ×
            </button>
          </span>
        ))}
      </div>
      {can.editCharts && (
        <div className="toolbar">
          <label htmlFor="add-chart" className="inline">
            Add a chart
          </label>
          <select id="add-chart" value={adding} onChange={(e) => setAdding(e.target.value)}>
            <option value="">choose…</option>
            {(charts.data ?? []).map((c) => (
              <option key={String(c.id)} value={String(c.id)}>
                {c.name}
              </option>
            ))}
          </select>
          <button type="button" disabled={!adding} onClick={() => { change([...list, { chart: adding, w: 6, h: 3 }]); setAdding(''); }}>
            Add
          </button>
          <ErrorBox error={charts.error} />
        </div>
      )}
      {list.length === 0 && <Empty>This dashboard has no charts yet{can.editCharts ? ': add one above.' : '.'}</Empty>}
      <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd}>
        <SortableContext items={list.map((x, i) => `${x.chart}#${i}`)} strategy={rectSortingStrategy}>
          <div className="dash-grid" data-testid="dash-grid">
            {list.map((it, i) => (
              <DashItem
                key={`${it.chart}#${i}`}
                sortId={`${it.chart}#${i}`}
                item={it}
                chart={byId.get(it.chart)}
                editable={can.editCharts}
                range={range}
                filters={filters}
                refresh={refresh}
                onResize={(w, h) => change(list.map((x, j) => (j === i ? { ...x, w, h } : x)))}
                onRemove={() => change(list.filter((_, j) => j !== i))}
              />
            ))}
          </div>
        </SortableContext>
      </DndContext>
    </section>
  );
}

function DashItem({
  sortId,
  item,
  chart,
  editable,
  range,
  filters,
  refresh,
  onResize,
  onRemove,
}: {
  sortId: string;
  item: LayoutItem;
  chart: SavedChart | undefined;
  editable: boolean;
  range: TimeRange | null;
  filters: Filter[];
  refresh: number;
  onResize: (w: number, h: number) => void;
  onRemove: () => void;
}) {
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: sortId, disabled: !editable });
  const style = {
    gridColumn: `span ${item.w}`,
    gridRow: `span ${item.h}`,
    transform: CSS.Translate.toString(transform),
    transition,
    opacity: isDragging ? 0.6 : 1,
  };
  return (
    <div ref={setNodeRef} style={style} className="dash-item" data-testid={`dash-item-${chart?.name ?? item.chart}`}>
      <header>
        {editable && (
          <button type="button" className="handle" aria-label={`Move ${chart?.name ?? 'chart'}`} {...attributes} {...listeners}>
            ⠿
          </button>
        )}
        <h3 title={chart?.description ?? ''}>{chart?.name ?? `chart ${item.chart}`}</h3>
        {editable && (
          <>
            <select aria-label="Width" value={item.w} onChange={(e) => onResize(Number(e.target.value), item.h)}>
              {kWidths.map((w) => (
                <option key={w} value={w}>
                  {w}/12
                </option>
              ))}
            </select>
            <select aria-label="Height" value={item.h} onChange={(e) => onResize(item.w, Number(e.target.value))}>
              {kHeights.map((h) => (
                <option key={h} value={h}>
                  {h} rows
                </option>
              ))}
            </select>
            <button type="button" aria-label={`Remove ${chart?.name ?? 'chart'} from the dashboard`} onClick={onRemove}>
              ×
            </button>
          </>
        )}
      </header>
      <div className="body">
        {chart ? <SavedChartView chart={chart} range={range} filters={filters} refreshMs={refresh} height={item.h * 110 - 50} /> : <Empty>The chart was deleted.</Empty>}
      </div>
    </div>
  );
}
