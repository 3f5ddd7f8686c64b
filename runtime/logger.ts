import pino, { type Logger } from 'pino';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { CORRELATION_ID } from './telemetry/correlation';

export type { Logger };

export interface LoggerOptions {
  /** Add `trace_id`, `span_id` and `correlation_id` of the active span to each line (default true; LOG_TRACE_IDS). */
  traceIds?: boolean;
}

/**
 * The fields that tie a log line to its trace: `trace_id` and `span_id` of the active
 * OpenTelemetry span (as the OpenTelemetry log data model names them) and the correlation id
 * when one is set, so a log search finds the trace and back. Nothing outside a span. A new
 * object each time: pino merges the line's fields into it.
 */
export function traceFields(): Record<string, string> {
  const active = context.active();
  const span = trace.getSpan(active);
  const correlationId = active.getValue(CORRELATION_ID) as string | undefined;
  if (!span) return correlationId ? { correlation_id: correlationId } : {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return correlationId ? { correlation_id: correlationId } : {};
  return correlationId ? { trace_id: sc.traceId, span_id: sc.spanId, correlation_id: correlationId } : { trace_id: sc.traceId, span_id: sc.spanId };
}

/** One JSON logger per process; children carry the component name. */
export function createLogger(level: string, name = 'tributary', options: LoggerOptions = {}): Logger {
  return pino({ name, level, base: { pid: process.pid }, ...(options.traceIds === false ? {} : { mixin: traceFields }) });
}
