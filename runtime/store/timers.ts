import type { Queryable } from './database';
import type { ActorRef } from '../messaging/envelope';

/**
 * A durable deadline: when due, `TIMER_FIRED` with `{ name, ...data }` is sent to the actor on
 * `topic`, and again every re-arm period until the actor moves or cancels it.
 */
export interface TimerRequest {
  actor: ActorRef;
  name: string;
  topic: string;
  dueAt: Date;
  data?: Record<string, unknown>;
  correlationId: string;
  /** Trace context of the step that set it; the TIMER_FIRED message continues that trace. */
  traceparent?: string;
  tracestate?: string;
}

export const TIMER_FIRED = 'TIMER_FIRED';

export interface DueTimer {
  actor_type: string;
  actor_id: string;
  name: string;
  topic: string;
  data: Record<string, unknown>;
  correlation_id: string;
  traceparent: string | null;
  tracestate: string | null;
}

/**
 * Fires due timers: returns them and re-arms each for `rearmMs` later, rather than deleting
 * it. The actor's handler moves or cancels its timer when it acts on the message; if the
 * message is lost on the way (Redis lost its data before it was handled), the timer simply
 * fires again. Rows locked by another poller are skipped.
 *
 * The update finds its rows by the ctids the locking subquery returns (a row locked FOR
 * UPDATE keeps its ctid until this statement updates it): joined on the key instead, the
 * planner scans the whole table, whose every saga step leaves a dead row behind.
 */
export async function takeDueTimers(db: Queryable, limit: number, rearmMs: number): Promise<DueTimer[]> {
  const { rows } = await db.raw<{ rows: DueTimer[] }>(TAKE_DUE_TIMERS, [rearmMs, limit]);
  return rows;
}

/** The statement of {@link takeDueTimers} (exported for the test of its plan). */
export const TAKE_DUE_TIMERS = `UPDATE timers t SET due_at = now() + (? * interval '1 millisecond')
  WHERE t.ctid = ANY (ARRAY(SELECT ctid FROM timers WHERE due_at <= now() ORDER BY due_at LIMIT ? FOR UPDATE SKIP LOCKED))
  RETURNING t.actor_type, t.actor_id, t.name, t.topic, t.data, t.correlation_id, t.traceparent, t.tracestate`;

/** A timer request as a row of `timers` (JSON for jsonb_to_recordset). */
export function timerRow(t: TimerRequest) {
  return {
    actor_type: t.actor.type,
    actor_id: t.actor.id,
    name: t.name,
    topic: t.topic,
    due_at: t.dueAt.toISOString(),
    data: t.data ?? {},
    correlation_id: t.correlationId,
    traceparent: t.traceparent ?? null,
    tracestate: t.tracestate ?? null,
  };
}

