/**
 * Every span name and attribute key the runtime and its contexts use, in one place,
 * following the OpenTelemetry messaging semantic conventions.
 */
export const TRACER_NAME = 'tributary';

export const SpanNames = {
  publish: (destination: string) => `publish ${destination}`,
  process: (destination: string) => `process ${destination}`,
  httpServer: (method: string, route: string) => `${method} ${route}`,
  sagaStep: (step: string) => `saga.step ${step}`,
  compensation: (step: string) => `saga.compensate ${step}`,
  job: (queue: string) => `job ${queue}`,
  /** One attempt of a function bound to a transition (runtime/functions). */
  function: (name: string) => `function ${name}`,
} as const;

export const Attr = {
  messagingSystem: 'messaging.system',
  messagingOperation: 'messaging.operation.type',
  messagingDestination: 'messaging.destination.name',
  messagingMessageId: 'messaging.message.id',
  messagingConsumerGroup: 'messaging.consumer.group.name',
  messagingDeliveryAttempt: 'tributary.delivery.attempt',
  messageType: 'tributary.message.type',
  actorType: 'tributary.actor.type',
  actorId: 'tributary.actor.id',
  correlationId: 'tributary.correlation_id',
  orderId: 'tributary.order_id',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  functionName: 'tributary.function.name',
  functionMode: 'tributary.function.mode',
  functionAttempt: 'tributary.function.attempt',
  functionIdempotencyKey: 'tributary.function.idempotency_key',
} as const;

export const MESSAGING_SYSTEM = 'redis';
