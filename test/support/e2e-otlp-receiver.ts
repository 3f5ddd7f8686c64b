/**
 * A tiny OTLP/HTTP receiver for tests: accepts `POST /v1/traces` in the JSON encoding (what
 * @opentelemetry/exporter-trace-otlp-http sends by default) and keeps the spans, flattened
 * with the `service.name` of the process that sent them. Other signals are acknowledged and
 * ignored. Anything it cannot read is kept in `rejected`, so a test can say why it saw no span.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** OTLP JSON span kinds. */
export const OtlpSpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpTraces {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpAttribute[] }[] }[];
  }[];
}

const valueOf = (v: OtlpValue): string | number | boolean =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue ?? '';

const attributesOf = (list: OtlpAttribute[] = []) => Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

export interface OtlpReceiver {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Requests it could not decode (content type and a reason). */
  rejected: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = req.headers['content-type'] ?? '';
      if (req.method === 'POST' && req.url === '/v1/traces') {
        if (!contentType.startsWith('application/json')) {
          rejected.push(`${contentType}: not JSON (set OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json)`);
        } else {
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpTraces;
            for (const rs of body.resourceSpans ?? []) {
              const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
              for (const ss of rs.scopeSpans ?? []) {
                for (const s of ss.spans ?? []) {
                  spans.push({
                    service,
                    traceId: s.traceId,
                    spanId: s.spanId,
                    parentSpanId: s.parentSpanId || undefined,
                    name: s.name,
                    kind: s.kind,
                    attributes: attributesOf(s.attributes),
                  });
                }
              }
            }
          } catch (err) {
            rejected.push(`${contentType}: ${(err as Error).message}`);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    rejected,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
