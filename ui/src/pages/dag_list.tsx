// Domino's DAG list: schedule, owner, the last runs as coloured squares, paused.

import { useQueries, useQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../api/endpoints';
import { useSession } from '../auth';
import { Empty, ErrorBox, Loading, stateColor } from '../components/common';
import { formatTime } from '../lib/format';

export function DagListPage() {
  const { can } = useSession();
  const qc = useQueryClient();
  const dags = useQuery({ queryKey: ['dags'], queryFn: api.dags, refetchInterval: 5_000 });
  const list = dags.data?.dags ?? [];
  const runs = useQueries({
    queries: list.map((d) => ({
      queryKey: ['runs', d.dag, 'recent'],
      queryFn: () => api.runs({ dag: d.dag, limit: 12 }),
      refetchInterval: 5_000,
    })),
  });
  const pause = useMutation({
    mutationFn: ({ dag, paused }: { dag: string; paused: boolean }) => api.pause(dag, paused),
    onSettled: () => qc.invalidateQueries({ queryKey: ['dags'] }),
  });

  return (
    <section>
      <h1>Domino</h1>
      <ErrorBox error={dags.error} />
      <ErrorBox error={pause.error} title="Pause" />
      {dags.isPending && <Loading what="Loading DAGs" />}
      {dags.data && dags.data.errors.length > 0 && (
        <div className="error" role="alert">
          <strong>DAG files with errors (these DAGs do not run):</strong>
          <ul>
            {dags.data.errors.map((e) => (
              <li key={e}>
                <code>{e}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {dags.data && list.length === 0 && <Empty>No DAGs: add YAML files under dags/ in the project.</Empty>}
      {list.length > 0 && (
        <table className="grid-table" aria-label="DAGs">
          <thead>
            <tr>
              <th scope="col">DAG</th>
              <th scope="col">Schedule</th>
              <th scope="col">Owner</th>
              <th scope="col">Last runs (newest right)</th>
              <th scope="col">Last run</th>
              <th scope="col">Next run</th>
              <th scope="col">Paused</th>
            </tr>
          </thead>
          <tbody>
            {list.map((d, i) => {
              const recent = [...(runs[i]?.data?.runs ?? [])].reverse();
              return (
                <tr key={d.dag} data-testid={`dag-row-${d.dag}`}>
                  <td>
                    <Link to={`/domino/${encodeURIComponent(d.dag)}`}>{d.dag}</Link>
                    <div className="muted">{d.description}</div>
                  </td>
                  <td>
                    <code>{d.schedule}</code>
                    <div className="muted">{d.timezone}</div>
                  </td>
                  <td>{d.owner}</td>
                  <td>
                    <div className="squares">
                      {recent.map((r) => (
                        <Link
                          key={r.run_id}
                          to={`/domino/${encodeURIComponent(d.dag)}?run=${encodeURIComponent(r.run_id)}`}
                          className="square"
                          style={{ background: stateColor(r.state) }}
                          title={`${r.run_id}: ${r.state}`}
                          aria-label={`run ${r.run_id} ${r.state}`}
                        />
                      ))}
                      {recent.length === 0 && <span className="muted">no runs yet</span>}
                    </div>
                  </td>
                  <td>{d.last_run ? `${formatTime(d.last_run.logical_date)} (${d.last_run.state})` : '–'}</td>
                  <td>{d.next_run_at ? formatTime(d.next_run_at) : d.paused ? 'paused' : d.schedule === 'none' ? 'manual' : '–'}</td>
                  <td>
                    <label className="switch">
                      <input
                        type="checkbox"
                        checked={d.paused}
                        disabled={!can.operateDags || pause.isPending}
                        onChange={(e) => pause.mutate({ dag: d.dag, paused: e.target.checked })}
                        aria-label={`Pause ${d.dag}`}
                      />
                      {d.paused ? 'paused' : 'active'}
                    </label>
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
