/**
 * Bad input gets a clear 4xx problem+json and writes nothing: no event, no outbox row, no
 * read-model row, no stream entry (checked in Postgres and Redis directly).
 */
import { expect } from 'chai';
import { eventually, type TestEnv } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, expectProblem, newProfile, type Client, type Reply } from '../support/e2e-http';
import { storeCounts, type StoreCounts } from '../support/e2e-store';

const ACCOUNTS = '/v1/accounts';
const BODY_LIMIT = 2048;

describe('bad input end to end (ROLE=all)', function () {
  this.timeout(30_000);
  let server: ServerProcess;
  let env: TestEnv;
  let api: Client;
  let accountId = '';
  let baseline: StoreCounts;

  before(async function () {
    this.timeout(60_000);
    env = await freshDeployment('e2e_bad_input');
    server = await startServer(env, { ROLE: 'all', HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT) });
    api = client(server.url);
    // One active account to aim commands at, and a quiet store to compare against.
    const r = await api.post(ACCOUNTS, newProfile());
    expect(r.status).to.equal(201);
    accountId = r.body.accountId;
    // Quiet = its three events relayed (outbox empty, three stream entries), the two the worker
    // reacts to consumed, and nothing changing between two looks 300 ms apart.
    let last: StoreCounts | undefined;
    baseline = await eventually(async () => {
      const previous = last;
      last = await storeCounts(env);
      const settled = last.events === 3 && last.outbox === 0 && last.streamEntries === 3 && last.inbox >= 2 && last.accounts === 1;
      return settled && JSON.stringify(previous) === JSON.stringify(last) && last;
    }, 15_000, 300).catch((err: Error) => {
      throw new Error(`${err.message}; last counts ${JSON.stringify(last)}`);
    });
    expect((await api.get(`${ACCOUNTS}/${accountId}`)).body.status).to.equal('ACCOUNT_ACTIVE');
  });

  after(killStartedProcesses);

  const account = () => `${ACCOUNTS}/${accountId}`;
  const cases: [string, () => Promise<Reply>, number, RegExp?][] = [
    ['a missing field', () => api.post(ACCOUNTS, { firstName: 'Ada', lastName: 'Lovelace' }), 400, /Email is required/],
    ['every field missing', () => api.post(ACCOUNTS, {}), 400, /First name is required/],
    ['a field of the wrong type', () => api.post(ACCOUNTS, { ...newProfile(), firstName: 5 }), 400, /First name must be a string/],
    ['an invalid email', () => api.post(ACCOUNTS, { ...newProfile(), email: 'not-an-email' }), 400, /valid email/],
    ['an unknown field', () => api.post(ACCOUNTS, { ...newProfile(), status: 'ACCOUNT_ACTIVE' }), 400],
    ['a JSON array instead of an object', () => api.post(ACCOUNTS, []), 400],
    ['malformed JSON', () => api.post(ACCOUNTS, '{"firstName":'), 400, /Malformed JSON/],
    ['a non-JSON content type', () => api.post(ACCOUNTS, 'firstName=Ada', { contentType: 'text/plain' }), 415],
    ['a body over HTTP_BODY_LIMIT_BYTES', () => api.post(ACCOUNTS, { ...newProfile(), firstName: 'x'.repeat(BODY_LIMIT + 100) }), 413, /limit of 2048 bytes/],
    ['a chunked body over the limit (no Content-Length)', () => postChunked(server.url, ACCOUNTS, 3, BODY_LIMIT), 413],
    ['an unknown command', () => api.post(`${account()}/commands/explode`), 404],
    ['an internal command over HTTP', () => api.post(`${account()}/commands/updateProfile`, newProfile()), 404],
    ['the creation command on an existing account', () => api.post(`${account()}/commands/register`, newProfile()), 404],
    ['a command on an unknown account', () => api.post(`${ACCOUNTS}/00000000-0000-4000-8000-000000000000/commands/suspend`), 404],
    ['a body for a command that takes none', () => api.post(`${account()}/commands/suspend`, { reason: 'x' }), 400, /takes no input/],
    ['query input for a command that takes none', () => api.post(`${account()}/commands/suspend?reason=x`), 400],
    ['a command with a stale If-Match', () => api.post(`${account()}/commands/suspend`, undefined, { headers: { 'if-match': '"1"' } }), 409],
    ['a command with a nonsense If-Match', () => api.post(`${account()}/commands/suspend`, undefined, { headers: { 'if-match': 'abc' } }), 400],
    ['a profile update with a stale If-Match', () => api.put(account(), newProfile(), { headers: { 'if-match': '"1"' } }), 409],
    ['a profile update with a nonsense If-Match', () => api.put(account(), newProfile(), { headers: { 'if-match': 'abc' } }), 400],
    ['a profile update that sets status', () => api.put(account(), { ...newProfile(), status: 'ACCOUNT_ARCHIVED' }), 400],
    ['a profile update of an unknown account', () => api.put(`${ACCOUNTS}/00000000-0000-4000-8000-000000000000`, newProfile()), 404],
    ['a method the resource does not have', () => api.request('DELETE', account()), 405],
    ['an unknown path', () => api.get('/v1/nothing-here'), 404],
    ['a bad page size', () => api.get(`${ACCOUNTS}?size=abc`), 400],
  ];

  for (const [what, send, status, message] of cases) {
    it(`answers ${status} problem+json for ${what}`, async () => {
      expectProblem(await send(), status, message);
    });
  }

  it('answers every oversized chunked body with 413 and keeps the connection usable', async () => {
    // Destroying the request mid-body used to reset the socket: ECONNRESET instead of a 413 now and then.
    for (let i = 0; i < 10; i++) {
      expectProblem(await postChunked(server.url, ACCOUNTS, 3, BODY_LIMIT), 413);
      expect((await api.get(`${ACCOUNTS}?size=1`)).status).to.equal(200);
    }
  });

  it('wrote nothing for any of those requests', async () => {
    // Give a stray write time to reach the relay and the consumer before counting.
    await new Promise((r) => setTimeout(r, 300));
    expect(await storeCounts(env)).to.deep.equal(baseline);
    const a = await api.get(account());
    expect(a.body).to.include({ status: 'ACCOUNT_ACTIVE', version: 3 });
  });

  it('still accepts good input afterwards (the checks above can fail)', async () => {
    expect((await api.post(ACCOUNTS, newProfile())).status).to.equal(201);
    const after = await storeCounts(env);
    expect(after.events).to.be.greaterThan(baseline.events);
    expect(after.accounts).to.equal(baseline.accounts + 1);
  });
});

/** POSTs `chunks` JSON-ish chunks of `size` bytes with chunked transfer encoding (no Content-Length). */
async function postChunked(baseUrl: string, path: string, chunks: number, size: number): Promise<Reply> {
  const piece = new TextEncoder().encode('x'.repeat(size));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(piece);
      else controller.close();
    },
  });
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit;
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, contentType, body: text ? JSON.parse(text) : text };
}
