import { createContextKey, type Context } from '@opentelemetry/api';

/**
 * The correlation id of the work in progress, carried in the OpenTelemetry context next to
 * the active span, so that every log line written inside it can name it (see logger.ts).
 * Set by the request middleware and by the consumer for each message.
 */
export const CORRELATION_ID = createContextKey('tributary.correlation_id');

/** `ctx` with this correlation id. */
export const withCorrelationId = (ctx: Context, correlationId: string): Context => ctx.setValue(CORRELATION_ID, correlationId);
