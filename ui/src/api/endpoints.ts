// Typed calls of the console API, one function per endpoint the pages use.

import { del, get, post, put, request } from './client';
import type {
  Dashboard,
  DagDetail,
  DagRun,
  DagSummary,
  Model,
  QueryResult,
  RunDetail,
  SavedChart,
  SqlResult,
  Status,
} from './types';

const enc = encodeURIComponent;

export const api = {
  status: () => get<Status>('/api/v1/status'),
  sql: (sql: string, maxRows = 10_000) => post<SqlResult>('/api/v1/sql', { sql, max_rows: maxRows, timeout_ms: 30_000 }),

  dags: () => get<{ dags: DagSummary[]; errors: string[] }>('/api/v1/domino/dags'),
  dag: (dag: string) => get<DagDetail>(`/api/v1/domino/dags/${enc(dag)}`),
  runs: (q: { dag?: string; state?: string; from?: string; to?: string; limit?: number }) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
    return get<{ runs: DagRun[] }>(`/api/v1/domino/runs?${p.toString()}`);
  },
  run: (dag: string, run: string) => get<RunDetail>(`/api/v1/domino/dags/${enc(dag)}/runs/${enc(run)}`),
  log: (dag: string, run: string, task: string, attempt?: number) =>
    request<string>(
      `/api/v1/domino/dags/${enc(dag)}/runs/${enc(run)}/tasks/${enc(task)}/log${attempt ? `?attempt=${attempt}` : ''}`,
      { accept: 'text' },
    ),
  why: (dag: string, run: string, task: string) =>
    get<{ why: string }>(`/api/v1/domino/dags/${enc(dag)}/runs/${enc(run)}/tasks/${enc(task)}/why`),
  trigger: (dag: string, body: { date?: string; params?: Record<string, unknown> }) =>
    post<DagRun>(`/api/v1/domino/dags/${enc(dag)}/trigger`, body),
  backfill: (dag: string, body: { from: string; to: string; rerun_failed: boolean }) =>
    post<{ runs: DagRun[] }>(`/api/v1/domino/dags/${enc(dag)}/backfill`, body),
  pause: (dag: string, paused: boolean) => post(`/api/v1/domino/dags/${enc(dag)}/${paused ? 'pause' : 'unpause'}`),
  clear: (dag: string, run: string, task: string, downstream: boolean) =>
    post<{ cleared: string[] }>(`/api/v1/domino/dags/${enc(dag)}/runs/${enc(run)}/tasks/${enc(task)}/clear`, { downstream }),
  mark: (dag: string, run: string, task: string, state: 'success' | 'failed') =>
    post(`/api/v1/domino/dags/${enc(dag)}/runs/${enc(run)}/tasks/${enc(task)}/mark`, { state }),

  models: () => get<{ models: Model[] } | Model[]>('/api/v1/models'),
  query: (q: unknown) => post<QueryResult>('/api/v1/query', q),

  charts: () => get<{ charts: SavedChart[] } | SavedChart[]>('/api/v1/charts'),
  chart: (id: string) => get<SavedChart>(`/api/v1/charts/${enc(id)}`),
  createChart: (c: Omit<SavedChart, 'id'>) => post<SavedChart>('/api/v1/charts', c),
  updateChart: (id: string, c: Partial<SavedChart>) => put<SavedChart>(`/api/v1/charts/${enc(id)}`, c),
  deleteChart: (id: string) => del(`/api/v1/charts/${enc(id)}`),

  dashboards: () => get<{ dashboards: Dashboard[] } | Dashboard[]>('/api/v1/dashboards'),
  dashboard: (id: string) => get<Dashboard>(`/api/v1/dashboards/${enc(id)}`),
  createDashboard: (d: Omit<Dashboard, 'id'>) => post<Dashboard>('/api/v1/dashboards', d),
  updateDashboard: (id: string, d: Partial<Dashboard>) => put<Dashboard>(`/api/v1/dashboards/${enc(id)}`, d),
  deleteDashboard: (id: string) => del(`/api/v1/dashboards/${enc(id)}`),

  tracking: () => get<Record<string, unknown>>('/api/v1/tracking'),
  undeclared: () => get<Record<string, unknown>>('/api/v1/tracking/undeclared'),
  quarantine: (q: { source?: string; reason?: string; limit?: number }) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') p.set(k, String(v));
    return get<Record<string, unknown>>(`/api/v1/quarantine?${p.toString()}`);
  },
  catalog: (q = '') => get<Record<string, unknown>>(`/api/v1/catalog${q ? `?q=${enc(q)}` : ''}`),
  openapi: () => get<Record<string, unknown>>('/data/v1/openapi.json'),
  keys: () => get<Record<string, unknown>>('/api/v1/keys'),
};

// Lists come either bare or wrapped in an object ({"charts": [...]}); accept both.
export function listOf<T>(v: unknown, key: string): T[] {
  if (Array.isArray(v)) return v as T[];
  if (v && typeof v === 'object' && Array.isArray((v as Record<string, unknown>)[key])) {
    return (v as Record<string, T[]>)[key] ?? [];
  }
  return [];
}
