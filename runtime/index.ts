/**
 * The runtime's public API: the only module a context imports from the runtime.
 */
export { defineContext, defineSubscription, type TypedSubscriptionSpec, type CommandOffer, type ContextPlugin, type Subscription, type ReactionContext, type JobProcessor, type RuntimeServices } from './context';
export { defineAggregate, NEW_STATE, exists, type AggregateDefinition, type AggregateState, type CommandSpec, type Change, type DomainEvent, type EventOfType, type EventsOf, type StoredEventLike } from './actors/aggregate';
export { defineTopic, type Topic, type Message, type MessageIn, type MessagesOf, type TopicMessage, type TimerMessages } from './messaging/messages';
export type { ActorSystem, ExecuteResult, OutgoingMessage, Causation } from './actors/actor-system';
export type { Envelope, ActorRef } from './messaging/envelope';
export type { Tx, Queryable, Db, TransactionOptions, Committed } from './store/database';
export { retryOnConflict } from './store/retry-on-conflict';
export { firstInTransaction, readIn } from './store/unflushed-reads';
export type { StoredEvent } from './store/event-store';
export type { RowUpsert } from './store/write-buffer';
export { HAL_JSON, link, resource, pagedCollection, pageRequest, pageQuerySchema, type Links, type Link, type PageRequest } from './http/hal';
export { mountAggregateRoutes, ifMatchVersion, requireUuid, correlationOf, eventResource, ifMatchSchema, ETAG_HEADER } from './http/aggregate-routes';
export { route, declaredRoutes, type RouteSpec, type RouteScope, type ResponseSpec, type HttpMethod } from './http/route-spec';
export {
  halLinkSchema, linksSchema, pageMetadataSchema, pagedCollectionSchema, problemSchema, fieldIssueSchema, timestampSchema, idParamsSchema,
} from './http/openapi/schemas';
export { bodyOf } from './http/json-body';
export { ALL_ACCOUNTS, accessCondition, accessOf, canSeeAccount, type AccountAccess } from './auth';
export { validate } from './validation';
export { ValidationError, NotFoundError, ConflictError, CommandRejectedError, ConcurrencyError, TributaryError, StartupError, TooManyRequestsError } from './errors';
export { SpanNames, Attr } from './telemetry/names';
export { inSpan, currentTraceCarrier, contextFromCarrier, type TraceCarrier } from './telemetry/propagation';
export { TIMER_FIRED, type TimerRequest } from './store/timers';
export { decideCommand, type Decision } from './actors/decide';
export { selectPage, type PageQuery } from './store/paging';
export { readSettings, ConfigError } from './config';
export * from './functions';
export { statusFilterSchema } from './http/console-api/status-filter';
export { halFormsTemplate, templatesSchema, type HalFormsTemplate } from './http/console-api/hal-forms';
