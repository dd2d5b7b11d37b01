// The JSON shapes of the console API, as the server sends them.

export interface Column {
  name: string;
  type?: string;
  format?: string;
  kind?: string; // time, dimension, metric, compare, change, value
  description?: string;
}

export interface QueryResult {
  columns: Column[];
  rows: unknown[][] | Record<string, unknown>[];
  sql?: string;
  cached?: boolean;
  elapsed_ms?: number;
  complete_until?: string;
  truncated?: boolean;
  message?: string;
}

export interface SqlResult {
  columns: Column[];
  rows: unknown[][];
  truncated?: boolean;
  elapsed_ms?: number;
}

export interface Status {
  loader?: {
    events: number;
    quarantined: number;
    duplicates: number;
    batches: number;
    errors: number;
    position: number;
    lag_events: number;
    lag_seconds: number;
    stuck: boolean;
  };
  wal?: { first_lsn: number; durable_end: number; bytes_on_disk: number; segments: number; writable: boolean };
  [key: string]: unknown;
}

export interface WhoAmI {
  role: string;
  name?: string;
}

export type TaskState =
  | 'none'
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'success'
  | 'failed'
  | 'up_for_retry'
  | 'skipped'
  | 'upstream_failed'
  | string;

export interface GraphNode {
  id: string;
  type: string;
  pool: string;
  priority: number;
  trigger_rule: string;
  state: TaskState;
}
export interface Graph {
  nodes: GraphNode[];
  edges: { from: string; to: string }[];
}

export interface DagRun {
  dag: string;
  run_id: string;
  type: string;
  state: string;
  logical_date: string;
  data_interval_start: string;
  data_interval_end: string;
  dag_hash: string;
  params: Record<string, unknown>;
  started_at: string;
  ended_at: string;
  duration_s: number;
  definition_changed?: boolean;
}

export interface DagSummary {
  dag: string;
  description: string;
  owner: string;
  schedule: string;
  timezone: string;
  paused: boolean;
  hash: string;
  next_run_at?: string; // when the scheduler next creates a run ("" when paused or unscheduled)
  last_run: DagRun | null;
  graph: Graph;
}

export interface DagDetail {
  dag: string;
  description: string;
  owner: string;
  file: string;
  schedule: string;
  timezone: string;
  catchup: boolean;
  max_active_runs: number;
  max_active_tasks: number;
  params: Record<string, unknown>;
  paused: boolean;
  hash: string;
  versions: { hash: string; first_seen: string }[];
  tasks: { id: string; type: string; upstream: string[]; retries: number; timeout_s: number; pool: string; priority: number }[];
  graph: Graph;
}

export interface Attempt {
  attempt: number;
  state: string;
  started_at: string;
  ended_at: string;
  duration_s: number;
  exit_code: number;
  message: string;
}

export interface TaskInstance {
  task: string;
  type: string;
  state: TaskState;
  tries: number;
  message: string;
  attempts: Attempt[];
  log_tail: string;
}

export interface RunDetail extends DagRun {
  tasks: TaskInstance[];
  graph: Graph;
}

// The metrics layer's models (GET /api/v1/models).
export interface ModelField {
  name: string;
  description?: string;
  type?: string;
  format?: string;
  agg?: string;
  expr?: string;
}
export interface Model {
  name: string;
  description?: string;
  time?: string;
  dimensions: ModelField[];
  measures: ModelField[];
  metrics: ModelField[];
}

export interface SavedChart {
  id: string | number;
  name: string;
  description?: string;
  chart_type?: string;
  query?: unknown;
  design?: unknown;
  [key: string]: unknown;
}

export interface Dashboard {
  id: string | number;
  name: string;
  description?: string;
  charts?: unknown; // chart ids or {id, x, y, w, h}
  [key: string]: unknown;
}
