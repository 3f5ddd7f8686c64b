import { expect } from 'chai';
import { envelope } from './envelope';

const actor = { type: 'order', id: 'o-1' };
const at = '2026-12-02T06:00:00.000Z';

describe('envelope()', () => {
  it('builds a command: a fresh uuid, version 0, the causation and time given', () => {
    const m = envelope({ type: 'RESERVE', stream: 'warehouse.commands', actor, data: { n: 1 } }, { correlationId: 'c-1', causationId: 'e-9', occurredAt: at });
    expect(m.id).to.match(/^[0-9a-f-]{36}$/);
    expect(m).to.deep.equal({ id: m.id, type: 'RESERVE', stream: 'warehouse.commands', actor, version: 0, correlationId: 'c-1', causationId: 'e-9', occurredAt: at, data: { n: 1 } });
    expect(envelope({ type: 'RESERVE', stream: 's', actor, data: {} }, { correlationId: 'c-1', occurredAt: at }).id).to.not.equal(m.id);
  });

  it('keeps an event its id and version', () => {
    const m = envelope({ id: 'e-1', type: 'ORDER_CREATED', stream: 'orders', actor, version: 3, data: {} }, { correlationId: 'c-1', causationId: 'x', occurredAt: at });
    expect(m).to.include({ id: 'e-1', version: 3, causationId: 'x' });
  });

  it('starts a causation chain when none is given: the causation id is the message id', () => {
    const m = envelope({ type: 'TIMER_FIRED', stream: 'orders.commands', actor, data: {} }, { correlationId: 'o-1', occurredAt: at });
    expect(m.causationId).to.equal(m.id);
  });

  it('carries the trace fields that are set, and no empty keys', () => {
    const traced = envelope({ type: 'T', stream: 's', actor, data: {} }, { correlationId: 'c', occurredAt: at, traceparent: '00-abc-def-01', tracestate: undefined });
    expect(traced.traceparent).to.equal('00-abc-def-01');
    expect(Object.keys(traced)).to.not.include('tracestate');
    const untraced = envelope({ type: 'T', stream: 's', actor, data: {} }, { correlationId: 'c', occurredAt: at });
    expect(Object.keys(untraced)).to.not.include.members(['traceparent', 'tracestate']);
  });
});
