import { ServiceUnavailableError } from './errors';

/**
 * Error codes that mean "a backing service (Postgres or Redis) cannot be reached or dropped
 * the connection": socket errors, and the SQLSTATEs a Postgres server sends while it shuts
 * down, crashes, starts up or is full (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now, 53300 too_many_connections). Class 08 (connection exception) is
 * matched by prefix.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  '57P01', '57P02', '57P03', '53300',
]);

/**
 * The drivers' own messages (no code) for the same situations: node-postgres' first, then
 * ioredis' (a command sent on a connection that closed). Anchored: a message that merely
 * mentions a connection is not an outage.
 */
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|Connection is closed)/;

/**
 * Whether `err` says that a backing service (Postgres or Redis) is unavailable, as opposed to
 * a bug or a constraint: what a client may simply retry later. The one classifier: the
 * database wraps what it matches in `DatabaseUnavailableError`, and the HTTP error
 * mapping answers 503 for it (Redis errors are not translated where they arise).
 */
export function isBackingServiceUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (err instanceof ServiceUnavailableError) return true;
  const { code, name, message } = err as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  // ioredis gave up on a command while it reconnects (maxRetriesPerRequest).
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message);
}
