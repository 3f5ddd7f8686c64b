import type Router from '@koa/router';
import { z } from 'zod';
import type { ContextPlugin, RuntimeServices } from '../../../context';
import { ValidationError } from '../../../errors';
import { filteredEvents, type LogEvent } from '../../../store/event-log-queries';
import { validate } from '../../../validation';
import { route } from '../../route-spec';
import { eventView } from '../event-view';
import { registeredAggregates } from '../machines-routes';
import { EventFeed } from './event-feed';
import { SseClient, type SseSource } from './sse-client';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const position = z.string().regex(/^\d{1,18}$/, 'must be an event position (a whole number)').transform(Number);

/** The query of a stream over these aggregate types (the document lists them, so it refuses what the route refuses). */
const querySchemaOf = (types: readonly string[]) => z
  .object({
    type: z.enum(types as [string, ...string[]], { error: () => `type must be one of ${types.join(', ')}` }).optional().describe('Only events of this aggregate type'),
    id: z.string().regex(UUID, 'id must be a UUID').optional().describe('Only events of this aggregate (needs `type`)'),
    correlationId: z.string().regex(UUID, 'correlationId must be a UUID').optional().describe('Only events of this correlation'),
    after: position.optional().describe('Resume after this position (for clients that cannot send Last-Event-ID)'),
  })
  .strict();

/** The feed of each runtime (one poller per process), so that `stop()` can end its streams. */
const feeds = new WeakMap<RuntimeServices, EventFeed>();

/** The event feed of this runtime, if its web role serves the event stream. */
export function eventFeedOf(services: RuntimeServices): EventFeed | undefined {
  return feeds.get(services);
}

/** Ends every open event stream of this runtime and stops its poller: the first thing `stop()` does. */
export function closeEventStreams(services: RuntimeServices): void {
  feeds.get(services)?.close();
}

/** Events dropped for being slow, per runtime (for tests and logs). */
export const droppedClients = new WeakMap<RuntimeServices, number>();

/**
 * `GET /v1/events/stream`: committed events as Server-Sent Events (`id: <position>`, `event:
 * event`, `data:` the timeline event JSON), filtered by aggregate type, aggregate or
 * correlation; resumable with `Last-Event-ID` (or `?after=`). Bad filters are a 400 problem
 * before the stream starts.
 */
export function mountEventStreamRoutes(router: Router, services: RuntimeServices, plugins: readonly ContextPlugin[]): void {
  const settings = services.config.console.eventStream;
  const feed = new EventFeed(services.db, { pollMs: settings.pollMs, gapMs: settings.gapMs }, services.log.child({ component: 'event-stream' }));
  feeds.set(services, feed);
  const rendered = new WeakMap<LogEvent, string>();
  const source: SseSource = {
    feed,
    render(e) {
      let s = rendered.get(e);
      if (s === undefined) rendered.set(e, (s = JSON.stringify(eventView(services.actors, e))));
      return s;
    },
    history: (after, upTo, filter, limit) => filteredEvents(services.db, after, upTo, filter, limit),
    onDropped: () => {
      droppedClients.set(services, (droppedClients.get(services) ?? 0) + 1);
      services.log.info('event stream client dropped: it fell behind its buffer cap');
    },
  };
  const querySchema = querySchemaOf(registeredAggregates(plugins).map((d) => d.type));

  route(router, {
    method: 'get',
    path: '/v1/events/stream',
    operationId: 'streamEvents',
    summary: 'Committed events, live, as Server-Sent Events',
    description: [
      'Each message: `id: <position>`, `event: event`, `data: <TimelineEvent JSON>`; a comment every 15 s keeps the connection alive.',
      'Resume with the `Last-Event-ID` header (or `?after=<position>`): everything after that position, then live; no event is skipped',
      'or repeated. A client that does not keep up (EVENT_STREAM_BUFFER_EVENTS / _BYTES) is disconnected and should resume.',
      '`id` needs `type` (400 without it).',
    ].join(' '),
    tags: ['Console'],
    scope: 'read',
    query: querySchema,
    headers: { 'Last-Event-ID': position.optional() },
    responses: { 200: { description: 'The event stream (text/event-stream)', schema: z.string(), contentType: 'text/event-stream' } },
  }, async (ctx) => {
    const q = validate(querySchema, { ...ctx.query });
    if (q.id && !q.type) throw new ValidationError('id needs type (the aggregate type of that id)', [{ path: 'id', message: 'needs type' }]);
    const header = ctx.get('last-event-id');
    const resumeFrom = header ? validate(z.object({ 'Last-Event-ID': position }), { 'Last-Event-ID': header })['Last-Event-ID'] : q.after;
    const filter = { type: q.type, id: q.id?.toLowerCase(), correlationId: q.correlationId?.toLowerCase() };

    // The stream outlives the request: Koa does not answer it, and no socket timeout applies.
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200;
    ctx.respond = false;
    const client = new SseClient(ctx.res, filter, resumeFrom, source, settings);
    client.start().catch((err) => {
      services.log.warn({ err: (err as Error).message }, 'event stream ended by an error');
      ctx.res.destroy();
    });
  });
}
