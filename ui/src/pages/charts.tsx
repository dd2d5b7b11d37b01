// Saved charts: open (in Explore, to edit), duplicate, delete.

import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, listOf } from '../api/endpoints';
import type { SavedChart } from '../api/types';
import { useSession } from '../auth';
import { ConfirmDialog, Empty, ErrorBox, Loading } from '../components/common';
import { SavedChartView } from '../components/saved_chart';

export function ChartsPage() {
  const { can } = useSession();
  const qc = useQueryClient();
  const charts = useQuery({ queryKey: ['charts'], queryFn: async () => listOf<SavedChart>(await api.charts(), 'charts') });
  const [search, setSearch] = useState('');
  const [deleting, setDeleting] = useState<SavedChart | null>(null);
  const [preview, setPreview] = useState<string>('');
  const refresh = () => qc.invalidateQueries({ queryKey: ['charts'] });
  const duplicate = useMutation({
    mutationFn: (c: SavedChart) => {
      const { id: _id, ...rest } = c;
      void _id;
      return api.createChart({ ...rest, name: `${c.name} (copy)` });
    },
    onSuccess: refresh,
  });
  const remove = useMutation({ mutationFn: (c: SavedChart) => api.deleteChart(String(c.id)), onSuccess: () => { setDeleting(null); void refresh(); } });
  const list = (charts.data ?? []).filter((c) => !search || `${c.name} ${c.description ?? ''}`.toLowerCase().includes(search.toLowerCase()));

  return (
    <section>
      <h1>Charts</h1>
      <div className="search-row">
        <input type="search" aria-label="Search charts" placeholder="Search charts" value={search} onChange={(e) => setSearch(e.target.value)} />
        {can.editCharts && (
          <Link to="/explore">
            <button type="button" className="primary">
              New chart in Explore
            </button>
          </Link>
        )}
      </div>
      <ErrorBox error={charts.error ?? duplicate.error ?? remove.error} />
      {charts.isPending && <Loading what="Loading charts" />}
      {charts.data && list.length === 0 && <Empty>No saved charts yet. Build one in Explore and choose “Save as chart”.</Empty>}
      <div className="card-list">
        {list.map((c) => (
          <div key={String(c.id)} className="card" data-testid={`chart-card-${c.name}`}>
            <h3>{c.name}</h3>
            <div className="muted">
              {c.chart_type ?? ''} {c.description ? `· ${c.description}` : ''}
            </div>
            {preview === String(c.id) && <SavedChartView chart={c} height={200} />}
            <div className="actions">
              <button type="button" onClick={() => setPreview(preview === String(c.id) ? '' : String(c.id))}>
                {preview === String(c.id) ? 'Hide' : 'Preview'}
              </button>
              <Link to={`/explore?chart_id=${encodeURIComponent(String(c.id))}`}>{can.editCharts ? 'Open / edit' : 'Open'}</Link>
              {can.editCharts && (
                <>
                  <button type="button" onClick={() => duplicate.mutate(c)}>
                    Duplicate
                  </button>
                  <button type="button" className="danger" onClick={() => setDeleting(c)}>
                    Delete…
                  </button>
                </>
              )}
            </div>
          </div>
        ))}
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete “${deleting?.name ?? ''}”?`}
        confirmLabel="Delete"
        danger
        onConfirm={() => deleting && remove.mutate(deleting)}
        onCancel={() => setDeleting(null)}
      >
        Dashboards showing it lose the chart. This cannot be undone.
      </ConfirmDialog>
    </section>
  );
}
