/**
 * Property-based fuzzing of the whole HTTP API (fast-check), one real deployment with every
 * context and authentication on. Requests are generated for every operation of the API
 * document (paths, query strings, headers and bodies from their schemas) and then mutated the
 * way a hostile client would: wrong types, missing and unknown fields, huge and deep values,
 * NUL and lone surrogates, prototype keys, random bytes, repeated parameters, odd methods and
 * content types, with no credential, a garbage one, an operator key, or a key bound to one of
 * two accounts. For every exchange:
 *
 * - no 5xx, ever;
 * - every 4xx is problem+json (with `status` and `detail`);
 * - every response is what the API document says (status, media type, body schema);
 * - a 4xx wrote nothing: every table's rows and every stream's entries, in Postgres and Redis,
 *   as they were (the deployment is let settle after each request that succeeded in writing);
 * - a key bound to one account never gets the other account's data in a 2xx (its email, order
 *   and payment ids), unless the request itself named them.
 *
 * Fixed seed and a bounded count for CI (under a minute); `FUZZ_RUNS=5000 npx mocha
 * test/e2e/fuzz.e2e.spec.ts` for a longer run, `FUZZ_SEED=<n>` for another sequence
 * (docs/security.md, "Input, quotas and fuzzing").
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, REPO_ROOT, spawnCli, startServer, type ServerProcess } from '../support/e2e-process';
import { client, newProfile, type Client } from '../support/e2e-http';
import { ADDRESS, line, settledOrder, stockedWarehouse } from '../support/e2e-shop';
import { apiContract } from '../support/openapi-contract';
import { quietSnapshot, snapshotDiff, writeSnapshot, type WriteSnapshot } from '../support/e2e-writes';
import { createDb } from '../../runtime/store/database';
import { createApiKey } from '../../runtime/auth/api-key-store';

const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

type Json = Record<string, any>;

interface Operation {
  method: string;
  template: string;
  op: Json;
}

/** Operations left out: the event stream never ends, the demo seeds a whole shop (minutes of saga). */
const SKIPPED = new Set(['GET /v1/events/stream', 'POST /v1/demo']);

/** What the middleware ahead of the router answers, whatever the path. */
const BEFORE_ROUTING = new Set([400, 401, 403, 413, 415, 429]);

const HOSTILE_STRINGS = [
  'A\u0000B', '\u0000', '\ud800', 'x\udc00y', '\udbff\udbff', '', ' ', '\t\n', '99999999999999999999999-0', '18446744073709551616-0', '-1',
  '../../etc/passwd', "'; DROP TABLE accounts; --", '__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype',
  '%00', '%ED%A0%80', '\u202e', '🙂', '<script>alert(1)</script>', '1e309', 'NaN', 'null', '{}', '[]', 'x'.repeat(3000),
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 30, unit: 'binary' }), fc.string({ maxLength: 20 }));
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -1, -0.01, 0.000000001, 0.1 + 0.2, 10.005, 2 ** 53 + 2, 1e308, -1e308, 1e21, 9_999_999_999.99, 1_000_000.01),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  hostileNumber,
  fc.constantFrom(true, false, null, [], {}),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A deep value: `[[[…]]]` or `{"a":{"a":…}}`. */
const deep = (n: number, object: boolean) => (object ? '{"a":'.repeat(n) + '1' + '}'.repeat(n) : '['.repeat(n) + ']'.repeat(n));

/** The schema a `$ref` names, or the schema itself. */
function resolve(doc: Json, schema: Json | undefined): Json {
  let s = schema ?? {};
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) s = s.$ref.split('/').slice(1).reduce((o: Json, k: string) => o[k], doc);
  return s;
}

/**
 * Values a JSON Schema accepts, mostly (formats and patterns are followed where fast-check can;
 * what it cannot is left to the mutations). Ids come from `ids`: real ones reach deeper code.
 */
