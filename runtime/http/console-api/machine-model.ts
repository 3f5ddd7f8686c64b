import type { AnyStateMachine } from 'xstate';
import type { AggregateDefinition } from '../../actors/aggregate';

/** One state of an aggregate's machine, as the console draws it. */
export interface MachineStateInfo {
  name: string;
  final: boolean;
}

/** One transition: the event that moves `from` to `to` (`to === from` for a transition that only assigns). */
export interface MachineTransitionInfo {
  from: string;
  to: string;
  event: string;
  /** The guard's name, when the transition has one. */
  guard?: string;
  /** The commands that ask for this event. */
  commands: string[];
}

export interface MachineCommandInfo {
  name: string;
  event: string;
  creates: boolean;
  public: boolean;
}

/** An aggregate's machine, read from its xstate definition (never hand-kept). */
export interface MachineModel {
  type: string;
  topic: string;
  initial: string;
  states: MachineStateInfo[];
  transitions: MachineTransitionInfo[];
  commands: MachineCommandInfo[];
  compensations: string[];
  /** Event type → the final state it leads into (only events whose every transition ends in the same final state). */
  finalEvents: Record<string, string>;
}

interface StateNodeLike {
  key: string;
  type: string;
  transitions: Map<string, { target?: readonly { key: string }[]; guard?: unknown }[]>;
}

const guardName = (guard: unknown): string | undefined => {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline';
  const type = (guard as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'inline';
};

/**
 * The top-level states of a machine with their transitions. Walks xstate's resolved state
 * nodes (`machine.root.states`, each node's `transitions` map), so targets and guards are
 * what the machine really does; aggregates use flat machines (their state value is the status).
 */
export function machineGraph(machine: AnyStateMachine): { initial: string; states: MachineStateInfo[]; transitions: Omit<MachineTransitionInfo, 'commands'>[] } {
  const root = machine.root as unknown as { states: Record<string, StateNodeLike>; initial?: { target?: readonly { key: string }[] } };
  const states: MachineStateInfo[] = [];
  const transitions: Omit<MachineTransitionInfo, 'commands'>[] = [];
  for (const node of Object.values(root.states)) {
    states.push({ name: node.key, final: node.type === 'final' });
    for (const [event, defs] of node.transitions) {
      for (const t of defs) {
        const guard = guardName(t.guard);
        transitions.push({ from: node.key, to: t.target?.[0]?.key ?? node.key, event, ...(guard ? { guard } : {}) });
      }
    }
  }
  const initial = root.initial?.target?.[0]?.key ?? String((machine.config as { initial?: unknown }).initial ?? states[0]?.name);
  return { initial, states, transitions };
}

const models = new WeakMap<AggregateDefinition, MachineModel>();

/** The console's description of an aggregate (cached: definitions do not change at run time). */
export function machineModel(def: AggregateDefinition): MachineModel {
  let model = models.get(def);
  if (model) return model;
  const { initial, states, transitions } = machineGraph(def.machine);
  const commands = Object.entries(def.commands).map(([name, spec]) => ({ name, event: spec.event, creates: spec.creates === true, public: spec.public !== false }));
  const byEvent = (event: string) => commands.filter((c) => c.event === event).map((c) => c.name);
  const finals = new Set(states.filter((s) => s.final).map((s) => s.name));
  const finalEvents: Record<string, string> = {};
  const targets = new Map<string, Set<string>>();
  for (const t of transitions) {
    let set = targets.get(t.event);
    if (!set) targets.set(t.event, (set = new Set()));
    set.add(t.to);
  }
  for (const [event, to] of targets) {
    const [only] = [...to];
    if (to.size === 1 && finals.has(only)) finalEvents[event] = only;
  }
  model = {
    type: def.type,
    topic: def.topic,
    initial,
    states,
    transitions: transitions.map((t) => ({ ...t, commands: byEvent(t.event) })),
    commands,
    compensations: [...(def.compensations ?? [])],
    finalEvents,
  };
  models.set(def, model);
  return model;
}
