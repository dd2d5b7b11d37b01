// The metrics layer's models, and the event names of a model (for funnel and retention steps).

import { useQuery } from '@tanstack/react-query';
import { api, listOf } from '../api/endpoints';
import type { Model } from '../api/types';
import { rowsAsArrays } from './rows';

export function useModels() {
  return useQuery({
    queryKey: ['models'],
    queryFn: async () => {
      const r = await api.models();
      return listOf<Model>(r, 'models').map((m) => ({
        ...m,
        dimensions: m.dimensions ?? [],
        measures: m.measures ?? [],
        metrics: m.metrics ?? [],
      }));
    },
    staleTime: 60_000,
  });
}

// Names of the "event" dimension seen in the last 30 days, most frequent first.
export function useEventNames(model: Model | undefined) {
  const count = model?.measures.find((m) => m.agg === 'count')?.name ?? model?.measures[0]?.name;
  const hasEvent = !!model?.dimensions.some((d) => d.name === 'event');
  return useQuery({
    queryKey: ['event-names', model?.name, count],
    enabled: !!model && !!count && hasEvent,
    staleTime: 60_000,
    queryFn: async () => {
      const r = await api.query({
        model: model?.name,
        metrics: [count],
        dimensions: ['event'],
        time: { range: 'last_30_days' },
        order: [{ metric: count, desc: true }],
        limit: 200,
      });
      const i = r.columns.findIndex((c) => c.name === 'event');
      return rowsAsArrays(r)
        .map((row) => row[i])
        .filter((v): v is string => typeof v === 'string');
    },
  });
}
