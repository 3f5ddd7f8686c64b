/**
 * SIGTERM stops a process cleanly: exit 0 within the deadline, requests in flight finish,
 * and every accepted registration still completes (ACCOUNT_ACTIVE) once a new process runs
 * on the same database and prefix: what the outbox held is relayed then or later, never lost.
 */
import { expect } from 'chai';
import { eventually, type TestEnv } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, waitForLog, type ServerProcess } from '../support/e2e-process';
import { client, newProfile } from '../support/e2e-http';
import { query } from '../support/e2e-store';

/** Log lines at error level or above (pino writes JSON lines to stdout). */
function errorLogs(p: ServerProcess): string[] {
  return p
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{') && (JSON.parse(line) as { level: number }).level >= 50);
}

describe('graceful stop (ROLE=all)', function () {
  this.timeout(60_000);
  let idle: ServerProcess;
  let busy: ServerProcess;
  let justReady: ServerProcess;
  let justReadyExit: Awaited<ReturnType<ServerProcess['stop']>>;
  let busyEnv: TestEnv;

  before(async function () {
    this.timeout(60_000);
    const [idleEnv, env, justReadyEnv] = await Promise.all(['e2e_stop_idle', 'e2e_stop_busy', 'e2e_stop_ready'].map(freshDeployment));
    busyEnv = env;
    // LOG_LEVEL=info for the "tributary started" line: start-up is complete, signal handlers are in.
    const info = { ROLE: 'all', LOG_LEVEL: 'info' };
    [idle, busy, justReady] = await Promise.all([
      startServer(idleEnv, info).then(async (p) => (await waitForLog(p, 'tributary started'), p)),
      startServer(busyEnv, info).then(async (p) => (await waitForLog(p, 'tributary started'), p)),
      // Stopped the moment /readyz first says 200, as an orchestrator may do.
      startServer(justReadyEnv, { ROLE: 'all' }, { pollMs: 5 }).then(async (p) => {
        justReadyExit = await p.stop();
        return p;
      }),
    ]);
  });

  after(killStartedProcesses);

  it('exits 0 when SIGTERM arrives as soon as /readyz answers 200', async () => {
    expect(justReadyExit, `${justReady.stderr()}${justReady.stdout()}`).to.deep.include({ code: 0, signal: null });
  });

  it('exits 0 quickly when idle', async () => {
    const exit = await idle.stop();
    expect(exit, idle.stderr()).to.deep.include({ code: 0, signal: null });
    // Well inside SHUTDOWN_TIMEOUT_MS (5 s): nothing waited for the deadline.
    expect(exit.ms, idle.stdout()).to.be.below(4_000);
    expect(errorLogs(idle)).to.deep.equal([]);
  });

  it('loses no accepted registration when stopped under load', async () => {
    const api = client(busy.url);
    const attempts = Array.from({ length: 20 }, () =>
      api.post('/v1/accounts', newProfile('Load')).then(
        (r) => ({ status: r.status, id: r.body?.accountId as string | undefined }),
        (err: Error) => ({ status: 0, id: undefined, error: err.message }),
      ),
    );
    // Stop as soon as the first registration is accepted: the others are in flight.
    await Promise.race(attempts);
    const exit = await busy.stop();
    const results = await Promise.all(attempts);
    expect(exit, busy.stderr()).to.deep.include({ code: 0, signal: null });
    expect(errorLogs(busy)).to.deep.equal([]);

    const accepted = results.filter((r) => r.status === 201).map((r) => r.id!);
    expect(accepted.length, JSON.stringify(results)).to.be.greaterThan(0);
    // Whatever was not accepted was refused at the door, never half-done (no 5xx).
    for (const r of results) expect([0, 201], JSON.stringify(r)).to.include(r.status);

    const restarted = await startServer(busyEnv, { ROLE: 'all' });
    const rows = await eventually(async () => {
      const accounts = await query<{ account_id: string; status: string }>(busyEnv.DATABASE_URL, 'SELECT account_id, status FROM accounts');
      const [{ n }] = await query<{ n: string }>(busyEnv.DATABASE_URL, 'SELECT count(*) AS n FROM outbox');
      return accounts.every((a) => a.status === 'ACCOUNT_ACTIVE') && Number(n) === 0 && accounts;
    }, 20_000);
    const active = new Set(rows.map((r) => r.account_id));
    for (const id of accepted) expect(active.has(id), `accepted account ${id} is active`).to.equal(true);
    // Each active account has exactly its three events: nothing applied twice.
    const counts = await query<{ n: string }>(busyEnv.DATABASE_URL, `SELECT count(*) AS n FROM events GROUP BY stream_id`);
    expect(counts.map((c) => Number(c.n))).to.deep.equal(rows.map(() => 3));

    const exit2 = await restarted.stop();
    expect(exit2.code).to.equal(0);
  });
});
