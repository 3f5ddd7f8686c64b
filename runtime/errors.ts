/**
 * Typed errors. Each carries the HTTP status it maps to, so `http/problem.ts` maps them
 * once; a message is what a client (or the dashboard) shows verbatim.
 */
export abstract class TributaryError extends Error {
  abstract readonly status: number;
  /** A stable problem type slug, used as `type: /problems/<slug>`. */
  abstract readonly slug: string;
  /** Extra members for the problem document (e.g. validation issues). */
  readonly extensions: Record<string, unknown> = {};
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldIssue {
  path: string;
  message: string;
}

/** The request is malformed or fails validation: 400. */
export class ValidationError extends TributaryError {
  readonly status = 400;
  readonly slug = 'validation';
  constructor(message: string, readonly issues: FieldIssue[] = []) {
    super(message);
    if (issues.length) this.extensions.errors = issues;
  }
}

/** The realm named in every `WWW-Authenticate` challenge. */
export const AUTH_REALM = 'tributary';

/**
 * Authentication or authorization refused (401, 403). `challenge` is the `WWW-Authenticate`
 * value that goes with the answer (RFC 6750), so `http/problem.ts` sets it in one place.
 */
export abstract class AuthError extends TributaryError {
  abstract readonly challenge: string;
}

/** No credential, or one that is malformed, unknown, revoked or expired: 401. */
export class UnauthorizedError extends AuthError {
  readonly status = 401;
  readonly slug = 'unauthorized';
  /** `invalid_token` when a credential was sent but refused; nothing when none was sent. */
  constructor(message: string, readonly invalidToken = false) {
    super(message);
  }
  get challenge(): string {
    return this.invalidToken ? `Bearer realm="${AUTH_REALM}", error="invalid_token"` : `Bearer realm="${AUTH_REALM}"`;
  }
}

/** A valid credential without the scope the route needs (or bound to one account where the route is not per account): 403. */
export class ForbiddenError extends AuthError {
  readonly status = 403;
  readonly slug = 'forbidden';
  constructor(message: string, readonly scope: string) {
    super(message);
    this.extensions.requiredScope = scope;
  }
  get challenge(): string {
    return `Bearer realm="${AUTH_REALM}", error="insufficient_scope", scope="${this.scope}"`;
  }
}

/** The addressed resource does not exist: 404. */
export class NotFoundError extends TributaryError {
  readonly status = 404;
  readonly slug = 'not-found';
}

/** The aggregate's state does not allow the command (a guard said no): 409. */
export class CommandRejectedError extends TributaryError {
  readonly status = 409;
  readonly slug = 'command-rejected';
  constructor(message: string, readonly command: string, readonly currentStatus: string) {
    super(message);
    this.extensions.command = command;
    this.extensions.currentStatus = currentStatus;
  }
}

/** Another writer appended to the stream first (optimistic concurrency): 409. */
export class ConcurrencyError extends TributaryError {
  readonly status = 409;
  readonly slug = 'concurrency-conflict';
  constructor(readonly streamId: string, readonly expectedVersion: number) {
    super(`The resource was changed concurrently (expected version ${expectedVersion}); reload it and try again`);
  }
}

/** A uniqueness rule of the domain was violated (e.g. email taken): 409. */
export class ConflictError extends TributaryError {
  readonly status = 409;
  readonly slug = 'conflict';
}

/** The request body exceeds the configured limit: 413. */
export class PayloadTooLargeError extends TributaryError {
  readonly status = 413;
  readonly slug = 'payload-too-large';
}

/** The request body is not JSON: 415. */
export class UnsupportedMediaTypeError extends TributaryError {
  readonly status = 415;
  readonly slug = 'unsupported-media-type';
}

/** Seconds a client is asked to wait (`Retry-After`) before it tries again after a 503. */
export const RETRY_AFTER_SECONDS = 2;

/** A backing service (Postgres, Redis) does not answer, or the request ran out of time: 503. */
export class ServiceUnavailableError extends TributaryError {
  readonly status = 503;
  readonly slug: string = 'service-unavailable';
  /** What the `Retry-After` header of the answer says. */
  readonly retryAfterSeconds: number = RETRY_AFTER_SECONDS;
}

/**
 * Postgres cannot be reached, or the connection broke under a query (the server restarts,
 * shuts down, is not accepting connections yet, or the network dropped): 503, try later.
 * The driver's error is kept as `cause` for the logs; clients see one fixed message.
 *
 * If the connection broke during COMMIT, the transaction may have committed nonetheless:
 * a 503 means "outcome not confirmed", not "nothing happened".
 */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  override readonly slug = 'database-unavailable';
  constructor(cause?: unknown) {
    super('Database unavailable; retry later');
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * Over a quota: requests per window of one client, or orders in flight of one account: 429,
 * with `Retry-After` (seconds) and the limit that was hit in `limit`.
 */
export class TooManyRequestsError extends TributaryError {
  readonly status = 429;
  readonly slug = 'too-many-requests';
  constructor(message: string, readonly retryAfterSeconds: number, limit: Record<string, unknown>) {
    super(message);
    this.extensions.limit = limit;
  }
}

/** Start-up cannot continue (service down, bad plugin): one line, no stack trace, exit 1. */
export class StartupError extends Error {
  override readonly name: string = 'StartupError';
}