function fromSchema(doc: Json, raw: Json | undefined, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(doc, raw);
  if (depth > 6) return fc.constant(null);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (alternatives?.length) return fc.oneof(...alternatives.map((a) => fromSchema(doc, a, ids, depth + 1)));
  if (Array.isArray(s.allOf) && s.allOf.length) return fromSchema(doc, s.allOf[0], ids, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string': {
      if (s.format === 'uuid') return fc.oneof(fc.constantFrom(...ids), fc.uuid());
      if (s.format === 'email') return fc.emailAddress();
      if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      if (typeof s.pattern === 'string' && s.pattern !== '\\S') {
        try {
          return fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= (s.maxLength ?? 200));
        } catch {
          // a pattern fast-check cannot follow: plain strings
        }
      }
      return fc.oneof(fc.string({ minLength: Math.max(1, s.minLength ?? 1), maxLength: Math.min(s.maxLength ?? 30, 30) }), fc.constantFrom(...ids));
    }
    case 'integer':
      return fc.integer({ min: Math.max(s.minimum ?? -1000, -1e6), max: Math.min(s.maximum ?? 1000, 1e6) });
    case 'number':
      return fc.oneof(
        fc.integer({ min: Math.ceil(Math.max(s.minimum ?? 0, -1e6)), max: Math.floor(Math.min(s.maximum ?? 1000, 1e6)) }),
        fc.integer({ min: 1, max: 100_000 }).map((c) => c / 100),
      );
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(doc, s.items, ids, depth + 1), { minLength: Math.min(s.minItems ?? 0, 3), maxLength: Math.min(s.maxItems ?? 3, 3) });
    case 'object': {
      const props = (s.properties ?? {}) as Json;
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) shape[k] = fromSchema(doc, v as Json, ids, depth + 1);
      return fc.record(shape, { requiredKeys: (s.required ?? []).filter((k: string) => k in shape) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A body as sent: JSON text, or raw bytes. */
interface Body {
  text?: string;
  bytes?: Uint8Array;
}

/** A body from the schema, then (usually) made hostile. */
function bodyArb(doc: Json, schema: Json | undefined, ids: string[]): fc.Arbitrary<Body | undefined> {
  const valid = schema ? fromSchema(doc, schema, ids) : fc.constant(undefined);
  const asText = (v: unknown): Body | undefined => (v === undefined ? undefined : { text: JSON.stringify(v) });
  const mutateField = fc.tuple(valid, fc.nat(), hostileValue, fc.constantFrom('replace', 'delete', 'add', 'proto')).map(([v, i, bad, how]) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return asText(bad);
    const keys = Object.keys(v);
    const key = keys.length ? keys[i % keys.length] : 'x';
    const copy: Json = { ...(v as Json) };
    if (how === 'replace') copy[key] = bad;
    else if (how === 'delete') delete copy[key];
    else if (how === 'add') copy[`unknown${i % 7}`] = bad;
    else return { text: JSON.stringify(copy).replace(/^\{/, `{"${['__proto__', 'constructor', 'prototype'][i % 3]}":${JSON.stringify(bad) ?? 'null'},`) };
    return asText(copy);
  });
  const nested = fc.tuple(valid, fc.nat({ max: 3 })).map(([v, i]): Body | undefined => {
    if (typeof v !== 'object' || v === null) return asText(v);
    const line0 = (v as Json).lineItems?.[0];
    if (line0 && typeof line0 === 'object') {
      line0[['price', 'tax', 'quantity', 'productId'][i]] = [0.000000001, '1.005', 1e6 + 1, 'P'.repeat(101)][i];
    }
    return asText(v);
  });
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(asText) },
    { weight: 5, arbitrary: mutateField },
    { weight: 1, arbitrary: nested },
    { weight: 1, arbitrary: hostileValue.map(asText) },
    { weight: 1, arbitrary: fc.constantFrom<Body>({ text: deep(40, false) }, { text: deep(5000, true) }, { text: `"${'x'.repeat(70_000)}"` }, { text: '{"a":' }, { text: '' }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ bytes })) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** Percent-encodes a path segment; a lone surrogate becomes the bytes a careless client sends. */
function segment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return value.replace(/[\ud800-\udfff]/g, '%ED%A0%80').replace(/[^A-Za-z0-9%]/g, (c) => encodeURIComponent(c));
  }
}

