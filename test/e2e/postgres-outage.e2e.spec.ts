/**
 * Postgres goes away under a running process and comes back. The process (ROLE=all) reaches
 * Postgres through a TCP proxy that the test cuts (the machine's shared Postgres is never
 * touched) while accounts are registered at a steady rate, twice:
 *
 * - a restart: every connection is reset and new ones are refused until it is back;
 * - a partition: connections stay open but nothing answers, and new ones hang.
 *
 * While it is away every request is answered 503 problem+json with Retry-After, never a 500
 * and never later than HTTP_REQUEST_TIMEOUT_MS (during a restart at once), `/readyz` says
 * 503 and `/healthz` 200, and the process stays up. Once it is back, requests succeed,
 * `/readyz` says 200, and every registration that was answered 201 is in the database and
 * ends ACCOUNT_ACTIVE with nothing dead-lettered: the worker's loops waited for Postgres and
 * resumed, and nothing acknowledged was lost.
 */
import { expect } from 'chai';
import { eventually, type TestEnv } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { newProfile } from '../support/e2e-http';
import { query } from '../support/e2e-store';
import { TcpProxy, type CutMode } from '../support/tcp-proxy';

const REQUEST_TIMEOUT_MS = 2_000;
/** Load before the first cut and after each restore. */
const STEADY_MS = 2_500;
/**
 * `/readyz` reuses a probe's answer for this long after it came (`PROBE_CACHE_MS` in
 * http/health.ts), and a probe takes at most as long (`PROBE_TIMEOUT_MS`): it may still say
 * "up" this long after a cut, and "down" twice this long after a restore.
 */
const PROBE_CACHE_MS = 1_000;
/** Margin for a busy 2-core machine on top of the time a request is allowed. */
const SLACK_MS = 1_000;
/** A refused or reset connection is known at once: no need to wait for any timeout. */
const FAIL_FAST_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request as the client saw it. */
interface Observed {
  path: string;
  startedAt: number;
  endedAt: number;
  ms: number;
  /** 0: no HTTP answer at all (reset, or none within the client's own deadline). */
  status: number;
  contentType: string;
  retryAfter: string | null;
  body: any;
  error?: string;
}

async function observe(baseUrl: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Observed> {
  const startedAt = Date.now();
  const seen = (o: Omit<Observed, 'path' | 'startedAt' | 'endedAt' | 'ms'>): Observed => ({ path, startedAt, endedAt: Date.now(), ms: Date.now() - startedAt, ...o });
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      // Well past the request timeout: a request that takes this long counts as hung.
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + 5_000),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    return seen({ status: res.status, contentType, retryAfter: res.headers.get('retry-after'), body: /json/.test(contentType) && text ? JSON.parse(text) : text });
  } catch (err) {
    return seen({ status: 0, contentType: '', retryAfter: null, body: undefined, error: (err as Error).message });
  }
}

const brief = (o: Observed) => JSON.stringify({ path: o.path, status: o.status, ms: o.ms, body: o.body, error: o.error });

interface Outage {
  mode: CutMode;
  cutAt: number;
  restoredAt: number;
}

