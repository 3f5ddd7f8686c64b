import { expect } from 'chai';
import { warehouseAggregate } from '../warehouse.aggregate';
import { WarehouseEventType as E, WarehouseStatus as S } from '../events';
import { CorruptStreamError } from '../../../runtime/actors/machine-state';
import { ValidationError } from '../../../runtime/errors';
import { replay, specFor } from '../../../test/support/decider';

const address = { street1: '1 Dock Rd', city: 'Oakland', state: 'CA', country: 'US', zipCode: '94607' };
const warehouse = specFor(warehouseAggregate);

describe('warehouse (given / when / then)', () => {
  it('is created with its name and address, emitting WAREHOUSE_CREATED (the seed never did)', () => {
    const state = warehouse.given([]).when('create', { name: ' Main ', address }).then([{ type: E.WAREHOUSE_CREATED, data: { name: 'Main', address } }]);
    expect(state.status).to.equal(S.WAREHOUSE_CREATED);
    expect(state.context).to.deep.equal({ name: 'Main', address });
  });

  it('needs no name', () => {
    expect(warehouse.given([]).when('create', { address }).then([{ type: E.WAREHOUSE_CREATED, data: { address } }]).context.name).to.equal(null);
  });

  it('is refused once it exists', () => {
    warehouse.given([{ type: E.WAREHOUSE_CREATED, data: { address } }]).when('create', { address }).thenRejects('The warehouse already exists');
  });

  it('rejects a missing address, missing address fields and unknown keys', () => {
    expect(() => warehouse.given([]).when('create', {}).then([])).to.throw(ValidationError, /address is required/);
    expect(() => warehouse.given([]).when('create', { address: { ...address, city: ' ' } }).then([])).to.throw(ValidationError, /address\.city: city is required/);
    expect(() => warehouse.given([]).when('create', { address, status: 'X' }).then([])).to.throw(ValidationError, /status/);
  });

  it('accepts one event only', () => {
    const created = { type: E.WAREHOUSE_CREATED, data: { address } };
    expect(() => replay(warehouseAggregate, 'w1', [created, created])).to.throw(CorruptStreamError);
  });
});
