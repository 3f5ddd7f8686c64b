/**
 * A connection URL with its password replaced by `***`, for messages and logs
 * (`postgres://app:s3cret@db/x` → `postgres://app:***@db/x`; Redis' `redis://:s3cret@host`
 * has an empty user).
 */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]+@/, '//$1:***@');
}
