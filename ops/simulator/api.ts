/**
 * The simulator's only way to the deployment: HTTP through `fetch`. Every exchange is counted
 * by request kind and status, and any 5xx is an error unless it is a 503 during an outage the
 * operator announced (`--allow-503`).
 */

export interface Reply {
  status: number;
  contentType: string;
  body: any;
}

/** Status used for a request that got no HTTP answer (refused, reset, timed out). */
export const NO_ANSWER = 0;

export class RequestStats {
  /** kind → status → count; a handful of keys, whatever the run's length. */
  readonly byKind = new Map<string, Map<number, number>>();
  /** 5xx answers and unanswered requests that no announced outage excuses. */
  unexpectedServerErrors = 0;
  /** The last few such errors, for the summary (bounded). */
  readonly lastErrors: string[] = [];

  count(kind: string, status: number): void {
    const m = this.byKind.get(kind) ?? new Map<number, number>();
    m.set(status, (m.get(status) ?? 0) + 1);
    this.byKind.set(kind, m);
  }

  error(message: string): void {
    this.lastErrors.push(message);
    if (this.lastErrors.length > 10) this.lastErrors.shift();
  }

  get total(): number {
    let n = 0;
    for (const m of this.byKind.values()) for (const c of m.values()) n += c;
    return n;
  }
}

export interface ApiOptions {
  baseUrl: string;
  allow503: boolean;
  token?: string;
  timeoutMs?: number;
}

export class Api {
  readonly stats = new RequestStats();
  constructor(private readonly options: ApiOptions) {}

  /**
   * Sends one request and counts it under `kind`. `body` is JSON unless `raw` is given (sent
   * as is, for malformed-body requests). Never throws for HTTP statuses; an unanswered request
   * resolves with status {@link NO_ANSWER}.
   */
  async request(kind: string, method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'application/hal+json, application/json, application/problem+json' };
    if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    let reply: Reply;
    try {
      const res = await fetch(this.options.baseUrl + path, {
        method,
        headers,
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      const contentType = res.headers.get('content-type') ?? '';
      let parsed: unknown = text;
      if (/json/.test(contentType) && text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          // keep the text: the caller's expectation decides
        }
      }
      reply = { status: res.status, contentType, body: parsed };
    } catch (err) {
      reply = { status: NO_ANSWER, contentType: '', body: String((err as Error).message ?? err) };
    }
    this.stats.count(kind, reply.status);
    const excused = reply.status === 503 && this.options.allow503;
    if ((reply.status >= 500 || reply.status === NO_ANSWER) && !excused) {
      this.stats.unexpectedServerErrors += 1;
      const detail = typeof reply.body === 'string' ? reply.body : (reply.body?.detail ?? '');
      this.stats.error(`${method} ${path} → ${reply.status === NO_ANSWER ? 'no answer' : reply.status} ${String(detail).slice(0, 160)}`);
    }
    return reply;
  }
}

/** Drops a URI template's `{?…}` tail: `/v1/orders{?page}` → `/v1/orders`. */
export const untemplated = (href: string): string => href.replace(/\{[^}]*\}/g, '');