interface Credential {
  name: 'none' | 'garbage' | 'operator' | 'accountA' | 'accountB';
  header?: string;
}

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Body;
  credential: Credential['name'];
  operation: string;
}

describe('fuzzing the HTTP API (fast-check, every operation of the API document)', function () {
  this.timeout(180_000);
  let server: ServerProcess;
  let api: Client;
  let env: Record<string, string>;
  const doc = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8')) as Json;
  const credentials: Credential[] = [{ name: 'none' }, { name: 'garbage', header: 'Bearer trb_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }];
  /** What account B owns and account A must never be shown (and the other way round). */
  const secrets: Record<'accountA' | 'accountB', string[]> = { accountA: [], accountB: [] };
  const ids: string[] = [];
  const counts = { requests: 0, byStatus: {} as Record<string, number>, writeChecks: 0, crossAccountChecks: 0, byCredential: {} as Record<string, number>, settles: 0 };

  before(async function () {
    this.timeout(180_000);
    env = { ...(await freshDeployment('e2e_fuzz')) } as unknown as Record<string, string>;
    // The operator's key, made before the API starts, so that it starts closed.
    const made = spawnCli({ ...env, LOG_LEVEL: 'warn' }, ['keys', 'create', '--name', 'fuzz-operator', '--scopes', 'read,write,ops']);
    const exit = await made.exited;
    expect(exit.code, made.stderr()).to.equal(0);
    const operatorKey = made.stdout().trim();
    server = await startServer(env, {
      CONTEXTS: 'all',
      ROLE: 'all',
      TIMER_POLL_MS: '100',
      ORDER_STEP_TIMEOUT_MS: '2000',
      PAYMENT_GATEWAY_TIMEOUT_MS: '300',
      PAYMENT_CHARGE_ATTEMPTS: '1',
      AUTH_KEY_CACHE_MS: '1000',
    });
    api = client(server.url);
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const post = (p: string, body: unknown) => api.post(p, body, { headers: as(operatorKey) });
    const get = (p: string) => api.get(p, { headers: as(operatorKey) });

    // Two accounts, each with a settled order (and so a payment and a reservation), stock for more.
    const warehouseId = await stockedWarehouse({ ...api, post, get } as Client, { 'SKU-F': 20 });
    const accounts: Record<'accountA' | 'accountB', { id: string; email: string }> = {} as never;
    for (const name of ['accountA', 'accountB'] as const) {
      const profile = newProfile(name === 'accountA' ? 'Alice' : 'Bob');
      const created = await post('/v1/accounts', profile);
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const id = created.body.accountId as string;
      await eventually(async () => (await get(`/v1/accounts/${id}`)).body.status === 'ACCOUNT_ACTIVE', 20_000);
      const placed = await post(`/v1/accounts/${id}/commands/postOrder`, { lineItems: [line('SKU-F', 1)], shippingAddress: ADDRESS });
      expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
      const settled = await settledOrder({ ...api, get } as Client, placed.body.orderId);
      accounts[name] = { id, email: profile.email };
      secrets[name].push(id, profile.email, settled.orderId, ...(settled.paymentId ? [settled.paymentId] : []), ...(settled.reservationIds ?? []));
      ids.push(id, settled.orderId, ...(settled.paymentId ? [settled.paymentId] : []), ...(settled.reservationIds ?? []));
      const events = (await get(`/v1/orders/${settled.orderId}/events`)).body._embedded.orderEventList as { eventId: string }[];
      ids.push(events[0].eventId);
    }
    ids.push(warehouseId);
    const inventory = (await get(`/v1/inventory?warehouseId=${warehouseId}&size=2`)).body._embedded.inventoryList as { inventoryId?: string }[];
    for (const unit of inventory) if (unit.inventoryId) ids.push(unit.inventoryId);

    // Keys bound to each account, made in the deployment's database as `tributary keys create --account` does.
    const db = createDb(env.DATABASE_URL, 1);
    try {
      for (const name of ['accountA', 'accountB'] as const) {
        const { key } = await createApiKey(db, { name: `fuzz-${name}`, scopes: ['read', 'write'], accountId: accounts[name].id });
        credentials.push({ name, header: `Bearer ${key}` });
      }
    } finally {
      await db.destroy();
    }
    credentials.push({ name: 'operator', header: `Bearer ${operatorKey}` });
  });

  after(async () => {
    // The counts of the run, for docs/security.md.
    process.stdout.write(`      fuzz: seed ${SEED}, ${counts.requests} requests, by status ${JSON.stringify(counts.byStatus)}, by credential ${JSON.stringify(counts.byCredential)}, ${counts.writeChecks} 4xx checked for writes, ${counts.crossAccountChecks} bound-key 2xx checked for the other account's data, ${counts.settles} settles\n`);
    await killStartedProcesses();
  });

  function operations(): Operation[] {
    const list: Operation[] = [];
    for (const [template, ops] of Object.entries(doc.paths as Json)) {
      for (const [method, op] of Object.entries(ops as Json)) {
        if (!['get', 'post', 'put', 'delete'].includes(method)) continue;
        if (SKIPPED.has(`${method.toUpperCase()} ${template}`)) continue;
        list.push({ method: method.toUpperCase(), template, op: op as Json });
      }
    }
    return list;
  }

  function requestArb(): fc.Arbitrary<Request> {
    const perOperation = operations().map((o) => {
      const params = (o.op.parameters ?? []) as Json[];
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');
      const headerParams = params.filter((p) => p.in === 'header');
      const idValue = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids) }, { weight: 2, arbitrary: fc.uuid() }, { weight: 2, arbitrary: hostileString });
      const pathArb = fc.tuple(...pathParams.map(() => idValue)).map((values) => {
        let p = o.template;
        pathParams.forEach((param, i) => (p = p.replace(`{${param.name}}`, segment(String(values[i])))));
        return p;
      });
      const queryArb = fc
        .tuple(
          fc.tuple(...queryParams.map((q) => fc.option(fc.oneof(fromSchema(doc, q.schema, ids).map(String), hostileString), { nil: undefined }))),
          fc.constantFrom('none', 'repeat', 'unknown', 'encoded-nul'),
        )
        .map(([values, extra]) => {
          const parts: string[] = [];
          queryParams.forEach((q, i) => {
            if (values[i] !== undefined) parts.push(`${q.name}=${segment(values[i]!)}`);
          });
          if (extra === 'repeat' && parts.length) parts.push(parts[0]);
          if (extra === 'unknown') parts.push('zzz=1');
          if (extra === 'encoded-nul') parts.push(`${queryParams[0]?.name ?? 'q'}=%00`);
          return parts.length ? `?${parts.join('&')}` : '';
        });
      const headersArb = fc
        .record({
          ifMatch: fc.option(fc.oneof(fc.nat({ max: 12 }).map((n) => `"${n}"`), fc.constantFrom('abc', '"1', '*', 'W/"x"', '"99999999999999999999"', '"-1"')), { nil: undefined }),
          contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/merge-patch+json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''),
          correlation: fc.option(fc.string({ maxLength: 200, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), { nil: undefined }),
        })
        .map(({ ifMatch, contentType, correlation }) => {
          const h: Record<string, string> = {};
          if (ifMatch !== undefined && (headerParams.some((p) => p.name === 'If-Match') || ifMatch === 'abc')) h['if-match'] = ifMatch;
          if (contentType) h['content-type'] = contentType;
          if (correlation !== undefined) h['x-correlation-id'] = correlation;
          return h;
        });
      const schema = o.op.requestBody?.content?.['application/json']?.schema as Json | undefined;
      const method = fc.oneof({ weight: 9, arbitrary: fc.constant(o.method) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS') });
      return fc
        .record({ method, path: pathArb, query: queryArb, headers: headersArb, body: bodyArb(doc, schema, ids), credential: fc.nat() })
        .map(({ method: m, path: p, query, headers, body, credential }) => ({
          method: m,
          path: p + query,
          headers,
          body: m === 'GET' || m === 'OPTIONS' ? undefined : body,
          credential: credentials[credential % credentials.length].name,
          operation: `${o.method} ${o.template}`,
        }));
    });
    return fc.oneof(...perOperation);
  }

  async function send(r: Request): Promise<{ status: number; contentType: string; text: string; body: unknown }> {
    const credential = credentials.find((c) => c.name === r.credential)!;
    const headers: Record<string, string> = { accept: 'application/hal+json, application/problem+json, */*', ...r.headers };
    if (credential.header) headers.authorization = credential.header;
    const body = r.body?.bytes ?? r.body?.text;
    if (body === undefined) delete headers['content-type'];
    const res = await fetch(`${server.url}${r.path}`, { method: r.method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (/json/.test(contentType) && text) parsed = JSON.parse(text);
    return { status: res.status, contentType, text, body: parsed };
  }

  it(`holds for ${RUNS} generated requests (seed ${SEED}): no 5xx, problem+json 4xx as documented, nothing written on a 4xx, no other account's data`, async () => {
    const contract = apiContract();
    let baseline: WriteSnapshot = await quietSnapshot(env as never, 60_000, 300);
    let dirty = false;
    await fc.assert(
      fc.asyncProperty(requestArb(), async (r) => {
        if (dirty) {
          baseline = await quietSnapshot(env as never, 60_000, 300);
          counts.settles++;
          dirty = false;
        }
        const reply = await send(r);
        counts.requests++;
        counts.byStatus[reply.status] = (counts.byStatus[reply.status] ?? 0) + 1;
        counts.byCredential[r.credential] = (counts.byCredential[r.credential] ?? 0) + 1;
        const where = `${r.method} ${r.path.slice(0, 200)} as ${r.credential} → ${reply.status} ${reply.text.slice(0, 300)}`;
        // The one 5xx that is no bug: the console's files are being (re)built on this machine.
        const consoleBuilding = reply.status === 503 && (reply.body as Json)?.type === '/problems/console-not-built';
        if (!consoleBuilding) expect(reply.status, `no 5xx: ${where}`).to.be.below(500);
        if (reply.status >= 400) {
          expect(reply.contentType, `problem+json: ${where}`).to.match(/^application\/problem\+json/);
          expect(reply.body, where).to.include({ status: reply.status });
          expect((reply.body as Json).detail, where).to.be.a('string');
        }
        let problem: string | undefined;
        try {
          problem = contract.responseProblems(r.method, r.path, reply.status, reply.contentType, reply.body);
        } catch (err) {
          // A path that is not even percent-encoded UTF-8 names no operation of the document.
          if (!(err instanceof URIError)) throw err;
          problem = `${r.method} ${r.path} is not in the API document (malformed percent-encoding)`;
        }
        // A path no operation has (an empty id, a hostile segment) can still be refused by the checks
        // that run before routing (NUL, repeated parameter, media type, size, credential, quota).
        const beforeRouting = problem?.includes('is not in the API document') && BEFORE_ROUTING.has(reply.status);
        // OPTIONS is answered by the router with the Allow header (200, no body): HTTP's, not the API's.
        const options = r.method === 'OPTIONS' && reply.status < 300;
        if (!beforeRouting && !options) expect(problem, `as documented: ${where}`).to.equal(undefined);
        if (reply.status >= 400) {
          const after = await writeSnapshot(env as never);
          counts.writeChecks++;
          expect(snapshotDiff(baseline, after), `nothing written: ${where}`).to.deep.equal([]);
        } else if (r.method !== 'GET' && r.method !== 'OPTIONS') {
          dirty = true;
        }
        if (reply.status < 300 && (r.credential === 'accountA' || r.credential === 'accountB')) {
          const other = r.credential === 'accountA' ? secrets.accountB : secrets.accountA;
          const asked = `${decodeSafe(r.path)} ${r.body?.text ?? ''}`;
          const leaked = other.filter((s) => reply.text.includes(s) && !asked.includes(s));
          counts.crossAccountChecks++;
          expect(leaked, `no other account's data: ${where}`).to.deep.equal([]);
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  });
});

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
