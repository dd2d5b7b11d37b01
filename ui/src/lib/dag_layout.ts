// Positions of a DAG's tasks for the graph view: dagre's layered layout, left to right.

import { Graph, layout } from '@dagrejs/dagre';
import type { Graph as DagGraph } from '../api/types';

export const kNodeWidth = 170;
export const kNodeHeight = 44;

export interface Placed {
  id: string;
  x: number; // top-left corner
  y: number;
}

export function layoutDag(g: DagGraph): Placed[] {
  const dg = new Graph();
  dg.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60, marginx: 10, marginy: 10 });
  dg.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) dg.setNode(n.id, { width: kNodeWidth, height: kNodeHeight });
  for (const e of g.edges) if (dg.hasNode(e.from) && dg.hasNode(e.to)) dg.setEdge(e.from, e.to);
  layout(dg);
  return g.nodes.map((n) => {
    const p = dg.node(n.id) as { x: number; y: number };
    return { id: n.id, x: p.x - kNodeWidth / 2, y: p.y - kNodeHeight / 2 };
  });
}
