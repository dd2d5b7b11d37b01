// The quarantine browser: every refused event with its reason and raw JSON, filtered by source
// and reason. Uses GET /api/v1/quarantine; on a server without it, an admin reads the
// warehouse's quarantine table directly.

import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { ApiError } from '../api/client';
import { api } from '../api/endpoints';
import { useSession } from '../auth';
import { Empty, ErrorBox, Loading } from '../components/common';
import { formatTime } from '../lib/format';
import { arr, sqlObjects, str, timeOf, type Obj } from '../lib/loose';

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

async function fetchQuarantine(source: string, reason: string, limit: number, admin: boolean): Promise<{ rows: Obj[]; via: string }> {
  try {
    const r = await api.quarantine({ source, reason, limit });
    return { rows: arr(r, 'events', 'items', 'rows', 'quarantine'), via: 'api' };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 || !admin) throw e;
  }
  const where: string[] = [];
  if (source) where.push(`source = ${sqlString(source)}`);
  if (reason) where.push(`reason ILIKE ${sqlString(`%${reason}%`)}`);
  const sql = `SELECT received_at, source, reason, raw FROM quarantine ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC LIMIT ${Math.floor(limit)}`;
  return { rows: sqlObjects(await api.sql(sql, limit)), via: 'sql' };
}

function pretty(raw: string): string {
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}

export function QuarantinePage() {
  const { role } = useSession();
  const [source, setSource] = useState('');
  const [reason, setReason] = useState('');
  const [limit, setLimit] = useState(100);
  const [open, setOpen] = useState<number | null>(null);
  const q = useQuery({
    queryKey: ['quarantine', source, reason, limit],
    queryFn: () => fetchQuarantine(source, reason, limit, role === 'admin'),
    refetchInterval: 10_000,
  });
  const rows = q.data?.rows ?? [];
  return (
    <section>
      <h1>Quarantine</h1>
      <p className="muted">Events refused at collection or by the loader, kept whole with the reason. Nothing here is lost: fix the plan or the sender and replay them.</p>
      <div className="search-row">
        <input aria-label="Source" placeholder="source" value={source} onChange={(e) => setSource(e.target.value)} />
        <input aria-label="Reason contains" placeholder="reason contains…" value={reason} onChange={(e) => setReason(e.target.value)} />
        <select aria-label="Limit" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
          {[50, 100, 500, 1000].map((n) => (
            <option key={n} value={n}>
              {n} newest
            </option>
          ))}
        </select>
      </div>
      <ErrorBox error={q.error} />
      {q.isPending && <Loading what="Reading the quarantine" />}
      {q.data && rows.length === 0 && <Empty>Nothing in quarantine{source || reason ? ' matches these filters' : ''}.</Empty>}
      {rows.length > 0 && (
        <table className="grid-table" aria-label="Quarantined events" data-testid="quarantine-table">
          <thead>
            <tr>
              <th scope="col">received</th>
              <th scope="col">source</th>
              <th scope="col">reason</th>
              <th scope="col">raw</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const raw = str(r, 'raw', 'raw_json', 'body');
              return (
                <tr key={i}>
                  <td>{formatTime(timeOf(r, 'received_at'))}</td>
                  <td>{str(r, 'source') || '–'}</td>
                  <td>
                    {str(r, 'reason', 'reasons')}
                    {timeOf(r, 'replayed_at') && <div className="muted">replayed {formatTime(timeOf(r, 'replayed_at'))}</div>}
                  </td>
                  <td style={{ maxWidth: 520 }}>
                    <button type="button" className="link" aria-expanded={open === i} onClick={() => setOpen(open === i ? null : i)}>
                      {open === i ? 'hide' : `show (${raw.length} bytes)`}
                    </button>
                    {open === i && <pre className="json">{pretty(raw)}</pre>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
