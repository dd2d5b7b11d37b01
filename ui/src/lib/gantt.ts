// A run's Gantt chart as bars: each attempt of each task, placed on one time axis from the
// run's first start to its last end (or now, for attempts still running).

import type { TaskInstance } from '../api/types';

export interface GanttBar {
  task: string;
  attempt: number;
  state: string;
  start: number; // seconds from the axis start
  duration: number; // seconds
}

export interface Gantt {
  bars: GanttBar[];
  span: number; // seconds covered by the axis (> 0)
  origin: number; // ms since the epoch of the axis start
}

function ms(iso: string): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
}

export function ganttOf(tasks: TaskInstance[], now: number = Date.now()): Gantt {
  const spans: { task: string; attempt: number; state: string; s: number; e: number }[] = [];
  for (const t of tasks) {
    for (const a of t.attempts) {
      const s = ms(a.started_at);
      if (s === null) continue;
      const e = ms(a.ended_at) ?? Math.max(now, s);
      spans.push({ task: t.task, attempt: a.attempt, state: a.ended_at ? a.state : 'running', s, e });
    }
  }
  if (spans.length === 0) return { bars: [], span: 1, origin: now };
  const origin = Math.min(...spans.map((x) => x.s));
  const end = Math.max(...spans.map((x) => x.e));
  return {
    origin,
    span: Math.max((end - origin) / 1000, 1),
    bars: spans.map((x) => ({ task: x.task, attempt: x.attempt, state: x.state, start: (x.s - origin) / 1000, duration: (x.e - x.s) / 1000 })),
  };
}
