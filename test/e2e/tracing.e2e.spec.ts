/**
 * One registration is one trace: the HTTP server span of `POST /v1/accounts` and the
 * worker's `process accounts.pN` spans for ACCOUNT_CREATED and ACCOUNT_CONFIRMED share a
 * trace id, because the traceparent travels in the outbox row and the stream entry.
 * (a) across real processes, exported over OTLP/HTTP to a receiver the test runs;
 * (b) in this process, with the in-memory exporter.
 */
import { expect } from 'chai';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { eventually, startTestRuntime } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer } from '../support/e2e-process';
import { client, newProfile } from '../support/e2e-http';
import { OtlpSpanKind, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/e2e-otlp-receiver';
import { inMemorySpans } from '../support/telemetry';
import type { Runtime } from '../../runtime/roles';

const PROCESS_SPAN = /^process accounts\.p\d+$/;

/** Registers an account and waits until the worker has activated it. */
async function registerAndActivate(url: string): Promise<string> {
  const api = client(url);
  const r = await api.post('/v1/accounts', newProfile('Trace'));
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
  const id = r.body.accountId as string;
  await eventually(async () => (await api.get(`/v1/accounts/${id}`)).body.status === 'ACCOUNT_ACTIVE', 15_000);
  return id;
}

/** The server span of the request: whichever layer made it (HTTP instrumentation or the runtime's middleware). */
function isRegistrationServerSpan(s: { name: string; attributes: Record<string, unknown> }): boolean {
  const a = s.attributes;
  const method = a['http.request.method'] ?? a['http.method'];
  const route = a['http.route'] ?? a['url.path'] ?? a['http.target'];
  return method === 'POST' && (route === '/v1/accounts' || s.name === 'POST /v1/accounts');
}

describe('trace continuity', function () {
  this.timeout(60_000);

  describe('(a) across web and worker processes, over OTLP/HTTP', () => {
    let receiver: OtlpReceiver;
    let webUrl = '';

    before(async function () {
      this.timeout(60_000);
      receiver = await startOtlpReceiver();
      const env = await freshDeployment('e2e_tracing');
      const otel = (service: string) => ({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        OTEL_SERVICE_NAME: service,
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
      });
      const [web] = await Promise.all([
        startServer(env, { ROLE: 'web', ...otel('tributary-web') }),
        startServer(env, { ROLE: 'worker', ...otel('tributary-worker') }),
      ]);
      webUrl = web.url;
    });

    after(async () => {
      await killStartedProcesses();
      await receiver?.close();
    });

    it('puts the HTTP span (web) and the process spans (worker) of one registration in one trace', async () => {
      const accountId = await registerAndActivate(webUrl);
      const spansOf = () => {
        const server = receiver.spans.filter((s) => s.kind === OtlpSpanKind.SERVER && isRegistrationServerSpan(s));
        const processed = receiver.spans.filter((s) => PROCESS_SPAN.test(s.name) && s.attributes['tributary.actor.id'] === accountId);
        return { server, processed };
      };
      const found = await eventually(async () => {
        const { server, processed } = spansOf();
        const types = new Set(processed.map((s) => s.attributes['tributary.message.type']));
        return server.length > 0 && types.has('ACCOUNT_CREATED') && types.has('ACCOUNT_CONFIRMED') && { server, processed };
      }, 15_000).catch((err: Error) => {
        const names = [...new Set(receiver.spans.map((s) => `${s.service}:${s.name}`))].join(', ');
        throw new Error(`${err.message}; received: ${names || 'no span'}; rejected: ${receiver.rejected.join(' | ') || 'none'}`);
      });

      expect(found.server).to.have.length(1, 'one server span for the POST');
      const [http] = found.server;
      expect(http.service).to.equal('tributary-web');
      const created = found.processed.filter((s) => s.attributes['tributary.message.type'] === 'ACCOUNT_CREATED');
      const confirmed = found.processed.filter((s) => s.attributes['tributary.message.type'] === 'ACCOUNT_CONFIRMED');
      for (const s of [...created, ...confirmed]) {
        expect(s.service).to.equal('tributary-worker');
        expect(s.kind).to.equal(OtlpSpanKind.CONSUMER);
        expect(s.traceId, `${s.name} ${s.attributes['tributary.message.type']}`).to.equal(http.traceId);
      }
      // The whole registration, from both processes, is one trace.
      const trace = receiver.spans.filter((s) => s.traceId === http.traceId);
      expect(new Set(trace.map((s) => s.service))).to.deep.equal(new Set(['tributary-web', 'tributary-worker']));
      expect(receiver.rejected).to.deep.equal([]);
      // Every span of the trace hangs from another span of it, up to the HTTP span.
      const ids = new Set(trace.map((s) => s.spanId));
      const orphans = trace.filter((s: ReceivedSpan) => s !== http && (!s.parentSpanId || !ids.has(s.parentSpanId)));
      expect(orphans.map((s) => s.name), 'spans whose parent is not in the trace').to.deep.equal([]);
    });
  });

  describe('(b) in this process, with the in-memory exporter', () => {
    let runtime: Runtime | undefined;

    before(async function () {
      this.timeout(30_000);
      inMemorySpans(); // the process-wide SDK with the in-memory exporter, shared with other specs
      runtime = await startTestRuntime('e2e_tracing_inproc', { CONTEXTS: 'accounts' });
    });

    after(async () => {
      await runtime?.stop();
    });

    it('puts the HTTP server span and the process spans of one registration in one trace', async () => {
      const accountId = await registerAndActivate(runtime!.url!);
      const spans = await eventually(async () => {
        const all = inMemorySpans().getFinishedSpans();
        const processed = all.filter((s) => PROCESS_SPAN.test(s.name) && s.attributes['tributary.actor.id'] === accountId);
        const types = new Set(processed.map((s) => s.attributes['tributary.message.type']));
        return types.has('ACCOUNT_CREATED') && types.has('ACCOUNT_CONFIRMED') && all;
      }, 10_000);
      const processed = spans.filter((s) => PROCESS_SPAN.test(s.name) && s.attributes['tributary.actor.id'] === accountId);
      // The exporter is shared with other spec files: look only at this registration's trace.
      const created = processed.find((s) => s.attributes['tributary.message.type'] === 'ACCOUNT_CREATED')!;
      const server = spans.filter(
        (s: ReadableSpan) => s.kind === 1 /* SpanKind.SERVER */ && isRegistrationServerSpan(s) && s.spanContext().traceId === created.spanContext().traceId,
      );
      expect(server, spans.map((s) => s.name).join(', ')).to.have.length(1);
      const traceId = server[0].spanContext().traceId;
      for (const type of ['ACCOUNT_CREATED', 'ACCOUNT_CONFIRMED']) {
        const ofType = processed.filter((s) => s.attributes['tributary.message.type'] === type);
        expect(ofType, type).to.have.length.greaterThan(0);
        for (const s of ofType) expect(s.spanContext().traceId, `${s.name} ${type}`).to.equal(traceId);
      }
    });
  });
});
