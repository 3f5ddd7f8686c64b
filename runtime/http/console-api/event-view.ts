import type { ActorSystem } from '../../actors/actor-system';
import type { LogEvent } from '../../store/event-log-queries';
import { link, type Links } from '../hal';
import { basePathOf } from './aggregate-paths';

/** One committed event as the console shows it: in a correlation's timeline and on the event stream. */
export interface EventView {
  position: number;
  eventId: string;
  type: string;
  aggregateType: string;
  aggregateId: string;
  version: number;
  createdAt: string;
  causationId: string;
  correlationId: string;
  /** Whether the event undoes an earlier step (the aggregate's declared `compensations`). */
  compensation: boolean;
  data: unknown;
  _links: Links;
}

/** Whether `type` of this aggregate type is declared a compensation (unknown types: no). */
export function isCompensation(actors: ActorSystem, aggregateType: string, eventType: string): boolean {
  try {
    return actors.definition(aggregateType).compensations?.includes(eventType) ?? false;
  } catch {
    return false;
  }
}

/** The event with its links: `self` (the event in its aggregate's log) and `aggregate`, where its routes are mounted. */
export function eventView(actors: ActorSystem, e: LogEvent): EventView {
  const aggregateId = e.metadata.actorId;
  const base = basePathOf(actors, e.streamType);
  const links: Links = {};
  if (base) {
    links.self = link(`${base}/${aggregateId}/events/${e.eventId}`);
    links.aggregate = link(`${base}/${aggregateId}`);
  }
  return {
    position: e.position,
    eventId: e.eventId,
    type: e.type,
    aggregateType: e.streamType,
    aggregateId,
    version: e.version,
    createdAt: e.createdAt.toISOString(),
    causationId: e.metadata.causationId,
    correlationId: e.metadata.correlationId,
    compensation: isCompensation(actors, e.streamType, e.type),
    data: e.data,
    _links: links,
  };
}
