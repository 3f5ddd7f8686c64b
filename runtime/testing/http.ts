/**
 * A small JSON client over Node's global fetch, for a context's integration and end-to-end
 * tests. (The repository's own end-to-end tests wrap the same exchange with a check against
 * the API document: `test/support/e2e-http.ts`.)
 */
export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  contentType: string;
  body: T;
}

export interface RequestOptions {
  /** A JSON value to send, or a raw string (sent as is, with `contentType`). */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Gives up after this long (default 10 s). */
  timeoutMs?: number;
}

/** One request and its answer, as an `onReply` hook sees them (the headers as sent). */
export interface Exchange {
  method: string;
  path: string;
  options: RequestOptions;
  headers: Record<string, string>;
  reply: Reply;
}

/**
 * A client for one base URL: `get`, `post`, `put`, or any `request`; JSON bodies are parsed.
 * `defaults.headers` go with every request; `defaults.onReply` sees every exchange before the
 * caller does (a check that throws fails the request).
 */
export function httpClient(baseUrl: string, defaults: { headers?: Record<string, string>; onReply?: (exchange: Exchange) => void } = {}) {
  async function request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { accept: 'application/hal+json, application/json, application/problem+json', ...defaults.headers, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    const parsed: unknown = /json/.test(contentType) && text !== '' ? JSON.parse(text) : text;
    const reply: Reply<T> = { status: res.status, headers: res.headers, contentType, body: parsed as T };
    defaults.onReply?.({ method, path, options, headers, reply });
    return reply;
  }
  return {
    request,
    get: <T = unknown>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
    post: <T = unknown>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('POST', path, { ...options, body }),
    put: <T = unknown>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('PUT', path, { ...options, body }),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
