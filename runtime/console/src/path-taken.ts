/** The part of a machine (`GET /v1/machines`) that a replay reads. */
export interface MachineGraph {
  initial: string;
  transitions: { from: string; to: string; event: string }[];
}

/** The states and transitions an event log went through, replayed over the machine's graph. */
export interface PathTaken {
  states: Set<string>;
  /** `from|event|to` of every transition taken. */
  edges: Set<string>;
  /** Where the replay ended (the machine's view of the current status). */
  current: string;
}

export const edgeKey = (t: { from: string; to: string; event: string }): string => `${t.from}|${t.event}|${t.to}`;

/**
 * Replays event types through the transitions from the initial state. An event that has no
 * transition from where the replay stands (a no-op, or a type the graph does not show) is
 * skipped rather than trusted.
 */
export function replayPath(machine: MachineGraph, eventTypes: string[]): PathTaken {
  let at = machine.initial;
  const states = new Set([at]);
  const edges = new Set<string>();
  for (const type of eventTypes) {
    const t = machine.transitions.find((x) => x.from === at && x.event === type);
    if (!t) continue;
    edges.add(edgeKey(t));
    at = t.to;
    states.add(at);
  }
  return { states, edges, current: at };
}
