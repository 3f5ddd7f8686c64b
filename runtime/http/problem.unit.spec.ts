import { expect } from 'chai';
import { toProblem, type Problem } from './problem';
import {
  CommandRejectedError, ConcurrencyError, ConflictError, DatabaseUnavailableError, NotFoundError, PayloadTooLargeError,
  RETRY_AFTER_SECONDS, ServiceUnavailableError, UnsupportedMediaTypeError, ValidationError,
} from '../errors';

/** Every problem document carries the RFC 9457 members plus `message`, equal to `detail`. */
function expectWellFormed(p: Problem, status: number): void {
  expect(p.status).to.equal(status);
  expect(p.type).to.be.a('string').and.match(/^\/problems\/[a-z-]+$/);
  expect(p.title).to.be.a('string').and.not.equal('');
  expect(p.detail).to.be.a('string').and.not.equal('');
  expect(p.message).to.equal(p.detail);
  expect(p.instance).to.equal('/v1/x');
}

const map = (err: unknown) => toProblem(err, '/v1/x');

describe('problem+json mapping', () => {
  const typed: [Error, number, string][] = [
    [new NotFoundError('No account with id 1'), 404, '/problems/not-found'],
    [new CommandRejectedError('The account is already suspended', 'suspend', 'ACCOUNT_SUSPENDED'), 409, '/problems/command-rejected'],
    [new ConcurrencyError('account-1', 3), 409, '/problems/concurrency-conflict'],
    [new ConflictError('An account with the supplied email already exists'), 409, '/problems/conflict'],
    [new PayloadTooLargeError('too big'), 413, '/problems/payload-too-large'],
    [new UnsupportedMediaTypeError('not json'), 415, '/problems/unsupported-media-type'],
    [new ServiceUnavailableError('slow'), 503, '/problems/service-unavailable'],
    [new DatabaseUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432')), 503, '/problems/database-unavailable'],
  ];
  for (const [err, status, type] of typed) {
    it(`${err.name} → ${status} ${type}, its message verbatim`, () => {
      const { problem, unexpected } = map(err);
      expectWellFormed(problem, status);
      expect(problem.type).to.equal(type);
      expect(problem.message).to.equal(err.message);
      expect(unexpected).to.equal(false);
    });
  }

  it('ValidationError → 400 with the list of field errors', () => {
    const issues = [{ path: 'email', message: 'Email is required' }];
    const { problem } = map(new ValidationError('email: Email is required', issues));
    expectWellFormed(problem, 400);
    expect(problem.type).to.equal('/problems/validation');
    expect(problem.errors).to.deep.equal(issues);
  });

  it('CommandRejectedError names the command and the current status', () => {
    const { problem } = map(new CommandRejectedError('The account is already suspended', 'suspend', 'ACCOUNT_SUSPENDED'));
    expect(problem).to.include({ message: 'The account is already suspended', command: 'suspend', currentStatus: 'ACCOUNT_SUSPENDED', title: 'Conflict' });
  });

  it('a koa-style error with status 405 keeps its status', () => {
    const err = Object.assign(new Error('Method Not Allowed'), { status: 405, expose: true });
    const { problem, unexpected } = map(err);
    expectWellFormed(problem, 405);
    expect(problem.type).to.equal('/problems/method-not-allowed');
    expect(unexpected).to.equal(false);
  });

  it('a bare { status: 405 } object gets the standard title as detail', () => {
    const { problem } = map({ status: 405 });
    expectWellFormed(problem, 405);
    expect(problem.detail).to.equal('Method Not Allowed');
  });

  it('a koa-style 5xx error is not trusted: 500 with a generic detail', () => {
    const { problem, unexpected } = map(Object.assign(new Error('db password is hunter2'), { status: 502 }));
    expectWellFormed(problem, 500);
    expect(problem.detail).to.not.contain('hunter2');
    expect(unexpected).to.equal(true);
  });

  it('DatabaseUnavailableError → 503 "Database unavailable; retry later" with Retry-After, and not the driver\'s words', () => {
    const { problem, headers, unexpected } = map(new DatabaseUnavailableError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' })));
    expectWellFormed(problem, 503);
    expect(problem).to.include({ type: '/problems/database-unavailable', title: 'Service Unavailable', message: 'Database unavailable; retry later' });
    expect(JSON.stringify(problem)).to.not.contain('10.0.0.5');
    expect(headers).to.deep.equal({ 'Retry-After': String(RETRY_AFTER_SECONDS) });
    expect(unexpected).to.equal(false);
  });

  it('every 503 carries Retry-After; other statuses set no header', () => {
    expect(map(new ServiceUnavailableError('The request took longer than 10 ms')).headers).to.have.property('Retry-After', String(RETRY_AFTER_SECONDS));
    expect(map(Object.assign(new Error('Connection is closed.'), {})).headers).to.have.property('Retry-After', String(RETRY_AFTER_SECONDS));
    expect(map(new NotFoundError('gone')).headers).to.deep.equal({});
    expect(map(new Error('bug')).headers).to.deep.equal({});
  });

  it('a refused connection to a backing service → 503', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { problem, unexpected } = map(err);
    expectWellFormed(problem, 503);
    expect(problem.detail).to.not.contain('5432');
    expect(unexpected).to.equal(false);
  });

  it('a pool timeout → 503', () => {
    const err = new Error('timeout exceeded when trying to connect'); // node-postgres' pool
    expectWellFormed(map(err).problem, 503);
  });

  it('any other error → 500 with a generic detail that leaks nothing', () => {
    const err = new TypeError("Cannot read properties of undefined (reading 'secret') at /srv/app/runtime/x.ts:12");
    const { problem, unexpected } = map(err);
    expectWellFormed(problem, 500);
    expect(unexpected).to.equal(true);
    const text = JSON.stringify(problem);
    for (const leak of ['secret', 'runtime/x.ts', 'TypeError', 'undefined']) expect(text).to.not.contain(leak);
  });

  it('a thrown non-error value → 500', () => {
    expectWellFormed(map('boom').problem, 500);
    expectWellFormed(map(undefined).problem, 500);
  });
});
