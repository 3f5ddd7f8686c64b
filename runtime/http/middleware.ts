import type { Context, Next } from 'koa';
import { context as otelContext, propagation, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import { ServiceUnavailableError, ValidationError } from '../errors';
import { tracer } from '../telemetry/propagation';
import { Attr, SpanNames } from '../telemetry/names';
import { withCorrelationId } from '../telemetry/correlation';
import { observeRequest, UNMATCHED_ROUTE } from '../metrics/http';

/**
 * Makes sure each request runs in a server span. With the SDK's HTTP instrumentation that
 * span exists already; without it (a tracer provider registered without instrumentations,
 * as in tests) one is started here, from the incoming `traceparent`, so the events a
 * command writes carry the request's trace. With tracing off nothing is recorded or carried.
 */
export function traceRequests() {
  return async function tracing(ctx: Context, next: Next): Promise<void> {
    const active = trace.getSpan(otelContext.active());
    if (active) {
      await next();
      const route = (ctx as { _matchedRoute?: string })._matchedRoute;
      if (route) active.setAttribute(Attr.httpRoute, String(route));
      return;
    }
    const parent = propagation.extract(otelContext.active(), ctx.headers);
    const span = tracer().startSpan(`${ctx.method}`, { kind: SpanKind.SERVER, attributes: { [Attr.httpMethod]: ctx.method } }, parent);
    try {
      await otelContext.with(trace.setSpan(parent, span), next);
    } finally {
      const route = String((ctx as { _matchedRoute?: string })._matchedRoute ?? ctx.path);
      span.updateName(SpanNames.httpServer(ctx.method, route));
      span.setAttribute(Attr.httpRoute, route);
      span.setAttribute(Attr.httpStatus, ctx.status);
      if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}

/**
 * One log line per request; a correlation id for every request (X-Correlation-Id in and out),
 * also put in the OpenTelemetry context so that every line logged while handling it names it;
 * the request counted by route template, method and status (`/metrics`).
 */
export function requestLog(log: Logger) {
  return async function logRequests(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    const correlationId = ctx.get('x-correlation-id') || randomUUID();
    ctx.state.correlationId = correlationId;
    ctx.set('X-Correlation-Id', correlationId);
    try {
      await otelContext.with(withCorrelationId(otelContext.active(), correlationId), next);
    } finally {
      const elapsed = performance.now() - started;
      observeRequest(String((ctx as { _matchedRoute?: string })._matchedRoute ?? UNMATCHED_ROUTE), ctx.method, ctx.status, elapsed / 1000);
      const ms = Math.round(elapsed * 10) / 10;
      const quiet = ctx.path === '/healthz' || ctx.path === '/readyz';
      (quiet ? log.debug : log.info).call(log, { method: ctx.method, path: ctx.path, status: ctx.status, ms, correlationId }, 'request');
    }
  };
}

/** Answers 503 instead of hanging when a request outlives its time (e.g. Postgres is down). */
export function requestTimeout(ms: number) {
  return async function timeout(ctx: Context, next: Next): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ServiceUnavailableError(`The request took longer than ${ms} ms; a backing service may be down`)), ms);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * The methods any route of the API can have. Everything else is refused with 405
 * problem+json before routing: TRACE and TRACK echo the request (cross-site tracing), CONNECT
 * opens a tunnel, WebDAV methods and the like serve nothing here (the router would answer 501
 * with a plain-text body). Node's own parser refuses TRACK and unknown tokens before the app
 * (400, connection closed).
 */
const SERVED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);

/** 405 problem+json for TRACE, CONNECT and any method no route can have, whatever the path. */
export function refuseProbeMethods() {
  return async function refuseMethods(ctx: Context, next: Next): Promise<void> {
    if (!SERVED_METHODS.has(ctx.method)) {
      ctx.set('Allow', 'GET, HEAD, POST, PUT, DELETE');
      throw Object.assign(new Error(`${ctx.method} is not allowed on this server`), { status: 405 });
    }
    await next();
  };
}

/**
 * A query parameter given twice (`?accountId=A&accountId=B`) is a 400 naming it. Koa turns it
 * into an array, which a string schema may coerce or a filter may silently drop, answering
 * with every account's data; no route takes a list in the query, so one value per name.
 */
export function singleQueryValues() {
  return async function singleValues(ctx: Context, next: Next): Promise<void> {
    for (const [name, value] of Object.entries(ctx.query)) {
      if (Array.isArray(value)) {
        throw new ValidationError(`The query parameter ${JSON.stringify(name)} is repeated; give it once`, [{ path: name, message: 'must be given once' }]);
      }
    }
    await next();
  };
}
