// The platform at a glance: ingest rate (live), accepted vs rejected, WAL and loader, Domino
// today, top failing DAGs, warehouse size.

import { useMemo, useRef } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../api/endpoints';
import { useSession } from '../auth';
import type { DagRun } from '../api/types';
import { EChart } from '../components/echart';
import { ErrorBox, Loading, Stat, StateBadge } from '../components/common';
import { formatBytes, formatDuration, formatValue } from '../lib/format';

const kLastHourSql = `
SELECT kind, epoch(date_trunc('minute', received_at))::BIGINT AS minute, count(*)::BIGINT AS n
FROM (SELECT 'accepted' AS kind, received_at FROM events WHERE received_at >= now() - INTERVAL 1 HOUR
      UNION ALL
      SELECT 'rejected', received_at FROM quarantine WHERE received_at >= now() - INTERVAL 1 HOUR)
GROUP BY ALL ORDER BY minute`;

const kWarehouseSql = `
SELECT (SELECT database_size || ' + ' || wal_size || ' WAL' FROM pragma_database_size() LIMIT 1) AS size,
       (SELECT count(*) FROM events)::BIGINT AS events,
       (SELECT count(*) FROM users)::BIGINT AS users,
       (SELECT count(*) FROM quarantine)::BIGINT AS quarantined`;

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}
function daysAgoUtc(n: number): string {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}

// Events per second between the last two polls of the loader's counters.
function useRate(count: number | undefined): number | null {
  const prev = useRef<{ t: number; n: number } | null>(null);
  const rate = useRef<number | null>(null);
  if (count !== undefined) {
    const now = performance.now();
    const p = prev.current;
    if (!p) prev.current = { t: now, n: count };
    else if (count !== p.n || now - p.t > 5_000) {
      rate.current = now > p.t ? Math.max(0, ((count - p.n) * 1000) / (now - p.t)) : rate.current;
      prev.current = { t: now, n: count };
    }
  }
  return rate.current;
}

