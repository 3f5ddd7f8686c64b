import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage, request, type Resource } from './api';

/** Backoff after a failed load: 1 s, 2 s, 4 s ... at most 15 s. */
export const backoffMs = (failures: number): number => Math.min(15_000, 1000 * 2 ** Math.max(0, failures - 1));

export interface Loaded<T> {
  data?: T;
  headers?: Headers;
  error?: ApiError;
  /** Seconds until the next automatic retry after an error (undefined: none planned). */
  retryIn?: number;
  loading: boolean;
  reload(): void;
}

/**
 * GETs `href` and keeps it fresh: again every `refreshMs` (when given), and after a transient
 * failure (API away, 5xx, 404) with backoff until it answers. The last good data stays on
 * screen while a refresh fails, so a blip never blanks a page.
 */
export function useResource<T = Resource>(href: string | undefined, refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; headers?: Headers; error?: ApiError; retryAt?: number; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const failures = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => setState({ loading: true }), [href]);

  useEffect(() => {
    if (!href) return;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    request<T>(href, { signal: abort.signal }).then(
      (r) => {
        failures.current = 0;
        setState({ data: r.body, headers: r.headers, loading: false });
        if (refreshMs) timer = setTimeout(reload, refreshMs);
      },
      (err) => {
        if (abort.signal.aborted) return;
        const error = err instanceof ApiError ? err : new ApiError(0, errorMessage(err));
        failures.current += 1;
        const wait = error.transient ? backoffMs(failures.current) : undefined;
        setState((s) => ({ data: s.data, headers: s.headers, error, loading: false, retryAt: wait === undefined ? undefined : Date.now() + wait }));
        if (wait !== undefined) timer = setTimeout(reload, wait);
      },
    );
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [href, tick, refreshMs, reload]);

  const retryIn = state.retryAt === undefined ? undefined : Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
  return { data: state.data, headers: state.headers, error: state.error, retryIn, loading: state.loading, reload };
}

/** Re-renders every `ms` (for ages and countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
