// The catalogue: search tables, columns, metrics and data APIs; a table page with its columns,
// freshness, and lineage (upstream tasks → table → models, charts, APIs). Uses
// GET /api/v1/catalog; on a server without it, an admin sees the warehouse's own schema
// (tables, columns, row counts) without lineage.

import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { Background, Position, ReactFlow, type Edge, type Node } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { ApiError } from '../api/client';
import { api } from '../api/endpoints';
import { useSession } from '../auth';
import { Empty, ErrorBox, Loading } from '../components/common';
import { formatTime, formatValue } from '../lib/format';
import { arr, isObj, num, sqlObjects, str, type Obj } from '../lib/loose';

interface Catalog {
  tables: Obj[];
  metrics: Obj[];
  apis: Obj[];
  lineage: boolean; // false: read from the warehouse schema, no lineage
}

async function fetchCatalog(admin: boolean): Promise<Catalog> {
  try {
    const c = await api.catalog();
    const tables = arr(c, 'tables');
    return { tables, metrics: metricsOf(tables), apis: apisOf(tables), lineage: true };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 || !admin) throw e;
  }
  const cols = sqlObjects(
    await api.sql(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' ORDER BY table_name, ordinal_position",
      20_000,
    ),
  );
  const sizes = sqlObjects(await api.sql("SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'main'"));
  const byTable = new Map<string, Obj>();
  for (const c of cols) {
    const t = str(c, 'table_name');
    if (!byTable.has(t)) byTable.set(t, { name: t, columns: [] as Obj[], row_count: num(sizes.find((s) => str(s, 'table_name') === t), 'estimated_size') });
    (byTable.get(t)?.columns as Obj[]).push({ name: str(c, 'column_name'), type: str(c, 'data_type') });
  }
  return { tables: [...byTable.values()], metrics: [], apis: [], lineage: false };
}

function lineageOf(t: Obj | undefined): Obj {
  return t && isObj(t.lineage) ? t.lineage : {};
}

// Every metric named in the tables' lineage, with the saved charts that show it: "who uses this
// metric".
export function metricsOf(tables: Obj[]): Obj[] {
  const out = new Map<string, Obj>();
  for (const t of tables) {
    const l = lineageOf(t);
    for (const m of arr(l, 'metrics')) {
      const key = `${str(m, 'model')}.${str(m, 'metric')}`;
      if (out.has(key)) continue;
      const charts = arr(l, 'charts').filter((c) => str(c, 'model') === str(m, 'model') && Array.isArray(c.metrics) && (c.metrics as unknown[]).includes(str(m, 'metric')));
      out.set(key, { name: str(m, 'metric'), model: str(m, 'model'), used_by: charts });
    }
  }
  return [...out.values()].sort((a, b) => str(a, 'name').localeCompare(str(b, 'name')));
}

export function apisOf(tables: Obj[]): Obj[] {
  const out = new Map<string, Obj>();
  for (const t of tables) for (const a of arr(lineageOf(t), 'apis')) out.set(str(a, 'api'), { name: str(a, 'api'), path: str(a, 'path') });
  return [...out.values()];
}

function useCatalog() {
  const { role } = useSession();
  return useQuery({ queryKey: ['catalog'], queryFn: () => fetchCatalog(role === 'admin'), staleTime: 30_000 });
}

function matches(o: Obj, q: string, extra = ''): boolean {
  if (!q) return true;
  return `${str(o, 'name')} ${str(o, 'description')} ${extra}`.toLowerCase().includes(q.toLowerCase());
}

