import type Router from '@koa/router';
import type { RuntimeServices } from '../../context';
import type { ActorSystem } from '../../actors/actor-system';
import { NotFoundError } from '../../errors';
import { correlationEvents, correlationTimers, type LogEvent } from '../../store/event-log-queries';
import { requireUuid } from '../aggregate-routes';
import { HAL_JSON, link, type Links } from '../hal';
import { idParamsSchema } from '../openapi/schemas';
import { route } from '../route-spec';
import { eventView } from './event-view';
import { machineModel } from './machine-model';
import { correlationSchema } from './schemas';

export interface Outcome {
  status: 'running' | 'succeeded' | 'failed';
  reason?: string;
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '');
  return m?.[1];
}

/**
 * How a correlation ended, read from its events. Its root is the aggregate whose id is the
 * correlation id (an order: the saga uses the order id as the correlation id), else the
 * aggregate of its first event. It is over once the root's last event leads into a final
 * state of its machine: failed when that event carries a `reason` (the order saga's
 * ORDER_FAILED does) or the final state's name says so, succeeded otherwise.
 */
export function outcomeOf(actors: ActorSystem, correlationId: string, events: readonly LogEvent[]): Outcome {
  if (events.length === 0) return { status: 'running' };
  const rootId = events.some((e) => e.metadata.actorId === correlationId) ? correlationId : events[0].metadata.actorId;
  const root = events.filter((e) => e.metadata.actorId === rootId);
  const last = root[root.length - 1];
  let finalState: string | undefined;
  try {
    finalState = machineModel(actors.definition(last.streamType)).finalEvents[last.type];
  } catch {
    return { status: 'running' };
  }
  if (!finalState) return { status: 'running' };
  const reason = (last.data as { reason?: unknown } | null)?.reason;
  if (typeof reason === 'string') return { status: 'failed', reason };
  return /FAIL|CANCEL|REJECT/i.test(finalState) ? { status: 'failed' } : { status: 'succeeded' };
}

/** `GET /v1/correlations/{id}`: a business transaction's timeline across aggregates, its pending deadlines and outcome. */
export function mountCorrelationRoutes(router: Router, services: RuntimeServices): void {
  route(router, {
    method: 'get',
    path: '/v1/correlations/:id',
    operationId: 'getCorrelation',
    summary: 'The timeline of one correlation (an order and everything its saga did)',
    description: [
      'Every event that carries this correlation id, in commit order, with the pending durable timers of the correlation',
      '(`attempt`: the saga step attempt the timer data records, null when it records none) and the outcome.',
      '`_links.trace` points at the trace UI (TRACE_UI_URL) when the first event was traced.',
    ].join(' '),
    tags: ['Console'],
    scope: 'read',
    params: idParamsSchema,
    responses: { 200: { description: 'The timeline', schema: correlationSchema }, 404: { description: 'No event carries that correlation id' } },
  }, async (ctx) => {
    const id = requireUuid(ctx.params.id, 'correlation');
    const [events, timers] = await Promise.all([correlationEvents(services.db, id), correlationTimers(services.db, id)]);
    if (events.length === 0) throw new NotFoundError(`No correlation with id ${id}`);
    const traceId = traceIdOf(events[0].metadata.traceparent);
    const links: Links = { self: link(`/v1/correlations/${id}`) };
    const traceUi = services.config.console?.traceUiUrl;
    if (traceId && traceUi) links.trace = link(`${traceUi}/trace/${traceId}`);
    ctx.type = HAL_JSON;
    ctx.body = {
      correlationId: id,
      ...(traceId ? { traceId } : {}),
      events: events.map((e) => eventView(services.actors, e)),
      timers: timers.map((t) => ({
        actorType: t.actorType,
        actorId: t.actorId,
        name: t.name,
        dueAt: t.dueAt.toISOString(),
        overdue: t.overdue,
        attempt: typeof t.data.attempt === 'number' ? t.data.attempt : null,
        data: t.data,
      })),
      outcome: outcomeOf(services.actors, id, events),
      _links: links,
    };
  });
}
