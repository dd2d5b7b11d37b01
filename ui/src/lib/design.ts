// The Explore page's design area as data, and its translation into a `POST /api/v1/query`
// request (the metrics layer's contract: model, metrics, dimensions, time, filters, compare,
// order, limit; funnel and retention as analyses on the same endpoint).

export type Grain = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year';
export const kGrains: Grain[] = ['minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];

export const kRelativeRanges = [
  'today',
  'yesterday',
  'last_7_days',
  'last_14_days',
  'last_30_days',
  'last_90_days',
  'this_week',
  'this_month',
  'last_month',
  'this_year',
] as const;
export type RelativeRange = (typeof kRelativeRanges)[number];
export type TimeRange = RelativeRange | [string, string];

export type Compare = 'none' | 'previous_period' | 'same_period_last_week' | 'same_period_last_year';

export const kFilterOps = [
  '=',
  '!=',
  'in',
  'not_in',
  '>',
  '>=',
  '<',
  '<=',
  'between',
  'contains',
  'starts_with',
  'is_null',
  'is_not_null',
] as const;
export type FilterOp = (typeof kFilterOps)[number];

export interface Filter {
  field: string;
  kind: 'dimension' | 'metric';
  op: FilterOp;
  values: string[]; // as typed; converted to numbers for numeric fields
}

export type Analysis = 'metrics' | 'funnel' | 'retention';

export interface FunnelStep {
  event: string;
}

export interface Design {
  model: string;
  analysis: Analysis;
  metrics: string[];
  dimensions: string[];
  filters: Filter[];
  range: TimeRange;
  grain: Grain | 'none';
  compare: Compare;
  order: { field: string; desc: boolean } | null;
  limit: number;
  // funnel
  steps: FunnelStep[];
  window: string; // "1d", "7d", "30m"
  breakdown: string; // a dimension or ""
  // retention
  startEvent: string;
  returnEvent: string;
  retentionGrain: 'day' | 'week' | 'month';
  periods: number;
}

export function emptyDesign(model = ''): Design {
  return {
    model,
    analysis: 'metrics',
    metrics: [],
    dimensions: [],
    filters: [],
    range: 'last_14_days',
    grain: 'day', // a metric over the last 14 days, by day: what most questions start from
    compare: 'none',
    order: null,
    limit: 1000,
    steps: [],
    window: '1d',
    breakdown: '',
    startEvent: '',
    returnEvent: '',
    retentionGrain: 'day',
    periods: 7,
  };
}

export const kNoValueOps: FilterOp[] = ['is_null', 'is_not_null'];
export const kListOps: FilterOp[] = ['in', 'not_in'];

// Why the design cannot be queried yet, in words; empty when it can.
export function designProblems(d: Design): string[] {
  const p: string[] = [];
  if (!d.model) p.push('Choose a model.');
  if (d.analysis === 'metrics') {
    if (d.metrics.length === 0) p.push('Drop at least one metric into Metrics.');
  } else if (d.analysis === 'funnel') {
    if (d.steps.length < 2) p.push('A funnel needs at least two steps.');
    if (d.steps.some((s) => !s.event)) p.push('Every funnel step needs an event.');
    if (!/^\d+[mhdw]$/.test(d.window)) p.push('The conversion window looks like 30m, 1h, 7d or 2w.');
  } else {
    if (!d.startEvent) p.push('Choose the cohort event (first occurrence).');
    if (!d.returnEvent) p.push('Choose the returning event.');
    if (!(d.periods >= 1 && d.periods <= 90)) p.push('Periods must be between 1 and 90.');
  }
  if (Array.isArray(d.range)) {
    const [from, to] = d.range;
    if (!isDate(from) || !isDate(to)) p.push('The time range needs two dates (YYYY-MM-DD).');
    else if (from > to) p.push('The time range starts after it ends.');
  }
  d.filters.forEach((f, i) => {
    const n = `Filter ${i + 1} (${f.field})`;
    if (kNoValueOps.includes(f.op)) return;
    const vals = f.values.filter((v) => v.trim() !== '');
    if (f.op === 'between' && vals.length !== 2) p.push(`${n}: "between" needs two values.`);
    else if (vals.length === 0) p.push(`${n}: give a value.`);
    else if (!kListOps.includes(f.op) && f.op !== 'between' && vals.length > 1)
      p.push(`${n}: "${f.op}" takes one value; use "in" for several.`);
    if (f.kind === 'metric' && vals.some((v) => !Number.isFinite(Number(v))))
      p.push(`${n}: a metric is compared with numbers.`);
  });
  return p;
}

function isDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s);
}

