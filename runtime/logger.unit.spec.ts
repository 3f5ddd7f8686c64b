import { expect } from 'chai';
import { Writable } from 'node:stream';
import pino from 'pino';
import { context } from '@opentelemetry/api';
import { inMemorySpans } from '../test/support/telemetry';
import { inSpan } from './telemetry/propagation';
import { withCorrelationId } from './telemetry/correlation';
import { traceFields } from './logger';

/** A pino logger like createLogger's, writing its lines into an array. */
function capture(traceIds: boolean) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: 'info', ...(traceIds ? { mixin: traceFields } : {}) }, sink);
  return { log, lines };
}

describe('log lines and the active span', () => {
  before(() => void inMemorySpans());

  it('carry trace_id and span_id of the span they are written in, and the correlation id set around it', async () => {
    const { log, lines } = capture(true);
    const span = await context.with(withCorrelationId(context.active(), 'corr-1'), () =>
      inSpan('unit', {}, async (span) => {
        log.info({ a: 1 }, 'inside');
        return span;
      }),
    );
    log.info('outside');
    expect(span.spanContext().traceId).to.match(/^[0-9a-f]{32}$/).and.not.match(/^0+$/);
    expect(lines[0]).to.include({ msg: 'inside', a: 1, trace_id: span.spanContext().traceId, span_id: span.spanContext().spanId, correlation_id: 'corr-1' });
    expect(lines[1]).to.not.have.any.keys('trace_id', 'span_id', 'correlation_id');
  });

  it('keep the line fields of each call apart (the mixin object is not shared between lines)', async () => {
    const { log, lines } = capture(true);
    log.info({ first: true }, 'one');
    log.info('two');
    expect(lines[1]).to.not.have.property('first');
  });

  it('carry none of them with LOG_TRACE_IDS=false', async () => {
    const { log, lines } = capture(false);
    await inSpan('unit-off', {}, async () => log.info('inside'));
    expect(lines[0]).to.not.have.any.keys('trace_id', 'span_id');
  });
});
