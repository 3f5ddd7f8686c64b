import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { startTelemetry } from '../../runtime/telemetry/sdk';

let exporter: InMemorySpanExporter | undefined;

/**
 * The OpenTelemetry SDK with an in-memory exporter, started once per test process (the
 * global tracer provider can be registered only once) and shared by every test that
 * inspects spans. Tests filter spans by their own trace ids.
 */
export function inMemorySpans(): InMemorySpanExporter {
  if (!exporter) {
    exporter = new InMemorySpanExporter();
    startTelemetry({ serviceName: 'tributary-test', exporter });
  }
  return exporter;
}