// A filter value as JSON: numbers for metric filters and numeric dimensions.
function typedValue(v: string, numeric: boolean): string | number {
  const t = v.trim();
  if (numeric && t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

export type QueryRequest = Record<string, unknown>;

// The request body for POST /api/v1/query. `numericDimensions` names the dimensions whose
// filter values are numbers. REQUIRES: designProblems(d) is empty.
export function toQuery(d: Design, numericDimensions: ReadonlySet<string> = new Set()): QueryRequest {
  const time: Record<string, unknown> = { range: d.range };
  const filters = d.filters.map((f) => {
    const numeric = f.kind === 'metric' || numericDimensions.has(f.field);
    const out: Record<string, unknown> = { [f.kind]: f.field, op: f.op };
    if (!kNoValueOps.includes(f.op)) {
      const vals = f.values.filter((v) => v.trim() !== '').map((v) => typedValue(v, numeric));
      out.values = vals; // the contract's one form: a list, also for single-value operators
    }
    return out;
  });
  if (d.analysis === 'funnel') {
    const q: QueryRequest = {
      model: d.model,
      type: 'funnel',
      steps: d.steps.map((s) => ({ event: s.event })),
      window: d.window,
      time,
    };
    if (d.breakdown) q.breakdown = d.breakdown;
    if (filters.length) q.filters = filters;
    return q;
  }
  if (d.analysis === 'retention') {
    const q: QueryRequest = {
      model: d.model,
      type: 'retention',
      start: { event: d.startEvent },
      return: { event: d.returnEvent },
      period: d.retentionGrain,
      periods: d.periods,
      time,
    };
    if (filters.length) q.filters = filters;
    return q;
  }
  if (d.grain !== 'none') time.grain = d.grain;
  const q: QueryRequest = { model: d.model, metrics: [...d.metrics], dimensions: [...d.dimensions], time };
  if (filters.length) q.filters = filters;
  if (d.compare !== 'none') q.compare = d.compare;
  if (d.order && (d.metrics.includes(d.order.field) || d.dimensions.includes(d.order.field))) {
    const key = d.metrics.includes(d.order.field) ? 'metric' : 'dimension';
    q.order = [{ [key]: d.order.field, desc: d.order.desc }];
  }
  q.limit = d.limit;
  return q;
}

// Moves `item` into `list` at `index` (or to the end), without duplicates.
export function insertUnique(list: string[], item: string, index = list.length): string[] {
  const rest = list.filter((x) => x !== item);
  const at = Math.max(0, Math.min(index, rest.length));
  return [...rest.slice(0, at), item, ...rest.slice(at)];
}

// Design <-> URL: a saved or shared design is its JSON in the "q" parameter.
export function encodeDesign(d: Design): string {
  return btoa(unescape(encodeURIComponent(JSON.stringify(d))));
}

export function decodeDesign(s: string): Design | null {
  try {
    const raw = JSON.parse(decodeURIComponent(escape(atob(s)))) as Partial<Design>;
    if (typeof raw !== 'object' || raw === null || typeof raw.model !== 'string') return null;
    return { ...emptyDesign(raw.model), ...raw };
  } catch {
    return null;
  }
}
