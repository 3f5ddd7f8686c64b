import { useState } from 'preact/hooks';
import { ApiError, errorMessage, request } from '../api';

/**
 * Shown when the API answers 401: asks for an API key and signs in with it
 * (`POST /v1/auth/session`, which sets an HttpOnly cookie the page never sees). The page then
 * reloads, so every view, the event stream and Bull Board start again with the cookie.
 */
export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await request('/v1/auth/session', { method: 'POST', body: { apiKey: key.trim() } });
      location.reload();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That key is not valid (unknown, revoked or mistyped).' : errorMessage(err));
      setBusy(false);
    }
  }

  return (
    <form class="card sign-in" data-testid="sign-in" onSubmit={submit}>
      <h2>Sign in</h2>
      <p class="muted">This API needs a credential. Paste an API key (<code>tributary keys create</code>); it is kept in an HttpOnly cookie for this site.</p>
      <input
        type="password"
        autocomplete="off"
        placeholder="trb_…"
        value={key}
        onInput={(e) => setKey((e.target as HTMLInputElement).value)}
        data-testid="sign-in-key"
        aria-label="API key"
      />
      <button type="submit" disabled={busy || !key.trim()} data-testid="sign-in-submit">Sign in</button>
      {error && <div class="banner error" role="alert" data-testid="sign-in-error">{error}</div>}
    </form>
  );
}

/** Clears the session cookie and reloads (the API then asks again, unless it is open). */
export async function signOut(): Promise<void> {
  await request('/v1/auth/session', { method: 'DELETE' }).catch(() => undefined);
  location.reload();
}
