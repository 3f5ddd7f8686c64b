import { expect } from 'chai';
import { accountProfile } from '../account.aggregate';
import { validate } from '../../../runtime/validation';
import { ValidationError, type FieldIssue } from '../../../runtime/errors';

const valid = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };

/** The issues the API would answer with (400 `errors`), or a failure if the input passes. */
function issuesOf(input: unknown): FieldIssue[] {
  try {
    validate(accountProfile, input);
  } catch (err) {
    expect(err).to.be.instanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  return expect.fail(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('account profile validation', () => {
  it('accepts a complete profile, trimming names and lower-casing the email', () => {
    expect(validate(accountProfile, { firstName: ' Ada ', lastName: 'Lovelace ', email: ' ADA@Example.COM' })).to.deep.equal(valid);
  });

  it('names every missing field', () => {
    expect(issuesOf({})).to.deep.equal([
      { path: 'firstName', message: 'First name is required' },
      { path: 'lastName', message: 'Last name is required' },
      { path: 'email', message: 'Email is required' },
    ]);
  });

  it('treats a blank name as missing', () => {
    expect(issuesOf({ ...valid, lastName: '   ' })).to.deep.equal([{ path: 'lastName', message: 'Last name is required' }]);
  });

  it('rejects a value of the wrong type', () => {
    expect(issuesOf({ ...valid, firstName: 5 })).to.deep.equal([{ path: 'firstName', message: 'First name must be a string' }]);
  });

  it('rejects an invalid email', () => {
    expect(issuesOf({ ...valid, email: 'not-an-email' })).to.deep.equal([{ path: 'email', message: 'Email must be a valid email address' }]);
  });

  it('rejects names that are too long', () => {
    expect(issuesOf({ ...valid, firstName: 'x'.repeat(101) })[0]).to.include({ path: 'firstName', message: 'First name must be at most 100 characters' });
  });

  it('rejects an unknown key such as status (a status change is a command)', () => {
    const issues = issuesOf({ ...valid, status: 'ACCOUNT_ACTIVE' });
    expect(issues).to.have.length(1);
    expect(issues[0].message).to.match(/status/);
  });
});
