import dagre from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import type { Machine } from '../model';
import { edgeKey, replayPath } from '../path-taken';

const CHAR_W = 6.8;

interface Layout {
  width: number;
  height: number;
  nodes: { name: string; x: number; y: number; w: number; h: number; final: boolean; initial: boolean }[];
  edges: { key: string; event: string; points: { x: number; y: number }[]; label?: { x: number; y: number } }[];
}

/** Lays the machine out top to bottom with dagre; transitions to the same state are left out (they move nothing). */
function layout(machine: Machine): Layout {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 46, edgesep: 12, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of machine.states) {
    const initial = s.name === machine.initial;
    g.setNode(s.name, initial ? { width: 18, height: 18 } : { width: Math.max(90, s.name.length * CHAR_W + 24), height: 32 });
  }
  for (const t of machine.transitions) {
    if (t.from === t.to || !g.hasNode(t.from) || !g.hasNode(t.to)) continue;
    g.setEdge(t.from, t.to, { width: Math.min(160, t.event.length * 5.6), height: 12, labelpos: 'c' }, edgeKey(t));
  }
  dagre.layout(g);
  const graph = g.graph();
  return {
    width: graph.width ?? 0,
    height: graph.height ?? 0,
    nodes: g.nodes().map((name) => {
      const n = g.node(name);
      const state = machine.states.find((s) => s.name === name);
      return { name, x: n.x, y: n.y, w: n.width, h: n.height, final: !!state?.final, initial: name === machine.initial };
    }),
    edges: g.edges().map((e) => {
      const d = g.edge(e) as { points: { x: number; y: number }[]; x?: number; y?: number };
      return { key: e.name ?? '', event: (e.name ?? '').split('|')[1], points: d.points, label: d.x !== undefined ? { x: d.x, y: d.y ?? 0 } : undefined };
    }),
  };
}

const pathD = (points: { x: number; y: number }[]): string => points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');

/**
 * The aggregate's state diagram (SVG): its current status highlighted, the states and
 * transitions its event log went through marked.
 */
export function StateDiagram({ machine, status, eventTypes }: { machine: Machine; status?: string; eventTypes: string[] }) {
  const l = useMemo(() => layout(machine), [machine]);
  const taken = replayPath(machine, eventTypes);
  const current = status ?? taken.current;
  return (
    <svg class="diagram" data-testid="state-diagram" data-current={current} viewBox={`0 0 ${l.width} ${l.height}`} width={l.width} height={l.height} role="img" aria-label={`State diagram of ${machine.type}, now ${current}`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead" /></marker>
        <marker id="arrow-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead taken" /></marker>
      </defs>
      {l.edges.map((e) => {
        const on = taken.edges.has(e.key);
        return (
          <g key={e.key} class={`edge ${on ? 'taken' : ''}`} data-testid={on ? 'edge-taken' : 'edge'} data-event={e.event}>
            <path d={pathD(e.points)} marker-end={`url(#${on ? 'arrow-taken' : 'arrow'})`} />
            {e.label && <text x={e.label.x} y={e.label.y + 4} text-anchor="middle">{e.event}</text>}
          </g>
        );
      })}
      {l.nodes.map((n) => {
        const cls = ['node', n.name === current ? 'current' : '', taken.states.has(n.name) ? 'visited' : '', n.final ? 'final' : ''].join(' ');
        if (n.initial) return <circle key={n.name} class={`${cls} initial`} cx={n.x} cy={n.y} r={8} data-testid="state-initial"><title>{n.name}</title></circle>;
        return (
          <g key={n.name} class={cls} data-testid={`state-${n.name}`} data-current={n.name === current ? 'true' : undefined} data-visited={taken.states.has(n.name) ? 'true' : undefined}>
            <rect x={n.x - n.w / 2} y={n.y - n.h / 2} width={n.w} height={n.h} rx={n.final ? 4 : 16} />
            {n.final && <rect class="inner" x={n.x - n.w / 2 + 3} y={n.y - n.h / 2 + 3} width={n.w - 6} height={n.h - 6} rx={3} />}
            <text x={n.x} y={n.y + 4} text-anchor="middle">{n.name}</text>
          </g>
        );
      })}
    </svg>
  );
}
