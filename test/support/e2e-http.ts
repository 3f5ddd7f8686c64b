/**
 * A small JSON client over Node's global fetch, for end-to-end tests. Every exchange is checked
 * against the API document (`openapi-contract.ts`): a response whose status, content type or
 * body the document does not describe fails the test, and so does a request the document
 * refuses that the server does not refuse.
 */
import { AssertionError, expect } from 'chai';
import { httpClient, type Reply as KitReply, type RequestOptions } from '../../runtime/testing/http';
import { apiContract } from './openapi-contract';

export type { RequestOptions };

/** The kit's reply, with an untyped body by default (these tests read what they assert on). */
export type Reply<T = any> = KitReply<T>;

/** Statuses that may answer a request the document refuses before its body is looked at. */
const REFUSALS = new Set([400, 404, 413, 415]);

/**
 * Fails when the exchange is not what the API document says: the response must be described
 * by it, and a request it refuses must be refused (400, or 404/413/415 that come first).
 */
function checkContract(method: string, path: string, options: RequestOptions, headers: Record<string, string>, reply: Reply): void {
  const contract = apiContract();
  const raw = typeof options.body === 'string';
  const refused = contract.requestProblems(method, path, headers, options.body, raw || (options.contentType !== undefined && !/json/.test(options.contentType)));
  const p = reply.body as { type?: string; detail?: string } | undefined;
  // A route this process does not serve (a context it did not load) is the router's own 404.
  const unrouted = reply.status === 404 && typeof p?.detail === 'string' && p.detail.startsWith('No resource at ');
  if (!unrouted) {
    const problem = contract.responseProblems(method, path, reply.status, reply.contentType, reply.body);
    if (problem) throw new AssertionError(`The response does not match the API document (docs/openapi.json): ${problem}\n${JSON.stringify(reply.body)?.slice(0, 2000)}`);
  }
  if (refused && !REFUSALS.has(reply.status) && !unrouted && reply.status !== 503) {
    throw new AssertionError(`The API document refuses ${method} ${path} (${refused}), but the server answered ${reply.status}`);
  }
  // And the other way: a 400 for a request the document accepts, unless it is about data the
  // document cannot know (an id naming no resource) or query input the document does not list.
  if (reply.status === 400 && !refused && !referential(reply.body) && !contract.hasUndeclaredQuery(method, path)) {
    throw new AssertionError(`The server refused ${method} ${path} with 400 (${p?.detail}), but the API document accepts the request`);
  }
}

/** A 400 whose every field issue says that an id names nothing (a reference, not a shape). */
function referential(body: unknown): boolean {
  const errors = (body as { errors?: { message: string }[] } | undefined)?.errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e) => /^no such /.test(e.message));
}

/** The test kit's HTTP client, with every exchange checked against the API document. */
export function client(baseUrl: string) {
  const kit = httpClient(baseUrl, {
    headers: { accept: 'application/hal+json, application/problem+json' },
    onReply: ({ method, path, options, headers, reply }) => checkContract(method, path, options, headers, reply),
  });
  return {
    request: <T = any>(method: string, path: string, options?: RequestOptions) => kit.request<T>(method, path, options),
    get: <T = any>(path: string, options?: RequestOptions) => kit.get<T>(path, options),
    post: <T = any>(path: string, body?: unknown, options?: RequestOptions) => kit.post<T>(path, body, options),
    put: <T = any>(path: string, body?: unknown, options?: RequestOptions) => kit.put<T>(path, body, options),
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
