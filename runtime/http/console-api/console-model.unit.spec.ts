import { expect } from 'chai';
import { z } from 'zod';
import { assign, setup } from 'xstate';
import { defineAggregate } from '../../actors/aggregate';
import { machineModel } from './machine-model';
import { halFormsProperties, halFormsTemplate, inputJsonSchema } from './hal-forms';
import { traceIdOf } from './correlation-routes';
import { statusFilterSchema } from './status-filter';

/** A small machine with a guard, an assign-only transition and two final states. */
const machine = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'OPENED' | 'BUMPED' | 'CLOSED' | 'FAILED'; data?: { reason?: string } } },
  guards: { positive: ({ context }) => context.n > 0 },
  actions: { bump: assign(({ context }) => ({ n: context.n + 1 })) },
}).createMachine({
  id: 'door',
  initial: 'new',
  context: { n: 0 },
  states: {
    new: { on: { OPENED: 'OPEN' } },
    OPEN: { on: { BUMPED: { actions: 'bump' }, CLOSED: { target: 'CLOSED', guard: 'positive' }, FAILED: 'BROKEN' } },
    CLOSED: { type: 'final' },
    BROKEN: { type: 'final' },
  },
});

const door = defineAggregate<{ n: number }>({
  type: 'door',
  topic: 'doors',
  machine,
  compensations: ['FAILED'],
  commands: {
    open: { event: 'OPENED', creates: true, rejection: () => 'exists' },
    bump: { event: 'BUMPED', input: z.object({ by: z.number().int().min(1).max(5), note: z.string().regex(/^[a-z]+$/).optional(), kind: z.enum(['a', 'b']) }), rejection: () => 'no' },
    close: { event: 'CLOSED', rejection: () => 'no' },
    fail: { event: 'FAILED', public: false, rejection: () => 'no' },
  },
});

describe('console model (pure)', () => {
  it('reads states, transitions, guards, final states and commands from the machine', () => {
    const m = machineModel(door);
    expect(m.initial).to.equal('new');
    expect(m.states).to.deep.equal([
      { name: 'new', final: false },
      { name: 'OPEN', final: false },
      { name: 'CLOSED', final: true },
      { name: 'BROKEN', final: true },
    ]);
    expect(m.transitions).to.deep.equal([
      { from: 'new', to: 'OPEN', event: 'OPENED', commands: ['open'] },
      { from: 'OPEN', to: 'OPEN', event: 'BUMPED', commands: ['bump'] },
      { from: 'OPEN', to: 'CLOSED', event: 'CLOSED', guard: 'positive', commands: ['close'] },
      { from: 'OPEN', to: 'BROKEN', event: 'FAILED', commands: ['fail'] },
    ]);
    expect(m.commands.find((c) => c.name === 'fail')).to.deep.equal({ name: 'fail', event: 'FAILED', creates: false, public: false });
    expect(m.compensations).to.deep.equal(['FAILED']);
    expect(m.finalEvents).to.deep.equal({ CLOSED: 'CLOSED', FAILED: 'BROKEN' });
  });

  it('turns an input schema into HAL-FORMS properties and keeps the whole JSON Schema', () => {
    const input = door.commands.bump.input!;
    expect(halFormsProperties(inputJsonSchema(input))).to.deep.equal([
      { name: 'by', type: 'number', required: true, min: 1, max: 5 },
      { name: 'note', type: 'text', required: false, regex: '^[a-z]+$' },
      { name: 'kind', type: 'text', required: true, options: { inline: ['a', 'b'] } },
    ]);
    const t = halFormsTemplate('bump', 'POST', '/v1/doors/1/commands/bump', input);
    expect(t.schema).to.include({ type: 'object' });
    expect(t.schema).to.not.have.property('$schema');
    expect(halFormsTemplate('close', 'POST', '/x')).to.deep.equal({ title: 'close', method: 'POST', target: '/x', contentType: 'application/json', properties: [] });
  });

  it('accepts only the machine states (not new) as a status filter', () => {
    const s = statusFilterSchema(door);
    expect(s.safeParse('OPEN').success).to.equal(true);
    expect(s.safeParse(undefined).success).to.equal(true);
    for (const bad of ['new', 'open', "OPEN' OR 1=1", '']) expect(s.safeParse(bad).success, bad).to.equal(false);
  });

  it('reads the trace id of a W3C traceparent, nothing else', () => {
    expect(traceIdOf(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`)).to.equal('a'.repeat(32));
    expect(traceIdOf(undefined)).to.equal(undefined);
    expect(traceIdOf('00-zz-yy-01')).to.equal(undefined);
  });
});
