/** A small JSON client over Node's global fetch, for end-to-end tests. */
import { expect } from 'chai';

export interface Reply<T = any> {
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
}

export function client(baseUrl: string) {
  async function request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { accept: 'application/hal+json, application/problem+json', ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (/json/.test(contentType) && text !== '') parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, contentType, body: parsed as T };
  }
  return {
    request,
    get: <T = any>(path: string, options?: RequestOptions) => request<T>('GET', path, options),
    post: <T = any>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('POST', path, { ...options, body }),
    put: <T = any>(path: string, body?: unknown, options: RequestOptions = {}) => request<T>('PUT', path, { ...options, body }),
  };
}

export type Client = ReturnType<typeof client>;

/** Asserts an RFC 9457 problem document (with `message`) of this status. */
export function expectProblem(reply: Reply, status: number, message?: string | RegExp): void {
  expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
  expect(reply.contentType).to.match(/^application\/problem\+json/);
  const p = reply.body as Record<string, unknown>;
  expect(p).to.include.keys('type', 'title', 'status', 'detail', 'message');
  expect(p.status).to.equal(status);
  expect(p.message).to.equal(p.detail);
  if (typeof message === 'string') expect(p.message).to.equal(message);
  else if (message) expect(p.message).to.match(message);
}

let emails = 0;
/** A profile with an email no other test uses. */
export function newProfile(firstName = 'Ada') {
  emails += 1;
  return { firstName, lastName: 'Lovelace', email: `${firstName.toLowerCase()}.${process.pid}.${Date.now()}.${emails}@example.com` };
}
