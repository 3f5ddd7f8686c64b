import { expect } from 'chai';
import { isBackingServiceUnavailable } from './unavailable';
import { DatabaseUnavailableError, ServiceUnavailableError } from './errors';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isBackingServiceUnavailable', () => {
  const unavailable: [string, unknown][] = [
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a reset connection', withCode('read ECONNRESET', 'ECONNRESET')],
    ['a host that is gone from DNS', withCode('getaddrinfo EAI_AGAIN postgres', 'EAI_AGAIN')],
    ['57P01 admin_shutdown (fast shutdown, restart)', withCode('terminating connection due to administrator command', '57P01')],
    ['57P02 crash_shutdown', withCode('terminating connection because of crash of another server process', '57P02')],
    ['57P03 cannot_connect_now (starting up, shutting down)', withCode('the database system is starting up', '57P03')],
    ['53300 too_many_connections', withCode('sorry, too many clients already', '53300')],
    ['08006 connection_failure (class 08)', withCode('connection failure', '08006')],
    ['08P01 protocol_violation (class 08)', withCode('protocol violation', '08P01')],
    ['the driver: connection ended', new Error('Connection terminated unexpectedly')],
    ['the driver: connect timeout', new Error('Connection terminated due to connection timeout')],
    ['the driver: a client whose connection broke', new Error('Client has encountered a connection error and is not queryable')],
    ['the pool: no connection in time', new Error('timeout exceeded when trying to connect')],
    ['the typed error itself', new DatabaseUnavailableError()],
    ['any typed outage', new ServiceUnavailableError('slow')],
    ['ioredis: a command on a closed connection', new Error('Connection is closed.')],
    ['ioredis: gave up while reconnecting', Object.assign(new Error('Reached the max retries per request limit (which is 1).'), { name: 'MaxRetriesPerRequestError' })],
    ['ioredis: a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED')],
  ];
  for (const [what, err] of unavailable) it(`yes: ${what}`, () => expect(isBackingServiceUnavailable(err)).to.equal(true));

  const other: [string, unknown][] = [
    ['23505 unique_violation', withCode('duplicate key value violates unique constraint', '23505')],
    ['40001 serialization_failure', withCode('could not serialize access', '40001')],
    ['42601 syntax_error', withCode('syntax error at or near "SELEKT"', '42601')],
    ['57014 query_canceled (statement_timeout)', withCode('canceling statement due to statement timeout', '57014')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['a message that merely mentions a connection', new Error('No account with id 1; Connection terminated unexpectedly')],
    ['not an error', 'Connection terminated'],
    ['a Redis reply error', new Error("WRONGTYPE Operation against a key holding the wrong kind of value")],
    ['undefined', undefined],
  ];
  for (const [what, err] of other) it(`no: ${what}`, () => expect(isBackingServiceUnavailable(err)).to.equal(false));
});
