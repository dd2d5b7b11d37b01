// Explore, the self-service analysis: drag metrics and dimensions from the model into the
// design area, pick a time range, grain and comparison, choose a chart (the picker suggests
// one), and the query runs as soon as the design is complete.

import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import {
  DndContext,
  DragOverlay,
  KeyboardSensor,
  PointerSensor,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
  type DragEndEvent,
  type DragStartEvent,
} from '@dnd-kit/core';
import { api } from '../api/endpoints';
import type { Model, ModelField, QueryResult, SavedChart } from '../api/types';
import { useSession } from '../auth';
import { ChartView } from '../components/chart_view';
import { ConfirmDialog, Empty, ErrorBox, Loading } from '../components/common';
import {
  decodeDesign,
  designProblems,
  emptyDesign,
  encodeDesign,
  insertUnique,
  kFilterOps,
  kGrains,
  kListOps,
  kNoValueOps,
  kRelativeRanges,
  toQuery,
  type Design,
  type Filter,
  type FilterOp,
} from '../lib/design';
import { toCsv } from '../lib/rows';
import { chartFits, kChartTypes, suggestChart, type ChartType } from '../lib/suggest';
import { useEventNames, useModels } from '../lib/use_models';

type FieldKind = 'metric' | 'dimension';
interface DragData {
  kind: FieldKind;
  name: string;
}

export function humanRange(r: string): string {
  return r.replace(/_/g, ' ');
}

export interface ExploreState {
  design: Design;
  chart: ChartType;
  chartChosen: boolean; // the user picked a type: stop following the suggestion
}

function initialState(params: URLSearchParams): ExploreState | null {
  const q = params.get('q');
  if (!q) return null;
  const d = decodeDesign(q);
  if (!d) return null;
  const c = params.get('chart_type') as ChartType | null;
  return { design: d, chart: c ?? suggestChart(d), chartChosen: !!c };
}

// Metric names (measures and derived metrics) of a model, with their descriptions.
function metricsOf(m: Model | undefined): ModelField[] {
  return m ? [...m.measures, ...m.metrics] : [];
}

