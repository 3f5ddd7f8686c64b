import type { ApiError } from '../api';

const KIND: Record<number, string> = {
  0: 'The API is not reachable',
  400: 'The request was refused',
  404: 'Not found',
  409: 'Conflict',
  412: 'Changed meanwhile',
  503: 'Service unavailable',
};

function headline(status: number): string {
  return KIND[status] ?? (status >= 500 ? 'The API failed' : `Error ${status}`);
}

/**
 * An error as the console shows it: what kind (from the status), the problem's `message`,
 * and, when the view retries by itself, in how long; never a stack or a blank page.
 */
export function ErrorBanner({ error, retryIn, onRetry, testid = 'error-banner' }: { error?: ApiError; retryIn?: number; onRetry?: () => void; testid?: string }) {
  if (!error) return null;
  return (
    <div class={`banner ${error.status === 409 || error.status === 400 || error.status === 412 ? 'warn' : 'error'}`} role="alert" data-testid={testid} data-status={error.status}>
      <strong>{headline(error.status)}</strong>
      <span class="banner-message" data-testid={`${testid}-message`}>{error.message}</span>
      {retryIn !== undefined && <span class="muted">retrying in {retryIn} s</span>}
      {onRetry && <button class="link" onClick={onRetry}>retry now</button>}
    </div>
  );
}

/** A small notice after an action went through. */
export function Notice({ text, testid = 'notice' }: { text?: string; testid?: string }) {
  if (!text) return null;
  return <div class="banner ok" data-testid={testid}>{text}</div>;
}
