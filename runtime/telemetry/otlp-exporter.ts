import type { SpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Logger } from '../logger';

/** The OTLP transports the specification names (`OTEL_EXPORTER_OTLP_PROTOCOL`). */
export type OtlpProtocol = 'http/json' | 'http/protobuf' | 'grpc';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['http/json', 'http/protobuf', 'grpc'];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Where and how spans are exported, from the standard variables: the signal-specific ones
 * first (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as it is; `..._TRACES_PROTOCOL`), then
 * the general ones (`OTEL_EXPORTER_OTLP_ENDPOINT`, to which HTTP appends `/v1/traces`).
 * Undefined when no endpoint is set. Headers, timeout and compression the exporters read
 * themselves from `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS|TIMEOUT|COMPRESSION`.
 */
export function otlpTarget(env: Env, baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT): { url: string; protocol: OtlpProtocol } | undefined {
  const raw = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || DEFAULT_PROTOCOL;
  if (!OTLP_PROTOCOLS.includes(raw as OtlpProtocol)) throw new Error(`Invalid OTEL_EXPORTER_OTLP_PROTOCOL=${JSON.stringify(raw)}: one of ${OTLP_PROTOCOLS.join(', ')}`);
  const protocol = raw as OtlpProtocol;
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (signal) return { url: signal, protocol };
  if (!baseEndpoint) return undefined;
  return { url: protocol === 'grpc' ? baseEndpoint : `${baseEndpoint.replace(/\/$/, '')}/v1/traces`, protocol };
}

/**
 * The default transport. The specification's default is `http/protobuf`; this runtime has
 * always sent `http/json` (what its test receiver and earlier deployments read), and keeps
 * it unless `OTEL_EXPORTER_OTLP_PROTOCOL` says otherwise.
 */
export const DEFAULT_PROTOCOL: OtlpProtocol = 'http/json';

/** The OTLP trace exporter of `protocol` (the protobuf and gRPC ones come with @opentelemetry/sdk-node). */
export function otlpExporter(target: { url: string; protocol: OtlpProtocol }): SpanExporter {
  switch (target.protocol) {
    case 'http/json':
      return new (require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: target.url });
    case 'http/protobuf':
      return new (require('@opentelemetry/exporter-trace-otlp-proto') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: target.url });
    case 'grpc':
      return new (require('@opentelemetry/exporter-trace-otlp-grpc') as typeof import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: target.url });
  }
}

/**
 * Wraps an exporter so that a failing export is not dropped in silence: the first failure
 * is logged as a warning (with the reason and the endpoint), then nothing until an export
 * succeeds again, which is logged once too. A collector that stays down costs one line.
 */
export class ReportingExporter implements SpanExporter {
  private failing = false;
  /** Export failures since start (each batch that could not be sent). */
  failures = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: Logger,
    private readonly endpoint: string,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.FAILED) {
        this.failures++;
        if (!this.failing) {
          this.failing = true;
          this.log.warn({ endpoint: this.endpoint, err: result.error?.message, spans: spans.length }, 'OTLP trace export failing; spans are dropped until it recovers');
        }
      } else if (this.failing) {
        this.failing = false;
        this.log.info({ endpoint: this.endpoint, failedBatches: this.failures }, 'OTLP trace export recovered');
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