export function CatalogPage() {
  const cat = useCatalog();
  const [q, setQ] = useState('');
  const tables = (cat.data?.tables ?? []).filter((t) => matches(t, q, arr(t, 'columns').map((c) => `${str(c, 'name')} ${str(c, 'description')}`).join(' ')));
  const metrics = (cat.data?.metrics ?? []).filter((m) => matches(m, q));
  const apis = (cat.data?.apis ?? []).filter((a) => matches(a, q));
  return (
    <section>
      <h1>Catalogue</h1>
      <div className="search-row">
        <input type="search" aria-label="Search the catalogue" placeholder="Search tables, columns, metrics, data APIs" value={q} onChange={(e) => setQ(e.target.value)} />
      </div>
      <ErrorBox error={cat.error} />
      {cat.isPending && <Loading what="Loading the catalogue" />}
      {cat.data && !cat.data.lineage && <p className="muted">This server has no catalogue API yet: tables and columns come from the warehouse schema, without lineage or descriptions.</p>}
      {cat.data && (
        <>
          <h2>Tables ({tables.length})</h2>
          {tables.length === 0 ? (
            <Empty>No table matches.</Empty>
          ) : (
            <table className="grid-table" aria-label="Tables">
              <thead>
                <tr>
                  <th scope="col">table</th>
                  <th scope="col">description</th>
                  <th scope="col">owner</th>
                  <th scope="col">rows</th>
                  <th scope="col">columns</th>
                  <th scope="col">last load</th>
                </tr>
              </thead>
              <tbody>
                {tables.map((t) => (
                  <tr key={str(t, 'name')}>
                    <td>
                      <Link to={`/catalog/tables/${encodeURIComponent(str(t, 'name'))}`}>{str(t, 'name')}</Link>
                    </td>
                    <td>{str(t, 'description')}</td>
                    <td>{str(t, 'owner')}</td>
                    <td>{formatValue(num(t, 'row_count', 'rows'))}</td>
                    <td>{arr(t, 'columns').length}</td>
                    <td>{formatTime(str(t, 'freshness', 'last_load', 'last_loaded_at'))}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {metrics.length > 0 && (
            <>
              <h2 style={{ marginTop: 16 }}>Metrics ({metrics.length})</h2>
              <table className="grid-table" aria-label="Metrics">
                <tbody>
                  {metrics.map((m) => (
                    <tr key={`${str(m, 'model')}.${str(m, 'name')}`}>
                      <td>
                        <code>{str(m, 'model') ? `${str(m, 'model')}.` : ''}{str(m, 'name')}</code>
                      </td>
                      <td>{str(m, 'description')}</td>
                      <td className="muted">{arr(m, 'used_by', 'consumers').map((c) => str(c, 'name')).join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
          {apis.length > 0 && (
            <>
              <h2 style={{ marginTop: 16 }}>Data APIs ({apis.length})</h2>
              <ul className="plain">
                {apis.map((a) => (
                  <li key={str(a, 'name')}>
                    <Link to="/apis">{str(a, 'name')}</Link> <span className="muted">{str(a, 'description')}</span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}

// Lineage entries as labels: {dag, task} → "dag.task", {loader} → "the loader", {model, metric}
// → "model.metric", {api}, {model}, or {name} for charts and dashboards.
export function labelsOf(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((x) => {
      if (!isObj(x)) return str(x);
      if (x.dag !== undefined && x.task !== undefined) return `${str(x, 'dag')}.${str(x, 'task')}`;
      if (x.loader !== undefined) return 'the loader';
      if (x.metric !== undefined) return `${str(x, 'model')}.${str(x, 'metric')}`;
      return str(x, 'name', 'api', 'model', 'id');
    })
    .filter(Boolean);
}

export function CatalogTablePage() {
  const { table = '' } = useParams();
  const cat = useCatalog();
  const t = cat.data?.tables.find((x) => str(x, 'name') === table);
  const lineage = lineageOf(t);
  const upstream = labelsOf(lineage.written_by);
  const consumers = [
    ...labelsOf(lineage.read_by).map((n) => `task ${n}`),
    ...labelsOf(lineage.models).map((n) => `model ${n}`),
    ...labelsOf(lineage.metrics).map((n) => `metric ${n}`),
    ...labelsOf(lineage.apis).map((n) => `API ${n}`),
    ...labelsOf(lineage.charts).map((n) => `chart ${n}`),
    ...labelsOf(lineage.dashboards).map((n) => `dashboard ${n}`),
  ];
  const graph = useMemo(() => {
    const nodes: Node[] = [];
    const edges: Edge[] = [];
    const style = (bg: string) => ({ background: bg, border: '1px solid #90a4ae', borderRadius: 6, fontSize: 12, width: 200 });
    upstream.forEach((u, i) => {
      nodes.push({ id: `u:${u}`, position: { x: 0, y: i * 60 }, data: { label: u === 'the loader' ? u : `task ${u}` }, sourcePosition: Position.Right, targetPosition: Position.Left, style: style('#fff3e0') });
      edges.push({ id: `e:u:${u}`, source: `u:${u}`, target: 't' });
    });
    const mid = Math.max(upstream.length, consumers.length, 1) * 30 - 30;
    nodes.push({ id: 't', position: { x: 300, y: mid }, data: { label: table }, sourcePosition: Position.Right, targetPosition: Position.Left, style: { ...style('#e3f2fd'), fontWeight: 700 } });
    consumers.forEach((c, i) => {
      nodes.push({ id: `c:${c}`, position: { x: 600, y: i * 60 }, data: { label: c }, sourcePosition: Position.Right, targetPosition: Position.Left, style: style('#e8f5e9') });
      edges.push({ id: `e:c:${c}`, source: 't', target: `c:${c}` });
    });
    return { nodes, edges, height: Math.max(upstream.length, consumers.length, 1) * 60 + 60 };
  }, [upstream, consumers, table]);

  if (cat.isPending) return <Loading />;
  if (cat.error) return <ErrorBox error={cat.error} />;
  if (!t) return <Empty>No table “{table}” in the catalogue.</Empty>;
  const cols = arr(t, 'columns');
  return (
    <section>
      <div className="crumbs">
        <Link to="/catalog">Catalogue</Link> / {table}
      </div>
      <h1>{table}</h1>
      <p className="muted">
        {str(t, 'description')} {str(t, 'owner') ? `· owner ${str(t, 'owner')}` : ''} · {formatValue(num(t, 'row_count', 'rows'))} rows · last load{' '}
        {formatTime(str(t, 'freshness', 'last_load', 'last_loaded_at'))}
      </p>
      <div className="panel">
        <h2>Lineage</h2>
        {cat.data?.lineage ? (
          <div style={{ height: graph.height }} className="dag-graph" data-testid="lineage-graph">
            <ReactFlow nodes={graph.nodes} edges={graph.edges} fitView nodesDraggable={false} nodesConnectable={false} proOptions={{ hideAttribution: true }}>
              <Background />
            </ReactFlow>
          </div>
        ) : (
          <p className="muted">Lineage needs the catalogue API (not on this server yet).</p>
        )}
      </div>
      <div className="panel">
        <h2>Columns ({cols.length})</h2>
        <table className="grid-table" aria-label="Columns">
          <thead>
            <tr>
              <th scope="col">column</th>
              <th scope="col">type</th>
              <th scope="col">description</th>
            </tr>
          </thead>
          <tbody>
            {cols.map((c) => (
              <tr key={str(c, 'name')}>
                <td>
                  <code>{str(c, 'name')}</code>
                </td>
                <td>{str(c, 'type')}</td>
                <td>{str(c, 'description')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
