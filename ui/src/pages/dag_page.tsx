// One DAG: its graph coloured by the selected run, the runs × tasks grid, the selected run's
// Gantt chart, the task-instance drawer (attempts, log with live tail, why) and the actions.

import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { Background, Controls, Position, ReactFlow, type Edge, type Node } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api } from '../api/endpoints';
import type { DagDetail, DagRun, RunDetail } from '../api/types';
import { useSession } from '../auth';
import { ConfirmDialog, Drawer, Empty, ErrorBox, Loading, StateBadge, stateColor } from '../components/common';
import { layoutDag, kNodeHeight, kNodeWidth } from '../lib/dag_layout';
import { formatDuration, formatTime } from '../lib/format';
import { ganttOf } from '../lib/gantt';

const kActive = new Set(['queued', 'running', 'scheduled', 'up_for_retry']);

function runIsActive(r: { state: string } | undefined): boolean {
  return !!r && (r.state === 'running' || r.state === 'queued');
}

export function DagPage() {
  const { dag = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const { can } = useSession();
  const detail = useQuery({ queryKey: ['dag', dag], queryFn: () => api.dag(dag) });
  const runs = useQuery({ queryKey: ['runs', dag, 'page'], queryFn: () => api.runs({ dag, limit: 15 }), refetchInterval: 3_000 });
  const runList = runs.data?.runs ?? [];
  const selectedId = params.get('run') ?? runList[0]?.run_id ?? '';
  const task = params.get('task');
  const anyActive = runList.some(runIsActive);

  const gridRuns = useMemo(() => [...runList].slice(0, 10).reverse(), [runList]);
  const gridDetails = useQueries({
    queries: gridRuns.map((r) => ({
      queryKey: ['run', dag, r.run_id],
      queryFn: () => api.run(dag, r.run_id),
      refetchInterval: runIsActive(r) ? 1_500 : (false as const),
    })),
  });
  const selected = useQuery({
    queryKey: ['run', dag, selectedId],
    queryFn: () => api.run(dag, selectedId),
    enabled: selectedId !== '',
    refetchInterval: (q) => (runIsActive(q.state.data) || anyActive ? 1_500 : false),
  });

  const select = (run: string, t?: string | null) => {
    const p = new URLSearchParams(params);
    p.set('run', run);
    if (t) p.set('task', t);
    else p.delete('task');
    setParams(p, { replace: true });
  };

  if (detail.isPending) return <Loading what={`Loading ${dag}`} />;
  if (detail.error) return <ErrorBox error={detail.error} />;
  const d = detail.data;

  return (
    <section className="dag-page">
      <div className="crumbs">
        <Link to="/domino">Domino</Link> / {d.dag}
      </div>
      <div className="title-row">
        <h1>{d.dag}</h1>
        {d.paused && <span className="badge paused">paused</span>}
        <DagActions dag={d} canOperate={can.operateDags} onTriggered={(r) => select(r.run_id)} />
      </div>
      <p className="muted">
        {d.description && <>{d.description} · </>}
        {d.owner && <>owner {d.owner} · </>}
        schedule <code>{d.schedule}</code> ({d.timezone}) · file <code>{d.file}</code>
      </p>
      <ErrorBox error={runs.error} title="Runs" />

      <div className="panels">
        <div className="panel wide">
          <h2>
            Graph{' '}
            {selected.data && (
              <span className="muted">
                — run {selected.data.run_id} <StateBadge state={selected.data.state} />
              </span>
            )}
          </h2>
          <DagGraph dag={d} run={selected.data} onPick={(t) => selectedId && select(selectedId, t)} />
          <Legend />
        </div>
        <div className="panel">
          <h2>Runs</h2>
          {runList.length === 0 && <Empty>No runs yet. {can.operateDags ? 'Trigger one.' : ''}</Empty>}
          <label className="inline">
            Selected run{' '}
            <select value={selectedId} onChange={(e) => select(e.target.value)} aria-label="Selected run">
              {runList.map((r) => (
                <option key={r.run_id} value={r.run_id}>
                  {r.run_id} — {r.state}
                </option>
              ))}
            </select>
          </label>
          {selected.data && <RunSummary run={selected.data} />}
        </div>
      </div>

      <div className="panel">
        <h2>Runs × tasks</h2>
        <RunGrid dag={d} runs={gridRuns} details={gridDetails.map((q) => q.data)} selected={selectedId} onPick={select} />
      </div>

      <div className="panel">
        <h2>Gantt of run {selectedId}</h2>
        {selected.error && <ErrorBox error={selected.error} />}
        {selected.data && <GanttChart run={selected.data} onPick={(t) => select(selectedId, t)} />}
      </div>

      {task && selectedId && (
        <TaskDrawer dag={d} runId={selectedId} task={task} run={selected.data} canOperate={can.operateDags} onClose={() => select(selectedId, null)} />
      )}
    </section>
  );
}

function Legend() {
  const states = ['success', 'running', 'queued', 'up_for_retry', 'failed', 'upstream_failed', 'skipped', 'scheduled', 'none'];
  return (
    <div className="legend" aria-label="State colours">
      {states.map((s) => (
        <span key={s}>
          <i style={{ background: stateColor(s) }} /> {s.replace(/_/g, ' ')}
        </span>
      ))}
    </div>
  );
}

function RunSummary({ run }: { run: RunDetail }) {
  return (
    <dl className="kv">
      <dt>State</dt>
      <dd>
        <StateBadge state={run.state} />
      </dd>
      <dt>Type</dt>
      <dd>{run.type}</dd>
      <dt>Logical date</dt>
      <dd>{formatTime(run.logical_date)}</dd>
      <dt>Interval</dt>
      <dd>
        {formatTime(run.data_interval_start)} → {formatTime(run.data_interval_end)}
      </dd>
      <dt>Started</dt>
      <dd>{formatTime(run.started_at)}</dd>
      <dt>Duration</dt>
      <dd>{run.ended_at ? formatDuration(run.duration_s) : run.started_at ? 'running' : '–'}</dd>
      <dt>Params</dt>
      <dd>
        <code>{JSON.stringify(run.params)}</code>
      </dd>
      <dt>Definition</dt>
      <dd>
        <code>{run.dag_hash.slice(0, 12)}</code>
        {run.definition_changed ? ' (changed since)' : ''}
      </dd>
    </dl>
  );
}

function DagGraph({ dag, run, onPick }: { dag: DagDetail; run: RunDetail | undefined; onPick: (task: string) => void }) {
  const states = useMemo(() => new Map((run?.tasks ?? []).map((t) => [t.task, t.state])), [run]);
  const placed = useMemo(() => layoutDag(dag.graph), [dag.graph]);
  const nodes: Node[] = useMemo(
    () =>
      placed.map((p) => {
        const n = dag.graph.nodes.find((x) => x.id === p.id);
        const state = states.get(p.id) ?? 'none';
        const dark = ['success', 'failed', 'running', 'queued', 'up_for_retry'].includes(state);
        return {
          id: p.id,
          position: { x: p.x, y: p.y },
          data: { label: `${p.id} · ${n?.type ?? ''}` },
          draggable: false,
          connectable: false,
          sourcePosition: Position.Right,
          targetPosition: Position.Left,
          ariaLabel: `task ${p.id}: ${state}`,
          className: `task-node state-${state}`,
          style: {
            width: kNodeWidth,
            height: kNodeHeight,
            background: stateColor(state),
            color: dark ? '#fff' : '#263238',
            border: '1px solid #546e7a',
            borderRadius: 6,
            fontSize: 12,
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'center',
          },
        };
      }),
    [placed, dag.graph.nodes, states],
  );
  const edges: Edge[] = useMemo(
    () => dag.graph.edges.map((e) => ({ id: `${e.from}->${e.to}`, source: e.from, target: e.to, animated: states.get(e.to) === 'running' })),
    [dag.graph.edges, states],
  );
  const height = Math.max(200, Math.min(520, Math.max(...placed.map((p) => p.y), 0) + kNodeHeight + 60));
  return (
    <div className="dag-graph" style={{ height }} data-testid="dag-graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        nodesDraggable={false}
        nodesConnectable={false}
        onNodeClick={(_, n) => onPick(n.id)}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

function RunGrid({
  dag,
  runs,
  details,
  selected,
  onPick,
}: {
  dag: DagDetail;
  runs: DagRun[];
  details: (RunDetail | undefined)[];
  selected: string;
  onPick: (run: string, task?: string) => void;
}) {
  if (runs.length === 0) return <Empty>No runs yet.</Empty>;
  return (
    <div className="run-grid-wrap">
      <table className="run-grid" aria-label="Runs by tasks">
        <thead>
          <tr>
            <th scope="col">task \ run</th>
            {runs.map((r) => (
              <th key={r.run_id} scope="col" className={r.run_id === selected ? 'sel' : ''}>
                <button type="button" className="square big" style={{ background: stateColor(r.state) }} title={`${r.run_id}: ${r.state}`} aria-label={`select run ${r.run_id} (${r.state})`} onClick={() => onPick(r.run_id)} />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {dag.tasks.map((t) => (
            <tr key={t.id}>
              <th scope="row">{t.id}</th>
              {runs.map((r, i) => {
                const st = details[i]?.tasks.find((x) => x.task === t.id)?.state ?? 'none';
                return (
                  <td key={r.run_id} className={r.run_id === selected ? 'sel' : ''}>
                    <button type="button" className="square" style={{ background: stateColor(st) }} title={`${t.id} in ${r.run_id}: ${st}`} aria-label={`${t.id} in ${r.run_id}: ${st}`} onClick={() => onPick(r.run_id, t.id)} />
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function GanttChart({ run, onPick }: { run: RunDetail; onPick: (task: string) => void }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!runIsActive(run)) return;
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, [run]);
  const g = useMemo(() => ganttOf(run.tasks, now), [run, now]);
  if (g.bars.length === 0) return <Empty>Nothing has started in this run yet.</Empty>;
  return (
    <div className="gantt" role="list" aria-label="Gantt chart">
      <div className="gantt-axis">
        <span>{new Date(g.origin).toISOString().slice(11, 19)} UTC</span>
        <span>+{formatDuration(g.span)}</span>
      </div>
      {run.tasks.map((t) => (
        <div key={t.task} className="gantt-row" role="listitem">
          <button type="button" className="link gantt-label" onClick={() => onPick(t.task)}>
            {t.task}
          </button>
          <div className="gantt-track">
            {g.bars
              .filter((b) => b.task === t.task)
              .map((b) => (
                <span
                  key={b.attempt}
                  className="gantt-bar"
                  title={`${t.task} attempt ${b.attempt}: ${b.state}, ${formatDuration(b.duration)}`}
                  style={{ left: `${(b.start / g.span) * 100}%`, width: `max(3px, ${(b.duration / g.span) * 100}%)`, background: stateColor(b.state) }}
                />
              ))}
          </div>
        </div>
      ))}
    </div>
  );
}

function DagActions({ dag, canOperate, onTriggered }: { dag: DagDetail; canOperate: boolean; onTriggered: (r: DagRun) => void }) {
  const qc = useQueryClient();
  const [dialog, setDialog] = useState<'' | 'trigger' | 'backfill' | 'pause'>('');
  const [date, setDate] = useState('');
  const [paramsText, setParamsText] = useState(JSON.stringify(dag.params ?? {}, null, 1));
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [rerun, setRerun] = useState(false);
  const [formError, setFormError] = useState('');
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['runs'] });
    void qc.invalidateQueries({ queryKey: ['dag', dag.dag] });
    void qc.invalidateQueries({ queryKey: ['dags'] });
  };
  const trigger = useMutation({
    mutationFn: (body: { date?: string; params: Record<string, unknown> }) => api.trigger(dag.dag, body),
    onSuccess: (r) => {
      setDialog('');
      refresh();
      onTriggered(r);
    },
  });
  const backfill = useMutation({
    mutationFn: () => api.backfill(dag.dag, { from, to, rerun_failed: rerun }),
    onSuccess: () => {
      setDialog('');
      refresh();
    },
  });
  const pause = useMutation({ mutationFn: () => api.pause(dag.dag, !dag.paused), onSuccess: () => { setDialog(''); refresh(); } });

  if (!canOperate) return <span className="muted">read-only: your role cannot trigger or change DAGs</span>;

  const submitTrigger = () => {
    let params: Record<string, unknown>;
    try {
      const p: unknown = JSON.parse(paramsText || '{}');
      if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new Error('not an object');
      params = p as Record<string, unknown>;
    } catch {
      setFormError('Params must be a JSON object, like {"who": "ops"}.');
      return;
    }
    setFormError('');
    trigger.mutate(date ? { date, params } : { params });
  };
  const submitBackfill = () => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to)) {
      setFormError('Give both dates as YYYY-MM-DD.');
      return;
    }
    if (from > to) {
      setFormError('The range starts after it ends.');
      return;
    }
    setFormError('');
    backfill.mutate();
  };

  return (
    <div className="actions">
      <button type="button" className="primary" onClick={() => { setFormError(''); setDialog('trigger'); }}>
        Trigger…
      </button>
      <button type="button" onClick={() => { setFormError(''); setDialog('backfill'); }}>
        Backfill…
      </button>
      <button type="button" onClick={() => setDialog('pause')}>
        {dag.paused ? 'Unpause' : 'Pause'}
      </button>
      <ConfirmDialog open={dialog === 'trigger'} title={`Trigger ${dag.dag}`} confirmLabel="Trigger" onConfirm={submitTrigger} onCancel={() => setDialog('')}>
        <label htmlFor="trigger-date">Logical date (optional, YYYY-MM-DD or ISO time; empty: now)</label>
        <input id="trigger-date" value={date} onChange={(e) => setDate(e.target.value)} placeholder="2026-11-23" />
        <label htmlFor="trigger-params">Params (JSON)</label>
        <textarea id="trigger-params" rows={4} value={paramsText} onChange={(e) => setParamsText(e.target.value)} />
        {formError && <div className="error" role="alert">{formError}</div>}
        <ErrorBox error={trigger.error} />
      </ConfirmDialog>
      <ConfirmDialog open={dialog === 'backfill'} title={`Backfill ${dag.dag}`} confirmLabel="Create runs" onConfirm={submitBackfill} onCancel={() => setDialog('')}>
        <p>Creates one run per scheduled interval between the two dates (inclusive).</p>
        <label htmlFor="bf-from">From</label>
        <input id="bf-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        <label htmlFor="bf-to">To</label>
        <input id="bf-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} />
        <label className="inline">
          <input type="checkbox" checked={rerun} onChange={(e) => setRerun(e.target.checked)} /> Rerun failed runs in the range
        </label>
        {formError && <div className="error" role="alert">{formError}</div>}
        <ErrorBox error={backfill.error} />
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog === 'pause'}
        title={dag.paused ? `Unpause ${dag.dag}?` : `Pause ${dag.dag}?`}
        confirmLabel={dag.paused ? 'Unpause' : 'Pause'}
        danger={!dag.paused}
        onConfirm={() => pause.mutate()}
        onCancel={() => setDialog('')}
      >
        {dag.paused ? 'Scheduled runs will be created again.' : 'No new runs or tasks start until it is unpaused; running tasks finish.'}
        <ErrorBox error={pause.error} />
      </ConfirmDialog>
    </div>
  );
}

function TaskDrawer({
  dag,
  runId,
  task,
  run,
  canOperate,
  onClose,
}: {
  dag: DagDetail;
  runId: string;
  task: string;
  run: RunDetail | undefined;
  canOperate: boolean;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const ti = run?.tasks.find((t) => t.task === task);
  const [attempt, setAttempt] = useState<number | undefined>(undefined);
  const live = !!ti && kActive.has(ti.state) && attempt === undefined;
  const hasRun = !!ti && ti.attempts.length > 0;
  const log = useQuery({
    queryKey: ['log', dag.dag, runId, task, attempt ?? 'last'],
    queryFn: () => api.log(dag.dag, runId, task, attempt),
    enabled: hasRun,
    refetchInterval: live ? 1_000 : false,
  });
  const notRunning = !!ti && ti.state !== 'running' && ti.state !== 'success';
  const why = useQuery({ queryKey: ['why', dag.dag, runId, task, ti?.state], queryFn: () => api.why(dag.dag, runId, task), enabled: notRunning });
  const [confirm, setConfirm] = useState<'' | 'clear' | 'success' | 'failed'>('');
  const [downstream, setDownstream] = useState(true);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['run', dag.dag] });
    void qc.invalidateQueries({ queryKey: ['runs'] });
  };
  const clear = useMutation({ mutationFn: () => api.clear(dag.dag, runId, task, downstream), onSuccess: () => { setConfirm(''); refresh(); } });
  const mark = useMutation({ mutationFn: (s: 'success' | 'failed') => api.mark(dag.dag, runId, task, s), onSuccess: () => { setConfirm(''); refresh(); } });

  return (
    <Drawer title={`${task} in ${runId}`} onClose={onClose}>
      {!ti && <Loading />}
      {ti && (
        <>
          <dl className="kv">
            <dt>State</dt>
            <dd data-testid="task-state">
              <StateBadge state={ti.state} />
            </dd>
            <dt>Type</dt>
            <dd>{ti.type}</dd>
            <dt>Tries</dt>
            <dd>{ti.tries}</dd>
            {ti.message && (
              <>
                <dt>Message</dt>
                <dd>{ti.message}</dd>
              </>
            )}
          </dl>
          {notRunning && (
            <div className="why" data-testid="why">
              <strong>Why is this not running?</strong> <ErrorBox error={why.error} />
              {why.data && <p>{why.data.why}</p>}
            </div>
          )}
          {canOperate && (
            <div className="actions">
              <button type="button" onClick={() => setConfirm('clear')}>
                Clear…
              </button>
              <button type="button" onClick={() => setConfirm('success')}>
                Mark success…
              </button>
              <button type="button" className="danger" onClick={() => setConfirm('failed')}>
                Mark failed…
              </button>
            </div>
          )}
          <ErrorBox error={clear.error ?? mark.error} />
          <h4>Attempts</h4>
          {ti.attempts.length === 0 ? (
            <p className="muted">No attempt yet.</p>
          ) : (
            <table className="grid-table" aria-label="Attempts">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">state</th>
                  <th scope="col">started</th>
                  <th scope="col">duration</th>
                  <th scope="col">exit</th>
                  <th scope="col">log</th>
                </tr>
              </thead>
              <tbody>
                {ti.attempts.map((a) => (
                  <tr key={a.attempt}>
                    <td>{a.attempt}</td>
                    <td>
                      <StateBadge state={a.state} />
                      {a.message && <div className="muted">{a.message}</div>}
                    </td>
                    <td>{formatTime(a.started_at)}</td>
                    <td>{a.ended_at ? formatDuration(a.duration_s) : 'running'}</td>
                    <td>{a.ended_at ? a.exit_code : ''}</td>
                    <td>
                      <button type="button" className="link" aria-pressed={attempt === a.attempt} onClick={() => setAttempt(a.attempt)}>
                        view
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h4>
            Log {attempt ? `of attempt ${attempt}` : 'of the last attempt'} {live && <span className="badge state-running">live</span>}
            {attempt !== undefined && (
              <button type="button" className="link" onClick={() => setAttempt(undefined)}>
                (latest)
              </button>
            )}
          </h4>
          <ErrorBox error={log.error} />
          {hasRun ? (
            <pre className="log" data-testid="task-log" tabIndex={0} aria-label="Task log">
              {log.data ?? ''}
            </pre>
          ) : (
            <p className="muted">No log: the task has not run in this run.</p>
          )}
        </>
      )}
      <ConfirmDialog open={confirm === 'clear'} title={`Clear ${task}?`} confirmLabel="Clear" danger onConfirm={() => clear.mutate()} onCancel={() => setConfirm('')}>
        <p>The task instance goes back to scheduled and runs again; its earlier attempts and logs are kept.</p>
        <label className="inline">
          <input type="checkbox" checked={downstream} onChange={(e) => setDownstream(e.target.checked)} /> Clear its downstream tasks too
        </label>
      </ConfirmDialog>
      <ConfirmDialog
        open={confirm === 'success' || confirm === 'failed'}
        title={`Mark ${task} ${confirm}?`}
        confirmLabel={`Mark ${confirm}`}
        danger={confirm === 'failed'}
        onConfirm={() => confirm !== '' && confirm !== 'clear' && mark.mutate(confirm)}
        onCancel={() => setConfirm('')}
      >
        Downstream tasks react to the new state as if the task had ended so.
      </ConfirmDialog>
    </Drawer>
  );
}
