import { context, propagation, trace, type Context, type Span, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { TRACER_NAME } from './names';

export const tracer = () => trace.getTracer(TRACER_NAME);

export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The W3C trace context of the active span, to store in an outbox row / stream entry. */
export function currentTraceCarrier(ctx: Context = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context a stored traceparent continues. */
export function contextFromCarrier(carrier: TraceCarrier): Context {
  if (!carrier.traceparent) return context.active();
  return propagation.extract(context.active(), carrier);
}

/**
 * Runs `fn` inside a span that ends when `fn` settles; an exception marks it as an error
 * and is rethrown.
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

export { SpanKind };
