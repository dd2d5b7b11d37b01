// Published data APIs: the list with parameters (from /data/v1/openapi.json), a "try it" form
// showing the URL and the response, and API key management for admins.

import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { errorText, request } from '../api/client';
import { api } from '../api/endpoints';
import { useSession } from '../auth';
import { ConfirmDialog, Empty, ErrorBox, Loading } from '../components/common';
import { formatTime } from '../lib/format';
import { arr, isObj, num, str, type Obj } from '../lib/loose';
import { DataTable } from '../components/data_table';
import type { QueryResult } from '../api/types';

interface ApiSpec {
  name: string;
  path: string;
  description: string;
  params: { name: string; type: string; required: boolean; description: string; min?: number; max?: number; allowed?: string[]; format?: string }[];
}

export function specsOf(openapi: unknown): ApiSpec[] {
  if (!isObj(openapi) || !isObj(openapi.paths)) return [];
  const out: ApiSpec[] = [];
  for (const [path, item] of Object.entries(openapi.paths)) {
    if (!isObj(item) || !isObj(item.get)) continue;
    const get = item.get;
    out.push({
      name: path.replace(/^\/data\/v1\//, ''),
      path: path.startsWith('/data/') ? path : `/data/v1${path.startsWith('/') ? '' : '/'}${path}`,
      description: str(get, 'description', 'summary'),
      // "format" (json/csv) is the form's own selector.
      params: arr(get, 'parameters')
        .filter((p) => str(p, 'name') !== 'format')
        .map((p) => {
          const schema = isObj(p.schema) ? p.schema : {};
          return {
            name: str(p, 'name'),
            type: str(schema, 'type') || 'string',
            required: p.required === true,
            description: str(p, 'description'),
            min: typeof schema.minimum === 'number' ? schema.minimum : undefined,
            max: typeof schema.maximum === 'number' ? schema.maximum : undefined,
            ...(Array.isArray(schema.enum) ? { allowed: schema.enum.map((x) => String(x)) } : {}),
            ...(typeof schema.format === 'string' ? { format: schema.format } : {}),
          };
        }),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function TryIt({ spec }: { spec: ApiSpec }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [format, setFormat] = useState('json');
  const [answer, setAnswer] = useState<{ url: string; text: string; error: boolean; table?: QueryResult } | null>(null);
  const qs = new URLSearchParams();
  for (const p of spec.params) if (values[p.name]) qs.set(p.name, values[p.name] ?? '');
  if (format === 'csv') qs.set('format', 'csv');
  const url = `${spec.path}${qs.toString() ? `?${qs.toString()}` : ''}`;
  const run = async () => {
    try {
      const text = await request<string>(url, { accept: 'text' });
      let shown = text;
      let table: QueryResult | undefined;
      try {
        const j: unknown = JSON.parse(text);
        shown = JSON.stringify(j, null, 2);
        if (isObj(j) && Array.isArray(j.columns) && Array.isArray(j.rows)) table = j as unknown as QueryResult;
      } catch {
        // CSV or text: as is
      }
      setAnswer({ url, text: shown, error: false, table });
    } catch (e) {
      setAnswer({ url, text: errorText(e), error: true });
    }
  };
  return (
    <div>
      {spec.params.map((p) => (
        <div key={p.name} className="filter-row">
          <label className="inline" htmlFor={`${spec.name}-${p.name}`}>
            <code>{p.name}</code> ({p.type}
            {p.required ? ', required' : ''}
            {p.min !== undefined ? `, ≥ ${p.min}` : ''}
            {p.max !== undefined ? `, ≤ ${p.max}` : ''})
          </label>
          {p.allowed ? (
            <select id={`${spec.name}-${p.name}`} value={values[p.name] ?? ''} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}>
              <option value="">{p.required ? 'choose…' : 'any'}</option>
              {p.allowed.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
          ) : (
            <input
              id={`${spec.name}-${p.name}`}
              type={p.format === 'date' ? 'date' : p.type === 'integer' || p.type === 'number' ? 'number' : 'text'}
              min={p.min}
              max={p.max}
              value={values[p.name] ?? ''}
              onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
            />
          )}
          <span className="muted">{p.description}</span>
        </div>
      ))}
      <div className="toolbar">
        <select aria-label="Format" value={format} onChange={(e) => setFormat(e.target.value)}>
          <option value="json">JSON</option>
          <option value="csv">CSV</option>
        </select>
        <button type="button" className="primary" onClick={() => void run()}>
          Try it
        </button>
        <code>{url}</code>
      </div>
      {answer?.table && <DataTable columns={answer.table.columns} rows={answer.table.rows as unknown[][]} height={240} label={`Answer of ${spec.name}`} />}
      {answer && (answer.error ? <div className="error" role="alert">{answer.text}</div> : <details open={!answer.table}><summary>Response</summary><pre className="json" data-testid="api-answer">{answer.text}</pre></details>)}
    </div>
  );
}

function Keys() {
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ['keys'], queryFn: api.keys });
  const [name, setName] = useState('');
  const [role, setRole] = useState('analyst');
  const [apis, setApis] = useState('');
  const [created, setCreated] = useState('');
  const [revoking, setRevoking] = useState<Obj | null>(null);
  const create = useMutation({
    mutationFn: () => request<Obj>('/api/v1/keys', { method: 'POST', body: { name, role, apis: apis.split(',').map((s) => s.trim()).filter(Boolean) } }),
    onSuccess: (k) => {
      setCreated(str(k, 'key', 'token', 'secret'));
      void qc.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (k: Obj) => request(`/api/v1/keys/${encodeURIComponent(str(k, 'id', 'name'))}`, { method: 'DELETE' }),
    onSuccess: () => {
      setRevoking(null);
      void qc.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const list = arr(keys.data, 'keys');
  return (
    <div className="panel">
      <h2>API keys</h2>
      <ErrorBox error={keys.error} />
      {list.length > 0 && (
        <table className="grid-table" aria-label="API keys">
          <thead>
            <tr>
              <th scope="col">name</th>
              <th scope="col">role</th>
              <th scope="col">APIs</th>
              <th scope="col">created</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {list.map((k) => (
              <tr key={str(k, 'id', 'name')}>
                <td>{str(k, 'name')}</td>
                <td>{str(k, 'role')}</td>
                <td>{Array.isArray(k.apis) ? (k.apis as unknown[]).join(', ') : str(k, 'apis')}</td>
                <td>{num(k, 'created_us') ? formatTime(new Date((num(k, 'created_us') ?? 0) / 1000).toISOString()) : formatTime(str(k, 'created_at', 'created'))}</td>
                <td>
                  <button type="button" className="danger" onClick={() => setRevoking(k)}>
                    Revoke…
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="toolbar">
        <input aria-label="Key name" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
        <select aria-label="Role" value={role} onChange={(e) => setRole(e.target.value)}>
          {['admin', 'analyst', 'viewer', 'service'].map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        {role === 'service' && <input aria-label="APIs the key may call" placeholder="api_a, api_b" value={apis} onChange={(e) => setApis(e.target.value)} />}
        <button type="button" disabled={!name.trim()} onClick={() => create.mutate()}>
          Create key
        </button>
      </div>
      <ErrorBox error={create.error ?? revoke.error} />
      {created && (
        <div className="why" role="status">
          New key (shown once, copy it now): <code>{created}</code>
        </div>
      )}
      <ConfirmDialog open={revoking !== null} title={`Revoke key “${str(revoking, 'name')}”?`} confirmLabel="Revoke" danger onConfirm={() => revoking && revoke.mutate(revoking)} onCancel={() => setRevoking(null)}>
        Every caller using it gets 401 from now on.
      </ConfirmDialog>
    </div>
  );
}

export function DataApisPage() {
  const { can } = useSession();
  const doc = useQuery({ queryKey: ['openapi'], queryFn: api.openapi });
  const specs = specsOf(doc.data);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section>
      <h1>Data APIs</h1>
      <p className="muted">
        Published from <code>apis/*.yaml</code>, served at <code>/data/v1/&lt;name&gt;</code> with service keys; the OpenAPI document is at{' '}
        <a href="/data/v1/openapi.json">/data/v1/openapi.json</a>.
      </p>
      <ErrorBox error={doc.error} />
      {doc.isPending && <Loading what="Loading the API list" />}
      {doc.data !== undefined && specs.length === 0 && <Empty>No data APIs are published.</Empty>}
      {specs.map((s) => (
        <div key={s.name} className="panel">
          <h2>
            <button type="button" className="link" aria-expanded={open === s.name} onClick={() => setOpen(open === s.name ? null : s.name)}>
              {s.name}
            </button>{' '}
            <span className="muted">{s.description}</span>
          </h2>
          <div className="muted">parameters: {s.params.map((p) => p.name).join(', ') || 'none'}</div>
          {open === s.name && <TryIt spec={s} />}
        </div>
      ))}
      {can.manageKeys && <Keys />}
    </section>
  );
}
