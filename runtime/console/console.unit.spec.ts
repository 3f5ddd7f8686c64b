/**
 * The console's pure parts (they run in the browser; nothing here needs one): link
 * templates, the path an event log took through a machine, and the forms' reading of JSON
 * Schema. The pages themselves are tested in headless Chromium (test/e2e/console.e2e.spec.ts).
 */
import { expect } from 'chai';
import { expand, match, variables } from './src/uri-template';
import { replayPath } from './src/path-taken';
import { clean, initialValue, resolve, type JsonSchema } from './src/schema';

describe('console: link templates', () => {
  it('expands simple and query variables, leaving unset ones out', () => {
    expect(expand('/v1/accounts/{id}', { id: 'a b' })).to.equal('/v1/accounts/a%20b');
    expect(expand('/v1/accounts{?page,size,status}', { page: 0, size: 20 })).to.equal('/v1/accounts?page=0&size=20');
    expect(expand('/v1/accounts{?page,size,status}', { status: '' })).to.equal('/v1/accounts');
    expect(expand('/v1/events/stream{?type,id,correlationId}', { type: 'account', id: 'x' })).to.equal('/v1/events/stream?type=account&id=x');
    expect(variables('/v1/orders{?page,size,accountId,status}')).to.deep.equal(['page', 'size', 'accountId', 'status']);
  });

  it('matches an href against an item template, and nothing else', () => {
    expect(match('/v1/orders/{id}', '/v1/orders/42')).to.deep.equal({ id: '42' });
    expect(match('/v1/orders/{id}', '/v1/orders/42?x=1')).to.deep.equal({ id: '42' });
    expect(match('/v1/orders/{id}', '/v1/orders/42/events')).to.equal(undefined);
    expect(match('/v1/orders/{id}', '/v1/accounts/42')).to.equal(undefined);
  });
});

describe('console: the path an event log took', () => {
  const machine = {
    initial: 'new',
    transitions: [
      { from: 'new', to: 'CREATED', event: 'CREATED' },
      { from: 'CREATED', to: 'ACTIVE', event: 'ACTIVATED' },
      { from: 'ACTIVE', to: 'SUSPENDED', event: 'SUSPENDED' },
      { from: 'SUSPENDED', to: 'ACTIVE', event: 'ACTIVATED' },
      { from: 'ACTIVE', to: 'ACTIVE', event: 'UPDATED' },
    ],
  };

  it('replays the event types through the transitions from the initial state', () => {
    const p = replayPath(machine, ['CREATED', 'ACTIVATED', 'UPDATED', 'SUSPENDED', 'ACTIVATED']);
    expect(p.current).to.equal('ACTIVE');
    expect([...p.states]).to.deep.equal(['new', 'CREATED', 'ACTIVE', 'SUSPENDED']);
    expect([...p.edges].sort()).to.deep.equal(['ACTIVE|SUSPENDED|SUSPENDED', 'ACTIVE|UPDATED|ACTIVE', 'CREATED|ACTIVATED|ACTIVE', 'SUSPENDED|ACTIVATED|ACTIVE', 'new|CREATED|CREATED'].sort());
  });

  it('skips an event the graph has no transition for from where the replay stands', () => {
    const p = replayPath(machine, ['CREATED', 'SUSPENDED', 'ACTIVATED']);
    expect(p.current).to.equal('ACTIVE');
    expect(p.states.has('SUSPENDED')).to.equal(false);
  });
});

describe('console: forms from JSON Schema', () => {
  const order: JsonSchema = {
    type: 'object',
    properties: {
      lineItems: { type: 'array', minItems: 1, items: { $ref: '#/$defs/LineItem' } },
      shippingAddress: { type: 'object', properties: { city: { type: 'string' }, zipCode: { anyOf: [{ type: 'string' }, { type: 'integer' }] } }, required: ['city'] },
      note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      priority: { anyOf: [{ const: 'low' }, { const: 'high' }] },
    },
    required: ['lineItems', 'shippingAddress'],
    $defs: { LineItem: { type: 'object', properties: { productId: { type: 'string' }, quantity: { type: 'integer', minimum: 1 } }, required: ['productId', 'quantity'] } },
  };

  it('follows references and picks the real branch of a nullable or a choice of constants', () => {
    expect(resolve(order.properties!.lineItems.items, order).properties).to.have.keys('productId', 'quantity');
    expect(resolve(order.properties!.note, order).type).to.equal('string');
    expect(resolve(order.properties!.shippingAddress.properties!.zipCode, order).type).to.equal('string');
    expect(resolve(order.properties!.priority, order).enum).to.deep.equal(['low', 'high']);
  });

  it('starts a required list with one row, and keeps given values', () => {
    expect(initialValue(order, order)).to.deep.equal({ lineItems: [{ productId: undefined, quantity: undefined }], shippingAddress: { city: undefined, zipCode: undefined }, note: undefined, priority: undefined });
    expect(initialValue(order, order, { shippingAddress: { city: 'Springfield' } })).to.have.nested.property('shippingAddress.city', 'Springfield');
  });

  it('sends only what was filled in', () => {
    expect(clean({ lineItems: [{ productId: 'A', quantity: 2, name: '' }], shippingAddress: { city: 'X', zipCode: undefined }, note: '' })).to.deep.equal({ lineItems: [{ productId: 'A', quantity: 2 }], shippingAddress: { city: 'X' } });
  });
});