describe('Postgres outage (ROLE=all, through a TCP proxy that is cut and restored)', function () {
  this.timeout(30_000);
  let env: TestEnv;
  let proxy: TcpProxy;
  let server: ServerProcess;
  const outages: Outage[] = [];
  const registrations: Observed[] = [];
  const reads: Observed[] = [];
  const probes: Observed[] = [];

  before(async function () {
    this.timeout(90_000);
    // The database is created and migrated through the direct URL's server; the process then
    // reaches the same database only through the proxy.
    env = await freshDeployment('e2e_pg_outage');
    const direct = new URL(env.DATABASE_URL);
    proxy = await TcpProxy.start({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(env.DATABASE_URL);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    server = await startServer({ ...env, DATABASE_URL: viaProxy.toString() }, { ROLE: 'all', HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
    // One registration first, so that the steady phase does not start with compilation work.
    registrations.push(await observe(server.url, 'POST', '/v1/accounts', newProfile('Warm')));

    // A steady stream of registrations, reads of an account, and health probes.
    let loading = true;
    const registering = async () => {
      while (loading) {
        registrations.push(await observe(server.url, 'POST', '/v1/accounts', newProfile('Outage')));
        await sleep(30);
      }
    };
    const reading = async () => {
      while (loading) {
        reads.push(await observe(server.url, 'GET', `/v1/accounts/${registrations[0].body.accountId}`));
        await sleep(100);
      }
    };
    const probing = async () => {
      while (loading) {
        probes.push(...(await Promise.all([observe(server.url, 'GET', '/readyz'), observe(server.url, 'GET', '/healthz')])));
        await sleep(100);
      }
    };
    const load = [registering(), registering(), reading(), probing()];
    const outage = async (mode: CutMode, ms: number) => {
      const o: Outage = { mode, cutAt: Date.now(), restoredAt: 0 };
      proxy.cut(mode);
      // A burst of concurrent requests on top of the steady load, as clients keep coming.
      await sleep(200);
      const burst = Array.from({ length: 5 }, () => [
        observe(server.url, 'POST', '/v1/accounts', newProfile('Burst')).then((r) => registrations.push(r)),
        observe(server.url, 'GET', `/v1/accounts/${registrations[0].body.accountId}`).then((r) => reads.push(r)),
      ]).flat();
      await sleep(ms - 200);
      await Promise.all(burst);
      o.restoredAt = Date.now();
      proxy.restore();
      outages.push(o);
    };

    await sleep(STEADY_MS);
    await outage('reset', 3_000); // Postgres restarts
    await sleep(STEADY_MS);
    await outage('blackhole', 2_500); // the network to Postgres drops everything
    await sleep(STEADY_MS);
    loading = false;
    await Promise.all(load);
  });

  after(async () => {
    await killStartedProcesses();
    await proxy?.close();
  });

  const restart = () => outages.find((o) => o.mode === 'reset')!;
  const partition = () => outages.find((o) => o.mode === 'blackhole')!;
  /** Requests that started (after `graceMs`) and ended within the outage. */
  const within = (list: Observed[], o: Outage, graceMs = 100) => list.filter((r) => r.startedAt >= o.cutAt + graceMs && r.endedAt <= o.restoredAt);
  const outside = (r: Observed) => outages.every((o) => r.endedAt < o.cutAt || r.startedAt > o.restoredAt + 300);

  it('registered accounts before, between and after the outages (the load was real)', () => {
    expect(registrations.filter((r) => r.endedAt < restart().cutAt && r.status === 201).length).to.be.greaterThan(3);
    expect(registrations.filter((r) => r.startedAt > restart().restoredAt && r.endedAt < partition().cutAt && r.status === 201).length).to.be.greaterThan(3);
    expect(registrations.filter((r) => r.startedAt > partition().restoredAt && r.status === 201).length).to.be.greaterThan(3);
  });

  it('during a restart: 503 problem+json "Database unavailable" with Retry-After, at once', () => {
    const during = [...within(registrations, restart()), ...within(reads, restart())];
    expect(during.length, 'requests during the restart').to.be.at.least(20);
    for (const r of during) {
      expect(r.status, brief(r)).to.equal(503);
      expect(r.contentType, brief(r)).to.match(/^application\/problem\+json/);
      expect(r.body, brief(r)).to.include({ type: '/problems/database-unavailable', status: 503, message: 'Database unavailable; retry later' });
      expect(r.retryAfter, brief(r)).to.match(/^[1-9]\d*$/);
      expect(r.ms, brief(r)).to.be.below(FAIL_FAST_MS);
    }
  });

  it('during a partition: 503 problem+json with Retry-After, within the request timeout', () => {
    const during = [...within(registrations, partition()), ...within(reads, partition())];
    expect(during.length, 'requests during the partition').to.be.at.least(10);
    for (const r of during) {
      expect(r.status, brief(r)).to.equal(503);
      expect(r.contentType, brief(r)).to.match(/^application\/problem\+json/);
      expect(r.retryAfter, brief(r)).to.match(/^[1-9]\d*$/);
      expect(r.ms, brief(r)).to.be.below(REQUEST_TIMEOUT_MS + SLACK_MS);
    }
  });

  it('never answers 500 and never hangs, not even requests caught by a cut or a restore', () => {
    for (const r of [...registrations, ...reads, ...probes]) {
      expect(r.status, brief(r)).to.be.oneOf([200, 201, 503]);
      expect(r.ms, brief(r)).to.be.below(REQUEST_TIMEOUT_MS + SLACK_MS);
    }
  });

  it('reports not ready (503, postgres down) but alive (200) while Postgres is away, and stays up', () => {
    for (const o of outages) {
      // Answered before the restore: one sent just before it can reach the process just after.
      const ready = probes.filter((r) => r.path === '/readyz' && r.startedAt >= o.cutAt + PROBE_CACHE_MS + 100 && r.endedAt <= o.restoredAt);
      const alive = probes.filter((r) => r.path === '/healthz' && r.startedAt >= o.cutAt && r.startedAt < o.restoredAt);
      expect(ready.length, o.mode).to.be.greaterThan(0);
      for (const r of ready) {
        expect(r.status, brief(r)).to.equal(503);
        expect(r.body.checks.postgres, brief(r)).to.match(/^down: /);
        expect(r.body.checks.redis, brief(r)).to.equal('up');
      }
      expect(alive.length, o.mode).to.be.greaterThan(2);
      for (const r of alive) expect(r.status, brief(r)).to.equal(200);
    }
    expect(server.hasExited(), server.stderr()).to.equal(false);
    const pids = new Set(probes.filter((r) => r.path === '/healthz').map((r) => r.body.pid));
    expect([...pids]).to.deep.equal([server.pid]);
  });

  it('serves again once Postgres is back: registrations 201 and /readyz 200', () => {
    // The pool opens new connections on demand. After a partition, a connection that the
    // restore resets can still fail a request that raced it (300 ms of grace in `outside`).
    for (const r of [...registrations, ...reads].filter(outside)) expect(r.status, brief(r)).to.be.oneOf([200, 201]);
    for (const o of outages) {
      const back = probes.filter((r) => r.path === '/readyz' && r.startedAt > o.restoredAt + 2 * PROBE_CACHE_MS + 100 && r.startedAt < o.restoredAt + STEADY_MS);
      expect(back.length, o.mode).to.be.greaterThan(0);
      for (const r of back) expect(r.status, brief(r)).to.equal(200);
    }
  });

  it('loses nothing acknowledged: every registration answered 201 ends ACCOUNT_ACTIVE, none dead-lettered', async function () {
    this.timeout(25_000);
    const accepted = registrations.filter((r) => r.status === 201).map((r) => r.body.accountId as string);
    const rows = await eventually(async () => {
      const found = await query<{ account_id: string; status: string }>(env.DATABASE_URL, 'SELECT account_id, status FROM accounts WHERE account_id = ANY($1::uuid[])', [accepted]);
      return found.length === accepted.length && found.every((r) => r.status === 'ACCOUNT_ACTIVE') && found;
    }, 20_000, 200).catch(async (err: Error) => {
      const byStatus = await query(env.DATABASE_URL, 'SELECT status, count(*) AS n FROM accounts WHERE account_id = ANY($1::uuid[]) GROUP BY status', [accepted]);
      const dead = await observe(server.url, 'GET', '/v1/ops/dead-letters?limit=3');
      throw new Error(`${err.message}; ${accepted.length} accepted, by status: ${JSON.stringify(byStatus)}; dead letters: ${JSON.stringify(dead.body)}`);
    });
    expect(rows).to.have.length(accepted.length);
    // Nothing was parked on the way: the worker waited for Postgres instead of giving up.
    const dead = await observe(server.url, 'GET', '/v1/ops/dead-letters');
    expect(dead.body.count, JSON.stringify(dead.body)).to.equal(0);
    expect(server.hasExited(), server.stderr()).to.equal(false);
  });
});
