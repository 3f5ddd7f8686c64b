/**
 * Logs and traces of a real process: a line written inside a span names the trace (and the
 * trace has that span), a consumer failure is logged once per attempt with its stack and
 * what finds the message, and an OTLP collector that refuses costs one warning, then one
 * line when it is back.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createRedis, type Redis } from '../../runtime/messaging/redis';
import { freePort, freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { startOtlpReceiver, type OtlpReceiver } from '../support/e2e-otlp-receiver';
import { TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/runtime';
import { Topology } from '../../runtime/messaging/topology';
import { PROBE_TOPIC, probeEnvelope } from '../fixtures/contexts/probe/contract';
import { scrape, sum } from '../support/prometheus-text';

type Line = Record<string, any>;
const lines = (p: ServerProcess): Line[] =>
  p
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

const PROBE = { CONTEXTS_DIR: 'test/fixtures/contexts', CONTEXTS: 'probe', ROLE: 'all', PARTITIONS: '2' };
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('logs and traces', function () {
  this.timeout(90_000);

  after(killStartedProcesses);

  describe('with a collector that answers', () => {
    let receiver: OtlpReceiver;
    let p: ServerProcess;
    let redis: Redis;
    let topology: Topology;

    before(async () => {
      receiver = await startOtlpReceiver();
      const env = await freshDeployment('logs');
      p = await startServer(env, {
        ...PROBE,
        LOG_LEVEL: 'info',
        CONSUMER_MAX_ATTEMPTS: '2',
        CONSUMER_RETRY_BASE_MS: '50',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_SERVICE_NAME: 'tributary-logs',
      });
      redis = createRedis(env.REDIS_URL);
      topology = new Topology(env.REDIS_PREFIX, 2);
    });

    after(async () => {
      await p?.stop();
      redis?.disconnect();
      await receiver?.close();
    });

    it('puts trace_id, span_id and the correlation id on a line logged inside a span, and the trace has that span', async () => {
      const traceId = hex(16);
      const r = await fetch(`${p.url}/v1/ops/partitions`, { headers: { traceparent: `00-${traceId}-${hex(8)}-01`, 'x-correlation-id': 'corr-logs-1' } });
      expect(r.status).to.equal(200);
      const line = await eventually(async () => lines(p).find((l) => l.msg === 'request' && l.path === '/v1/ops/partitions'), 5_000);
      expect(line.trace_id).to.equal(traceId);
      expect(line.span_id).to.match(/^[0-9a-f]{16}$/);
      expect(line.correlationId).to.equal('corr-logs-1');
      // From the log line to the trace: the receiver got the span the line names.
      const span = await eventually(async () => receiver.spans.find((s) => s.spanId === line.span_id), 10_000);
      expect(span.traceId).to.equal(traceId);
      // And back: the trace id finds the line.
      expect(lines(p).filter((l) => l.trace_id === traceId).length).to.be.at.least(1);
      // Outside any span (start-up) no trace fields.
      const started = lines(p).find((l) => l.msg === 'tributary started')!;
      expect(started).to.not.have.any.keys('trace_id', 'span_id');
    });

    it('logs a consumer failure with its stack once per attempt, the message id, type, actor, attempt and its trace', async () => {
      const traceId = hex(16);
      const m = { ...probeEnvelope('poisoned-actor', { seq: 1, poison: true }), traceparent: `00-${traceId}-${hex(8)}-01` };
      await redis.xadd(topology.streamKey(PROBE_TOPIC, topology.partitionOf(m.actor.id)), '*', 'm', JSON.stringify(m));
      const failures = await eventually(async () => {
        const found = lines(p).filter((l) => l.messageId === m.id);
        return found.length === 2 ? found : undefined;
      }, 15_000);
      expect(failures.map((l) => [l.msg, l.attempt, l.level])).to.deep.equal([
        ['message failed; will retry', 1, 40],
        ['message failed; dead-lettered', 2, 50],
      ]);
      for (const l of failures) {
        expect(l).to.include({ type: 'PROBE_MESSAGE', trace_id: traceId, correlation_id: m.correlationId });
        expect(l.actor).to.deep.equal(m.actor);
        expect(l.err.message).to.match(/poison message/);
        // The stack once: in err.stack, nowhere else on the line.
        expect(l.err.stack).to.match(/poison message[\s\S]*\n\s+at /);
        expect(JSON.stringify(l).split('\\n    at ').length - 1).to.equal(l.err.stack.split('\n    at ').length - 1);
      }
      await eventually(async () => sum(await scrape(p.url), 'tributary_consumer_dead_lettered_total', { group: 'probe.recorder' }) === 1, 5_000);
      expect(sum(await scrape(p.url), 'tributary_consumer_failed_total', { group: 'probe.recorder' })).to.equal(2);
    });
  });

  describe('with a collector that refuses (a closed port), then comes back', () => {
    let receiver: OtlpReceiver;
    let proxy: TcpProxy | undefined;
    let p: ServerProcess;

    after(async () => {
      await p?.stop();
      await proxy?.close();
      await receiver?.close();
    });

    it('warns once while export fails, and logs once when it recovers', async () => {
      receiver = await startOtlpReceiver();
      const port = await freePort();
      const env = await freshDeployment('otlp_down');
      p = await startServer(env, {
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
      });
      const traffic = async (n: number) => {
        for (let i = 0; i < n; i++) {
          await (await fetch(`${p.url}/v1`)).arrayBuffer();
          await new Promise((r) => setTimeout(r, 150));
        }
      };
      const failing = () => lines(p).filter((l) => l.msg === 'OTLP trace export failing; spans are dropped until it recovers');
      const recovered = () => lines(p).filter((l) => l.msg === 'OTLP trace export recovered');
      await traffic(3);
      await eventually(async () => failing().length > 0, 15_000, 100);
      // More batches fail meanwhile: still one line.
      await traffic(10);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(failing()).to.have.length(1);
      expect(failing()[0]).to.include({ level: 40, endpoint: `http://127.0.0.1:${port}/v1/traces`, component: 'telemetry' });
      expect(failing()[0].err).to.be.a('string').and.not.equal('');
      expect(recovered()).to.have.length(0);

      // The collector comes back on that port.
      const target = new URL(receiver.endpoint);
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) }, port);
      await eventually(async () => {
        await traffic(1);
        return recovered().length > 0;
      }, 20_000, 100);
      await traffic(5);
      await new Promise((r) => setTimeout(r, 500));
      expect(recovered()).to.have.length(1);
      expect(failing()).to.have.length(1);
      expect(receiver.spans.length).to.be.greaterThan(0);
    });
  });
});
