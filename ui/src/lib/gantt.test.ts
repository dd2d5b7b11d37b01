import { describe, expect, it } from 'vitest';
import { ganttOf } from './gantt';
import type { TaskInstance } from '../api/types';

const ti = (task: string, attempts: [string, string, string][]): TaskInstance => ({
  task,
  type: 'shell',
  state: 'success',
  tries: attempts.length,
  message: '',
  log_tail: '',
  attempts: attempts.map(([state, started_at, ended_at], i) => ({ attempt: i + 1, state, started_at, ended_at, duration_s: 0, exit_code: 0, message: '' })),
});

describe('ganttOf', () => {
  it('places attempts from the first start, in seconds', () => {
    const g = ganttOf([
      ti('a', [['success', '2026-11-23T02:00:00+08:00', '2026-11-23T02:00:10+08:00']]),
      ti('b', [
        ['failed', '2026-11-23T02:00:10+08:00', '2026-11-23T02:00:12+08:00'],
        ['success', '2026-11-23T02:00:20+08:00', '2026-11-23T02:00:30+08:00'],
      ]),
      ti('c', []),
    ]);
    expect(g.span).toBe(30);
    expect(g.bars).toEqual([
      { task: 'a', attempt: 1, state: 'success', start: 0, duration: 10 },
      { task: 'b', attempt: 1, state: 'failed', start: 10, duration: 2 },
      { task: 'b', attempt: 2, state: 'success', start: 20, duration: 10 },
    ]);
  });
  it('a running attempt lasts until now', () => {
    const start = Date.parse('2026-11-23T00:00:00Z');
    const g = ganttOf([ti('a', [['running', '2026-11-23T00:00:00Z', '']])], start + 5000);
    expect(g.bars[0]).toEqual({ task: 'a', attempt: 1, state: 'running', start: 0, duration: 5 });
  });
  it('is empty before anything started', () => {
    expect(ganttOf([ti('a', [])]).bars).toEqual([]);
  });
});