export function OverviewPage() {
  const { role } = useSession();
  const admin = role === 'admin'; // the warehouse figures come from SQL, which needs an admin
  const status = useQuery({ queryKey: ['status'], queryFn: api.status, refetchInterval: 2_000 });
  const hour = useQuery({ queryKey: ['sql', 'last-hour'], queryFn: () => api.sql(kLastHourSql), refetchInterval: 10_000, enabled: admin });
  const wh = useQuery({ queryKey: ['sql', 'warehouse'], queryFn: () => api.sql(kWarehouseSql), refetchInterval: 30_000, enabled: admin });
  const today = useQuery({ queryKey: ['runs', 'today'], queryFn: () => api.runs({ from: todayUtc(), limit: 1000 }), refetchInterval: 5_000 });
  const failed = useQuery({
    queryKey: ['runs', 'failed-7d'],
    queryFn: () => api.runs({ state: 'failed', from: daysAgoUtc(7), limit: 1000 }),
    refetchInterval: 30_000,
  });

  const loader = status.data?.loader;
  const wal = status.data?.wal;
  const rate = useRate(loader ? loader.events + loader.quarantined : undefined);

  const hourOption = useMemo(() => {
    const rows = hour.data?.rows ?? [];
    const now = Math.floor(Date.now() / 60_000) * 60;
    const minutes = Array.from({ length: 60 }, (_, i) => now - (59 - i) * 60);
    const series = (kind: string) => {
      const by = new Map<number, number>();
      for (const r of rows) if (r[0] === kind) by.set(Number(r[1]), Number(r[2]));
      return minutes.map((m) => +((by.get(m) ?? 0) / 60).toFixed(2));
    };
    return {
      tooltip: { trigger: 'axis' },
      legend: { data: ['accepted', 'rejected'], top: 0, right: 10 },
      grid: { left: 50, right: 20, top: 40, bottom: 30 },
      xAxis: {
        type: 'category',
        data: minutes.map((m) => new Date(m * 1000).toISOString().slice(11, 16)),
      },
      yAxis: { type: 'value', name: 'events/s' },
      series: [
        { name: 'accepted', type: 'line', areaStyle: {}, showSymbol: false, data: series('accepted'), color: '#2e7d32' },
        { name: 'rejected', type: 'line', showSymbol: false, data: series('rejected'), color: '#c62828' },
      ],
    };
  }, [hour.data]);

  const byState = useMemo(() => {
    const c: Record<string, number> = { success: 0, failed: 0, running: 0, queued: 0 };
    for (const r of today.data?.runs ?? []) c[r.state] = (c[r.state] ?? 0) + 1;
    return c;
  }, [today.data]);

  const topFailing = useMemo(() => {
    const c = new Map<string, { n: number; last: DagRun }>();
    for (const r of failed.data?.runs ?? []) {
      const e = c.get(r.dag);
      if (e) e.n++;
      else c.set(r.dag, { n: 1, last: r });
    }
    return [...c.entries()].sort((a, b) => b[1].n - a[1].n).slice(0, 5);
  }, [failed.data]);

  const whRow = wh.data?.rows[0];
  const accepted = loader?.events ?? 0;
  const rejected = loader?.quarantined ?? 0;

  return (
    <section>
      <h1>Overview</h1>
      <ErrorBox error={status.error} title="Status" />
      {status.isPending && <Loading what="Reading the server's status" />}
      <div className="stats">
        <Stat label="Events/s now" testId="events-per-second" value={rate === null ? '…' : formatValue(rate)} hint="loaded into the warehouse, live" />
        <Stat
          label="Accepted vs rejected"
          testId="accepted-rejected"
          value={
            <>
              <span className="ok">{formatValue(accepted)}</span> / <span className="bad">{formatValue(rejected)}</span>
            </>
          }
          hint={`since start; ${accepted + rejected > 0 ? formatValue(rejected / (accepted + rejected), 'percent') : '0%'} rejected`}
        />
        <Stat label="WAL size" testId="wal-size" value={wal ? formatBytes(wal.bytes_on_disk) : '…'} hint={wal ? `${wal.segments} segment(s)${wal.writable ? '' : ', NOT writable'}` : undefined} />
        <Stat
          label="Loader lag"
          testId="loader-lag"
          value={loader ? `${formatValue(loader.lag_events)} events` : '…'}
          hint={loader ? `${formatDuration(loader.lag_seconds)} behind${loader.stuck ? ' — STUCK' : ''}` : undefined}
        />
        <Stat
          label="Warehouse size"
          testId="warehouse-size"
          value={whRow ? String(whRow[0]) : admin ? '…' : '–'}
          hint={whRow ? `${formatValue(whRow[1])} events, ${formatValue(whRow[2])} users, ${formatValue(whRow[3])} quarantined` : admin ? undefined : 'shown to admins'}
        />
      </div>
      <ErrorBox error={wh.error} title="Warehouse" />

      <div className="panels">
        <div className="panel wide">
          <h2>Events per second, last hour</h2>
          <ErrorBox error={hour.error} />
          {!admin && <p className="muted">The per-minute history reads the warehouse with SQL, which needs an admin token.</p>}
          {admin && <EChart option={hourOption} height={240} label="Accepted and rejected events per second over the last hour" />}
        </div>
        <div className="panel">
          <h2>Domino today</h2>
          <ErrorBox error={today.error} />
          <div className="stats small" data-testid="domino-today">
            <Stat label="succeeded" value={<span className="ok">{byState.success}</span>} />
            <Stat label="failed" value={<span className="bad">{byState.failed}</span>} />
            <Stat label="running" value={<span className="run">{(byState.running ?? 0) + (byState.queued ?? 0)}</span>} />
          </div>
          <h3>Top failing DAGs (7 days)</h3>
          <ErrorBox error={failed.error} />
          {topFailing.length === 0 ? (
            <p className="muted">No failed runs in the last 7 days.</p>
          ) : (
            <ul className="plain">
              {topFailing.map(([dag, e]) => (
                <li key={dag}>
                  <Link to={`/domino/${encodeURIComponent(dag)}?run=${encodeURIComponent(e.last.run_id)}`}>{dag}</Link> — {e.n} failed run(s), last{' '}
                  <StateBadge state={e.last.state} /> {e.last.logical_date.slice(0, 16).replace('T', ' ')}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}
