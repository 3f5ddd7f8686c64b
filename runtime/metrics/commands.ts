import { Counter, Histogram } from 'prom-client';
import { PREFIX, registry, state } from './registry';

const commands = new Counter({
  name: `${PREFIX}commands_total`,
  help: 'Commands by aggregate type, command and outcome (executed: committed; refused: the state said no; conflicted: a concurrent write won)',
  labelNames: ['aggregate_type', 'command', 'outcome'] as const,
  registers: [registry],
});

const events = new Counter({
  name: `${PREFIX}events_appended_total`,
  help: 'Events committed to the event store, by aggregate type and event type',
  labelNames: ['aggregate_type', 'event_type'] as const,
  registers: [registry],
});

const outcomes = new Counter({
  name: `${PREFIX}saga_outcomes_total`,
  help: 'Aggregates that reached a final state of their machine (an order: ORDER_SUCCEEDED or ORDER_FAILED), by aggregate type and state',
  labelNames: ['aggregate_type', 'state'] as const,
  registers: [registry],
});

const sagaDuration = new Histogram({
  name: `${PREFIX}saga_duration_seconds`,
  help: "From an aggregate's first event to the event that put it in a final state (an order: POST to terminal), by aggregate type and state",
  labelNames: ['aggregate_type', 'state'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export type CommandOutcome = 'executed' | 'refused' | 'conflicted';

type Child = ReturnType<typeof commands.labels>;

/** Two-level cache of bound children: counting allocates nothing once a label pair was seen. */
function childCache<C>(bind: (a: string, b: string) => C) {
  const byA = new Map<string, Map<string, C>>();
  return (a: string, b: string): C => {
    let byB = byA.get(a);
    if (!byB) byA.set(a, (byB = new Map()));
    let c = byB.get(b);
    if (!c) byB.set(b, (c = bind(a, b)));
    return c;
  };
}

const commandChild = {
  executed: childCache((t, c) => commands.labels(t, c, 'executed')),
  refused: childCache((t, c) => commands.labels(t, c, 'refused')),
  conflicted: childCache((t, c) => commands.labels(t, c, 'conflicted')),
} satisfies Record<CommandOutcome, (a: string, b: string) => Child>;
const eventChild = childCache((t, e) => events.labels(t, e));
const outcomeChild = childCache((t, s) => outcomes.labels(t, s));
const durationChild = childCache((t, s) => sagaDuration.labels(t, s));

/** Counts a command's outcome. */
export function countCommand(aggregateType: string, command: string, outcome: CommandOutcome): void {
  if (state.enabled) commandChild[outcome](aggregateType, command).inc();
}

/** Counts committed events (`types` in stream order). */
export function countEvents(aggregateType: string, types: readonly { type: string }[]): void {
  if (!state.enabled) return;
  for (const e of types) eventChild(aggregateType, e.type).inc();
}

/** Final states reached whose duration is still to be read: [aggregate type, state, stream id, version]. */
let pendingDurations: [string, string, string, number][] = [];
/** Beyond this many unread durations (nobody scrapes), new ones are not kept: memory stays bounded. */
const MAX_PENDING_DURATIONS = 10_000;

/**
 * Counts an aggregate reaching a final state. Its duration (first event → this one) needs the
 * first event's time, which the state does not hold: it is read at the next scrape, for every
 * aggregate that became final since the last one, in one query ({@link observeSagaDurations}),
 * rather than one query per saga on the hot path.
 */
export function countFinalState(aggregateType: string, finalState: string, streamId: string, version: number): void {
  if (!state.enabled) return;
  outcomeChild(aggregateType, finalState).inc();
  if (pendingDurations.length < MAX_PENDING_DURATIONS) pendingDurations.push([aggregateType, finalState, streamId, version]);
}

/** What reads the durations: stream id and final version in, seconds out (in the same order; null when unknown). */
export type DurationReader = (streams: string[], versions: number[]) => Promise<(number | null)[]>;

/** Observes the durations of the sagas that ended since the last call (a scrape). */
export async function observeSagaDurations(read: DurationReader): Promise<void> {
  if (pendingDurations.length === 0) return;
  const batch = pendingDurations;
  pendingDurations = [];
  const seconds = await read(batch.map((b) => b[2]), batch.map((b) => b[3]));
  for (let i = 0; i < batch.length; i++) {
    const s = seconds[i];
    if (s !== null && s !== undefined) durationChild(batch[i][0], batch[i][1]).observe(s);
  }
}
