import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { createLogger, type Logger } from '../logger';
import { otlpExporter, otlpTarget, ReportingExporter } from './otlp-exporter';

export interface TelemetryOptions {
  serviceName: string;
  /** OTLP base endpoint (e.g. http://jaeger:4318; `OTEL_EXPORTER_OTLP_ENDPOINT`); spans go nowhere when no endpoint is set and no exporter is given. */
  otlpEndpoint?: string;
  /** Where export failures are logged (default: a logger of its own at `logLevel`). */
  log?: Logger;
  logLevel?: string;
  /** The standard `OTEL_*` variables (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Extra exporter (tests use the in-memory one); exported synchronously. */
  exporter?: SpanExporter;
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK. Must run before pg, ioredis and koa are first required,
 * which is why `cli.ts` calls it before importing anything else of the runtime.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry | undefined {
  const env = options.env ?? process.env;
  // The specification's switches: the SDK off, or no trace exporter.
  if (env.OTEL_SDK_DISABLED === 'true') return undefined;
  const processors: SpanProcessor[] = [];
  const target = env.OTEL_TRACES_EXPORTER === 'none' ? undefined : otlpTarget(env, options.otlpEndpoint);
  if (target) {
    const log = options.log ?? createLogger(options.logLevel ?? 'info').child({ component: 'telemetry' });
    // The batch processor reads OTEL_BSP_* itself; the exporter OTEL_EXPORTER_OTLP_(TRACES_)HEADERS/TIMEOUT/COMPRESSION.
    processors.push(new BatchSpanProcessor({ exporter: new ReportingExporter(otlpExporter(target), log, target.url) }));
  }
  if (options.exporter) processors.push(new SimpleSpanProcessor({ exporter: options.exporter }));
  if (processors.length === 0) return undefined;

  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: processors,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' }),
      new KoaInstrumentation(),
      // Without requireParentSpan every poll of the relay and consumer would be a trace of its own.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
