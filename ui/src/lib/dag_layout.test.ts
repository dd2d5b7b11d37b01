import { describe, expect, it } from 'vitest';
import { layoutDag } from './dag_layout';

const node = (id: string) => ({ id, type: 'shell', pool: 'default', priority: 0, trigger_rule: 'all_success', state: 'none' });

describe('layoutDag', () => {
  it('puts each task right of its upstreams and siblings apart', () => {
    const placed = layoutDag({
      nodes: [node('a'), node('b'), node('c'), node('d')],
      edges: [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'c' },
        { from: 'b', to: 'd' },
        { from: 'c', to: 'd' },
      ],
    });
    const at = Object.fromEntries(placed.map((p) => [p.id, p]));
    expect(at.a!.x).toBeLessThan(at.b!.x);
    expect(at.b!.x).toBe(at.c!.x);
    expect(at.b!.y).not.toBe(at.c!.y);
    expect(at.d!.x).toBeGreaterThan(at.b!.x);
  });
  it('ignores edges to unknown tasks', () => {
    expect(layoutDag({ nodes: [node('a')], edges: [{ from: 'x', to: 'a' }] })).toHaveLength(1);
  });
});