export function ExplorePage() {
  const { can } = useSession();
  const models = useModels();
  const [params, setParams] = useSearchParams();
  const [state, setState] = useState<ExploreState | null>(() => initialState(params));
  const chartId = params.get('chart_id') ?? '';

  // A chart opened from the list: load its design.
  const saved = useQuery({ queryKey: ['chart', chartId], queryFn: () => api.chart(chartId), enabled: chartId !== '' && !params.get('q') });
  useEffect(() => {
    if (!saved.data || state) return;
    const d = saved.data.design as Design | undefined;
    if (d && typeof d === 'object' && typeof d.model === 'string') {
      const type = (saved.data.chart_type as ChartType | undefined) ?? suggestChart(d);
      setState({ design: { ...emptyDesign(d.model), ...d }, chart: type, chartChosen: true });
    }
  }, [saved.data, state]);

  useEffect(() => {
    if (state || !models.data || models.data.length === 0 || chartId) return;
    const first = models.data[0];
    if (first) setState({ design: emptyDesign(first.name), chart: suggestChart(emptyDesign(first.name)), chartChosen: false });
  }, [models.data, state, chartId]);

  // Keep the URL in step: a design is shareable by its address.
  useEffect(() => {
    if (!state) return;
    const p = new URLSearchParams(params);
    p.set('q', encodeDesign(state.design));
    if (state.chartChosen) p.set('chart_type', state.chart);
    else p.delete('chart_type');
    if (p.toString() !== params.toString()) setParams(p, { replace: true });
  }, [state, params, setParams]);

  if (!can.query) {
    return (
      <section>
        <h1>Explore</h1>
        <Empty>Your role can read saved charts and dashboards, but not run new queries. Ask an admin for an analyst key.</Empty>
      </section>
    );
  }
  if (models.isPending) return <Loading what="Loading the models" />;
  if (models.error) {
    return (
      <section>
        <h1>Explore</h1>
        <ErrorBox error={models.error} title="Models" />
      </section>
    );
  }
  if (models.data.length === 0) {
    return (
      <section>
        <h1>Explore</h1>
        <Empty>The project has no semantic models yet: add models/*.yaml (dimensions, measures, metrics).</Empty>
      </section>
    );
  }
  if (!state) return <Loading />;
  return <Explorer models={models.data} state={state} setState={setState} chartId={chartId} saved={saved.data} />;
}

function Explorer({
  models,
  state,
  setState,
  chartId,
  saved,
}: {
  models: Model[];
  state: ExploreState;
  setState: (s: ExploreState) => void;
  chartId: string;
  saved: SavedChart | undefined;
}) {
  const { design, chart } = state;
  const model = models.find((m) => m.name === design.model) ?? models[0];
  const additive = useMemo(
    () => new Set((model?.measures ?? []).filter((m) => m.agg === 'sum' || m.agg === 'count').map((m) => m.name)),
    [model],
  );
  const numericDims = useMemo(() => new Set((model?.dimensions ?? []).filter((d) => d.type === 'number').map((d) => d.name)), [model]);
  const [dragging, setDragging] = useState<DragData | null>(null);
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 4 } }), useSensor(KeyboardSensor));

  const update = (d: Partial<Design>) => {
    const next = { ...design, ...d };
    setState({ design: next, chart: state.chartChosen && chartFits(chart, next) ? chart : suggestChart(next), chartChosen: state.chartChosen && chartFits(chart, next) });
  };

  const drop = (zone: string, data: DragData, index?: number) => {
    if (zone === 'metrics' && data.kind === 'metric') update({ metrics: insertUnique(design.metrics, data.name, index) });
    else if (zone === 'dimensions' && data.kind === 'dimension') update({ dimensions: insertUnique(design.dimensions, data.name, index) });
    else if (zone === 'filters') {
      const f: Filter = { field: data.name, kind: data.kind, op: data.kind === 'metric' ? '>' : 'in', values: [] };
      update({ filters: [...design.filters, f] });
    } else if (zone === 'breakdown' && data.kind === 'dimension') update({ breakdown: data.name });
  };

  const onDragStart = (e: DragStartEvent) => setDragging((e.active.data.current as DragData | undefined) ?? null);
  const onDragEnd = (e: DragEndEvent) => {
    setDragging(null);
    const data = e.active.data.current as DragData | undefined;
    if (e.over && data) drop(String(e.over.id), data);
  };

  const problems = designProblems(design);
  const request = problems.length === 0 ? toQuery(design, numericDims) : null;
  const requestKey = request ? JSON.stringify(request) : '';
  const result = useQuery({
    queryKey: ['query', requestKey],
    queryFn: () => api.query(request),
    enabled: request !== null,
    staleTime: 30_000,
  });

  return (
    <DndContext sensors={sensors} onDragStart={onDragStart} onDragEnd={onDragEnd} onDragCancel={() => setDragging(null)}>
      <section className="explore">
        <FieldList
          models={models}
          model={model}
          onModel={(name) => setState({ design: emptyDesign(name), chart: suggestChart(emptyDesign(name)), chartChosen: false })}
          onAdd={(d) => drop(d.kind === 'metric' ? 'metrics' : 'dimensions', d)}
        />
        <div>
          <div className="title-row">
            <h1>Explore {saved ? `— ${saved.name}` : ''}</h1>
            <div className="tabs" role="tablist" aria-label="Analysis">
              {(['metrics', 'funnel', 'retention'] as const).map((a) => (
                <button key={a} type="button" role="tab" aria-selected={design.analysis === a} onClick={() => update({ analysis: a })}>
                  {a === 'metrics' ? 'Metrics' : a === 'funnel' ? 'Funnel' : 'Retention'}
                </button>
              ))}
            </div>
          </div>
          {design.analysis === 'metrics' && (
            <div className="zones">
              <Zone id="metrics" title="Metrics" hint="Drag metrics here">
                {design.metrics.map((m) => (
                  <Chip key={m} kind="metric" name={m} onRemove={() => update({ metrics: design.metrics.filter((x) => x !== m) })} />
                ))}
              </Zone>
              <Zone id="dimensions" title="Dimensions (group by)" hint="Drag dimensions here">
                {design.dimensions.map((m) => (
                  <Chip key={m} kind="dimension" name={m} onRemove={() => update({ dimensions: design.dimensions.filter((x) => x !== m) })} />
                ))}
              </Zone>
              <Zone id="filters" title="Filters" hint="Drag a dimension or metric here to filter">
                <FilterRows filters={design.filters} onChange={(filters) => update({ filters })} />
              </Zone>
            </div>
          )}
          {design.analysis === 'funnel' && <FunnelBuilder model={model} design={design} update={update} />}
          {design.analysis === 'retention' && <RetentionBuilder model={model} design={design} update={update} />}
          {design.analysis !== 'metrics' && (
            <div className="zones" style={{ marginTop: 10 }}>
              <Zone id="filters" title="Filters" hint="Drag a dimension here to filter">
                <FilterRows filters={design.filters} onChange={(filters) => update({ filters })} />
              </Zone>
            </div>
          )}
          <TimeControls design={design} update={update} />
          <ChartPicker design={design} chart={chart} onPick={(c) => setState({ ...state, chart: c, chartChosen: true })} />
          <ResultArea
            design={design}
            chart={chart}
            problems={problems}
            request={request}
            result={result.data}
            loading={result.isFetching}
            error={result.error}
            onRun={() => void result.refetch()}
            additive={additive}
            chartId={chartId}
            saved={saved}
          />
        </div>
      </section>
      <DragOverlay dropAnimation={null}>{dragging ? <div className="field dragging">{dragging.name}</div> : null}</DragOverlay>
    </DndContext>
  );
}

function FieldList({ models, model, onModel, onAdd }: { models: Model[]; model: Model | undefined; onModel: (name: string) => void; onAdd: (d: DragData) => void }) {
  const [search, setSearch] = useState('');
  const match = (f: ModelField) => {
    const s = search.trim().toLowerCase();
    return !s || f.name.toLowerCase().includes(s) || (f.description ?? '').toLowerCase().includes(s);
  };
  const metrics = metricsOf(model).filter(match);
  const dims = (model?.dimensions ?? []).filter(match);
  return (
    <aside className="panel field-list" aria-label="Fields">
      <label htmlFor="model">Model</label>
      <select id="model" value={model?.name ?? ''} onChange={(e) => onModel(e.target.value)}>
        {models.map((m) => (
          <option key={m.name} value={m.name}>
            {m.name}
          </option>
        ))}
      </select>
      {model?.description && <p className="muted">{model.description}</p>}
      <input type="search" aria-label="Search fields" placeholder="Search metrics and dimensions" value={search} onChange={(e) => setSearch(e.target.value)} />
      <h3>Metrics</h3>
      {metrics.map((f) => (
        <FieldItem key={`m:${f.name}`} kind="metric" field={f} onAdd={onAdd} />
      ))}
      {metrics.length === 0 && <p className="muted">No metric matches.</p>}
      <h3>Dimensions</h3>
      {dims.map((f) => (
        <FieldItem key={`d:${f.name}`} kind="dimension" field={f} onAdd={onAdd} />
      ))}
      {dims.length === 0 && <p className="muted">No dimension matches.</p>}
    </aside>
  );
}

function FieldItem({ kind, field, onAdd }: { kind: FieldKind; field: ModelField; onAdd: (d: DragData) => void }) {
  const data: DragData = { kind, name: field.name };
  const { attributes, listeners, setNodeRef, isDragging } = useDraggable({ id: `${kind}:${field.name}`, data });
  return (
    <div
      ref={setNodeRef}
      className={`field${isDragging ? ' dragging' : ''}`}
      data-testid={`field-${kind}-${field.name}`}
      title={field.description ?? field.expr ?? ''}
      {...listeners}
      {...attributes}
      aria-label={`${kind} ${field.name}${field.description ? `: ${field.description}` : ''}. Drag into the design area.`}
    >
      <span className={`kind ${kind}`}>{kind === 'metric' ? 'M' : 'D'}</span>
      <span>
        {field.name}
        {field.description && <span className="desc">{field.description}</span>}
      </span>
      <button
        type="button"
        className="add"
        aria-label={`Add ${field.name} to ${kind === 'metric' ? 'metrics' : 'dimensions'}`}
        onPointerDown={(e) => e.stopPropagation()}
        onKeyDown={(e) => e.stopPropagation()}
        onClick={() => onAdd(data)}
      >
        +
      </button>
    </div>
  );
}

function Zone({ id, title, hint, children }: { id: string; title: string; hint: string; children: ReactNode }) {
  const { setNodeRef, isOver } = useDroppable({ id });
  const empty = Array.isArray(children) ? children.length === 0 : !children;
  return (
    <div ref={setNodeRef} className={`zone${isOver ? ' over' : ''}`} data-testid={`zone-${id}`} aria-label={title} role="group">
      <h3>{title}</h3>
      {empty ? <span className="muted">{hint}</span> : children}
    </div>
  );
}

function Chip({ kind, name, onRemove }: { kind: FieldKind; name: string; onRemove: () => void }) {
  return (
    <span className={`chip ${kind}`}>
      {name}
      <button type="button" aria-label={`Remove ${name}`} onClick={onRemove}>
        ×
      </button>
    </span>
  );
}

function FilterRows({ filters, onChange }: { filters: Filter[]; onChange: (f: Filter[]) => void }) {
  if (filters.length === 0) return null;
  const set = (i: number, f: Partial<Filter>) => onChange(filters.map((x, j) => (j === i ? { ...x, ...f } : x)));
  return (
    <div>
      {filters.map((f, i) => (
        <div key={i} className="filter-row">
          <strong>{f.field}</strong>
          <select aria-label={`Operator of filter ${i + 1}`} value={f.op} onChange={(e) => set(i, { op: e.target.value as FilterOp })}>
            {kFilterOps.map((op) => (
              <option key={op} value={op}>
                {op.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
          {!kNoValueOps.includes(f.op) && f.op !== 'between' && (
            <input
              aria-label={`Value of filter ${i + 1}`}
              value={f.values.join(kListOps.includes(f.op) ? ', ' : '')}
              placeholder={kListOps.includes(f.op) ? 'a, b, c' : 'value'}
              onChange={(e) => set(i, { values: kListOps.includes(f.op) ? e.target.value.split(',').map((v) => v.trimStart()) : [e.target.value] })}
            />
          )}
          {f.op === 'between' && (
            <>
              <input aria-label={`Lower bound of filter ${i + 1}`} value={f.values[0] ?? ''} onChange={(e) => set(i, { values: [e.target.value, f.values[1] ?? ''] })} />
              and
              <input aria-label={`Upper bound of filter ${i + 1}`} value={f.values[1] ?? ''} onChange={(e) => set(i, { values: [f.values[0] ?? '', e.target.value] })} />
            </>
          )}
          <button type="button" aria-label={`Remove filter ${i + 1}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function TimeControls({ design, update, compact = false }: { design: Pick<Design, 'range' | 'grain' | 'compare' | 'analysis'>; update: (d: Partial<Design>) => void; compact?: boolean }) {
  const custom = Array.isArray(design.range);
  const today = new Date().toISOString().slice(0, 10);
  return (
    <div className="time-row panel" style={{ marginTop: compact ? 0 : 10 }} role="group" aria-label="Time">
      <div>
        <label htmlFor="range">Time range</label>
        <select
          id="range"
          value={custom ? 'custom' : (design.range as string)}
          onChange={(e) => update({ range: e.target.value === 'custom' ? [today, today] : (e.target.value as Design['range']) })}
        >
          {kRelativeRanges.map((r) => (
            <option key={r} value={r}>
              {humanRange(r)}
            </option>
          ))}
          <option value="custom">custom dates…</option>
        </select>
      </div>
      {Array.isArray(design.range) && (
        <>
          <div>
            <label htmlFor="range-from">From</label>
            <input id="range-from" type="date" value={design.range[0]} onChange={(e) => update({ range: [e.target.value, (design.range as [string, string])[1]] })} />
          </div>
          <div>
            <label htmlFor="range-to">To</label>
            <input id="range-to" type="date" value={design.range[1]} onChange={(e) => update({ range: [(design.range as [string, string])[0], e.target.value] })} />
          </div>
        </>
      )}
      {design.analysis === 'metrics' && (
        <>
          <div>
            <label htmlFor="grain">Grain</label>
            <select id="grain" value={design.grain} onChange={(e) => update({ grain: e.target.value as Design['grain'] })}>
              <option value="none">none (totals)</option>
              {kGrains.map((g) => (
                <option key={g} value={g}>
                  {g}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="compare">Compare with</label>
            <select id="compare" value={design.compare} onChange={(e) => update({ compare: e.target.value as Design['compare'] })}>
              <option value="none">nothing</option>
              <option value="previous_period">previous period</option>
              <option value="same_period_last_week">same period last week</option>
              <option value="same_period_last_year">same period last year</option>
            </select>
          </div>
        </>
      )}
    </div>
  );
}

function ChartPicker({ design, chart, onPick }: { design: Design; chart: ChartType; onPick: (c: ChartType) => void }) {
  const suggested = suggestChart(design);
  return (
    <div className="picker" role="group" aria-label="Chart type">
      {kChartTypes.map((c) => (
        <button
          key={c.type}
          type="button"
          aria-pressed={chart === c.type}
          className={c.type === suggested ? 'suggested' : ''}
          disabled={!chartFits(c.type, design)}
          title={c.type === suggested ? 'Suggested for this design' : ''}
          onClick={() => onPick(c.type)}
        >
          {c.label}
          {c.type === suggested ? ' ★' : ''}
        </button>
      ))}
    </div>
  );
}

function FunnelBuilder({ model, design, update }: { model: Model | undefined; design: Design; update: (d: Partial<Design>) => void }) {
  const events = useEventNames(model);
  const steps = design.steps.length ? design.steps : [{ event: '' }, { event: '' }];
  const set = (i: number, event: string) => update({ steps: steps.map((s, j) => (j === i ? { event } : s)) });
  return (
    <div className="panel" role="group" aria-label="Funnel steps">
      <h2>Funnel steps</h2>
      <datalist id="event-names">{(events.data ?? []).map((e) => <option key={e} value={e} />)}</datalist>
      {steps.map((s, i) => (
        <div key={i} className="filter-row">
          <label htmlFor={`step-${i}`} className="inline">
            Step {i + 1}
          </label>
          <input id={`step-${i}`} list="event-names" value={s.event} placeholder="event name" onChange={(e) => set(i, e.target.value)} />
          {steps.length > 2 && (
            <button type="button" aria-label={`Remove step ${i + 1}`} onClick={() => update({ steps: steps.filter((_, j) => j !== i) })}>
              ×
            </button>
          )}
        </div>
      ))}
      <div className="toolbar">
        <button type="button" onClick={() => update({ steps: [...steps, { event: '' }] })}>
          Add step
        </button>
        <label className="inline" htmlFor="window">
          Conversion window
        </label>
        <input id="window" value={design.window} onChange={(e) => update({ window: e.target.value })} style={{ width: 80 }} />
        <label className="inline" htmlFor="breakdown">
          Breakdown
        </label>
        <select id="breakdown" value={design.breakdown} onChange={(e) => update({ breakdown: e.target.value })}>
          <option value="">none</option>
          {(model?.dimensions ?? []).map((d) => (
            <option key={d.name} value={d.name}>
              {d.name}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

function RetentionBuilder({ model, design, update }: { model: Model | undefined; design: Design; update: (d: Partial<Design>) => void }) {
  const events = useEventNames(model);
  return (
    <div className="panel toolbar" role="group" aria-label="Retention">
      <datalist id="event-names-r">{(events.data ?? []).map((e) => <option key={e} value={e} />)}</datalist>
      <label className="inline" htmlFor="start-event">
        Cohort: first
      </label>
      <input id="start-event" list="event-names-r" value={design.startEvent} placeholder="install" onChange={(e) => update({ startEvent: e.target.value })} />
      <label className="inline" htmlFor="return-event">
        returning with
      </label>
      <input id="return-event" list="event-names-r" value={design.returnEvent} placeholder="login" onChange={(e) => update({ returnEvent: e.target.value })} />
      <label className="inline" htmlFor="period">
        by
      </label>
      <select id="period" value={design.retentionGrain} onChange={(e) => update({ retentionGrain: e.target.value as Design['retentionGrain'] })}>
        <option value="day">day</option>
        <option value="week">week</option>
        <option value="month">month</option>
      </select>
      <label className="inline" htmlFor="periods">
        periods
      </label>
      <input id="periods" type="number" min={1} max={90} value={design.periods} onChange={(e) => update({ periods: Number(e.target.value) })} style={{ width: 70 }} />
    </div>
  );
}

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function ResultArea({
  design,
  chart,
  problems,
  request,
  result,
  loading,
  error,
  onRun,
  additive,
  chartId,
  saved,
}: {
  design: Design;
  chart: ChartType;
  problems: string[];
  request: unknown;
  result: QueryResult | undefined;
  loading: boolean;
  error: unknown;
  onRun: () => void;
  additive: ReadonlySet<string>;
  chartId: string;
  saved: SavedChart | undefined;
}) {
  const { can } = useSession();
  const qc = useQueryClient();
  const [saving, setSaving] = useState(false);
  const [name, setName] = useState(saved?.name ?? '');
  const [description, setDescription] = useState(saved?.description ?? '');
  const [savedMsg, setSavedMsg] = useState('');
  const save = useMutation({
    mutationFn: async (asNew: boolean) => {
      const body = { name: name.trim(), description: description.trim(), chart_type: chart, query: request, design };
      return asNew || !chartId ? api.createChart(body) : api.updateChart(chartId, body);
    },
    onSuccess: (c) => {
      setSaving(false);
      setSavedMsg(`Saved "${c?.name ?? name}".`);
      void qc.invalidateQueries({ queryKey: ['charts'] });
    },
  });
  const metrics = design.analysis === 'metrics' ? design.metrics : [];
  const dims = design.analysis === 'metrics' ? design.dimensions : [];
  return (
    <div className="panel">
      <div className="toolbar">
        <button type="button" className="primary" onClick={onRun} disabled={problems.length > 0 || loading}>
          {loading ? 'Querying…' : 'Query'}
        </button>
        {result && (
          <span className="muted" data-testid="query-info">
            {result.rows.length} row(s) · {result.elapsed_ms !== undefined ? `${Math.round(result.elapsed_ms)} ms` : ''}
            {result.cached ? ' · cached' : ''}
            {result.complete_until ? ` · complete until ${result.complete_until.slice(0, 16).replace('T', ' ')}` : ''}
          </span>
        )}
        <span className="spacer" />
        <button type="button" disabled={!result} onClick={() => result && download(`${design.model}.csv`, toCsv(result), 'text/csv')}>
          Download CSV
        </button>
        {can.editCharts && (
          <button type="button" disabled={!result} onClick={() => { setName(saved?.name ?? name); setSaving(true); }}>
            {chartId ? 'Save chart…' : 'Save as chart…'}
          </button>
        )}
      </div>
      {savedMsg && <div className="muted" role="status">{savedMsg}</div>}
      {problems.length > 0 && (
        <div className="empty" data-testid="design-problems">
          {problems.map((p) => (
            <div key={p}>{p}</div>
          ))}
        </div>
      )}
      <ErrorBox error={error} title="The query failed" />
      {loading && !result && <Loading what="Running the query" />}
      {result?.message && <div className="error" role="alert">{result.message}</div>}
      {result && problems.length === 0 && (
        <div data-testid="result" aria-busy={loading}>
          <ChartView type={chart} result={result} dimensions={dims} metrics={metrics} grain={design.grain} additive={additive} title="Query result" />
        </div>
      )}
      {result?.sql && (
        <details className="sql">
          <summary>Generated SQL</summary>
          <pre data-testid="generated-sql">{result.sql}</pre>
        </details>
      )}
      <ConfirmDialog
        open={saving}
        title={chartId ? 'Save chart' : 'Save as chart'}
        confirmLabel="Save"
        onConfirm={() => (name.trim() ? save.mutate(false) : undefined)}
        onCancel={() => setSaving(false)}
      >
        <label htmlFor="chart-name">Name</label>
        <input id="chart-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Revenue by channel" />
        <label htmlFor="chart-desc">Description</label>
        <textarea id="chart-desc" rows={3} value={description} onChange={(e) => setDescription(e.target.value)} />
        {!name.trim() && <p className="muted">Give the chart a name.</p>}
        <ErrorBox error={save.error} />
        {chartId && (
          <button type="button" onClick={() => name.trim() && save.mutate(true)}>
            Save as a new chart instead
          </button>
        )}
      </ConfirmDialog>
    </div>
  );
}
