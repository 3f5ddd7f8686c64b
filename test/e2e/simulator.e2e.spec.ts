/**
 * The load simulator (`npm run simulate`, ops/simulator) against real deployments, driven as
 * a real child process: its `--help`; a chaos run at high speed in both layouts whose JSON
 * summary must equal what Postgres holds; a worker killed with kill -9 mid-run and restarted
 * (every order still ends as its amount says); and Ctrl-C (SIGINT) handling, once (wait for
 * the orders in flight) and twice (abandon them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { freshDeployment, killStartedProcesses, REPO_ROOT, startServer, type ServerProcess } from '../support/e2e-process';
import { expectInvariants } from '../support/invariants';

/**
 * Fast saga settings. A no-answer charge fails after two 1 s gateway timeouts, so those
 * orders end in seconds; 3 s × 8 steps of patience outlast a charge job held by a killed
 * worker (BullMQ lock 10 s + stalled check 5 s), as in test/support/e2e-cluster.ts.
 */
const SETTINGS = {
  CONTEXTS: 'all',
  TIMER_POLL_MS: '100',
  ORDER_STEP_TIMEOUT_MS: '3000',
  ORDER_STEP_MAX_ATTEMPTS: '8',
  PAYMENT_GATEWAY_TIMEOUT_MS: '1000',
  PAYMENT_CHARGE_ATTEMPTS: '2',
  PAYMENT_CHARGE_BACKOFF_MS: '100',
};

interface SimRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

const simulators = new Set<ChildProcess>();

/** Spawns the simulator the way `npm run simulate` does (tsx on ops/simulator/index.ts), tracked by pid. */
function simulate(args: string[], entry = ['ops/simulator/index.ts']): SimRun {
  const child = spawn(process.execPath, ['--import', 'tsx', ...entry, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  simulators.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      simulators.delete(child);
      resolve(code);
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

function killSimulators(): void {
  for (const child of simulators) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  simulators.clear();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summaryFile = () => path.join(mkdtempSync(path.join(tmpdir(), 'tributary-sim-')), 'summary.json');

async function query<T = any>(databaseUrl: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/**
 * What Postgres holds, in the summary's terms: orders by kind (told apart by what the
 * simulator put in them: an SKU-OOS product, or cents .01/.02) and terminal status, accounts
 * and inventory units.
 */
async function heldByPostgres(databaseUrl: string) {
  const rows = await query<{ kind: string; status: string; n: string }>(
    databaseUrl,
    `SELECT CASE WHEN line_items::text LIKE '%SKU-OOS-%' THEN 'out-of-stock'
                 WHEN total_cents % 100 = 1 THEN 'declined'
                 WHEN total_cents % 100 = 2 THEN 'no-answer'
                 ELSE 'normal' END AS kind, status, count(*) AS n
       FROM orders GROUP BY 1, 2`,
  );
  const orders: Record<string, { placed: number; succeeded: number; failed: number }> = {};
  for (const k of ['normal', 'declined', 'no-answer', 'out-of-stock']) orders[k] = { placed: 0, succeeded: 0, failed: 0 };
  for (const r of rows) {
    const o = orders[r.kind];
    o.placed += Number(r.n);
    if (r.status === 'ORDER_SUCCEEDED') o.succeeded += Number(r.n);
    if (r.status === 'ORDER_FAILED') o.failed += Number(r.n);
  }
  const [{ n: accounts }] = await query(databaseUrl, 'SELECT count(*) AS n FROM accounts');
  const [{ n: units }] = await query(databaseUrl, 'SELECT count(*) AS n FROM inventory');
  return { orders, accounts: Number(accounts), units: Number(units) };
}

function expectSummaryEqualsPostgres(summary: any, held: Awaited<ReturnType<typeof heldByPostgres>>): void {
  const fromSummary = Object.fromEntries(Object.entries(summary.orders as Record<string, any>).map(([k, c]) => [k, { placed: c.placed, succeeded: c.succeeded, failed: c.failed }]));
  expect(fromSummary).to.deep.equal(held.orders);
  expect(summary.accountsCreated).to.equal(held.accounts);
  expect(summary.unitsAdded).to.equal(held.units);
}

/** The run must have exercised every kind of order and of chaos, and every expectation held. */
function expectAllHeld(summary: any, code: number | null, output: string): void {
  expect(code, output).to.equal(0);
  expect(summary.ok).to.equal(true);
  expect(summary.ordersTotal.unexpected).to.equal(0);
  expect(summary.unexpectedServerErrors).to.equal(0);
  expect(summary.checks.failed).to.equal(0);
  expect(summary.ordersInFlight).to.equal(0);
  expect(summary.ordersTotal.asExpected).to.equal(summary.ordersTotal.placed);
  expect(summary.orders.normal.succeeded, 'ordinary orders succeeded').to.be.greaterThan(0);
  const kinds = summary.requests.map((r: { kind: string }) => r.kind);
  expect(kinds).to.include.members(['conflict: suspend', 'conflict: archive', 'malformed: empty order']);
}

const CHAOS_RUN = ['--speed', '20', '--chaos', '--chaos-share', '0.4', '--order-timeout', '60', '--progress', 'plain', '--progress-every', '2'];

describe('load simulator', function () {
  this.timeout(120_000);

  after(async () => {
    killSimulators();
    await killStartedProcesses();
  });

  it('--help lists every rate, the mix and chaos, with their environment variables', async () => {
    const run = simulate(['--help']);
    expect(await run.exited).to.equal(0);
    for (const text of ['--url', 'http://127.0.0.1:3000', '--accounts-per-minute', '--units-per-second', '--orders-per-second', '--max-lines', '--products', '--duration', '--speed', '--chaos', '--chaos-share', '--json-summary', 'SIM_ORDERS_PER_SECOND']) {
      expect(run.stdout()).to.include(text);
    }
    // The CLI's `tributary simulate` runs the same program.
    const viaCli = simulate(['--help'], ['runtime/cli.ts', 'simulate']);
    expect(await viaCli.exited).to.equal(0);
    expect(viaCli.stdout()).to.equal(run.stdout());
    const bad = simulate(['--speed', 'fast']);
    expect(await bad.exited).to.equal(2);
    expect(bad.stderr()).to.match(/--speed: expected a number/);
  });

  describe('one process (ROLE=all)', () => {
    let server: ServerProcess;
    let databaseUrl: string;

    before(async () => {
      const env = await freshDeployment('sim_all');
      databaseUrl = env.DATABASE_URL;
      server = await startServer(env, { ...SETTINGS, ROLE: 'all' });
    });

    after(async () => {
      await server?.stop();
    });

    it('runs with chaos at speed 20, every order ends as expected, and its summary equals what Postgres holds', async () => {
      const file = summaryFile();
      const run = simulate(['--url', server.url, '--duration', '8', '--json-summary', file, ...CHAOS_RUN]);
      const code = await run.exited;
      const summary = JSON.parse(readFileSync(file, 'utf8'));
      if (process.env.SIM_TEST_VERBOSE) console.log(run.stdout(), run.stderr());
      expectAllHeld(summary, code, run.stdout() + run.stderr());
      for (const k of ['declined', 'no-answer', 'out-of-stock']) expect(summary.orders[k].placed, k).to.be.greaterThan(0);
      expect(run.stdout()).to.match(/RESULT: every expectation held/).and.match(/latency POST→terminal/);
      expect(run.stderr(), 'plain progress lines').to.match(/orders\/s .* in flight .* p99/);
      expectSummaryEqualsPostgres(summary, await heldByPostgres(databaseUrl));
      await expectInvariants(databaseUrl, 10_000);
    });

    it('stops sending on SIGINT, waits for the orders in flight, prints the summary and exits 0', async () => {
      const before = await heldByPostgres(databaseUrl);
      const file = summaryFile();
      const run = simulate(['--url', server.url, '--json-summary', file, ...CHAOS_RUN]);
      // Until some orders are placed (an order every 0.25 s once an account is active and stock arrives).
      const deadline = Date.now() + 20_000;
      while (!/orders\/s [1-9]/.test(run.stderr()) && Date.now() < deadline) await sleep(100);
      run.child.kill('SIGINT');
      const code = await run.exited;
      const summary = JSON.parse(readFileSync(file, 'utf8'));
      if (process.env.SIM_TEST_VERBOSE) console.log(run.stdout(), run.stderr());
      expect(run.stderr()).to.include('stopping: no new requests');
      expectAllHeld(summary, code, run.stdout() + run.stderr());
      expect(run.stdout()).to.include('Simulation summary');
      // Nothing was sent after it stopped: Postgres holds exactly what the summary says it placed.
      const after = await heldByPostgres(databaseUrl);
      const placed = Object.values(after.orders).reduce((n, o) => n + o.placed, 0) - Object.values(before.orders).reduce((n, o) => n + o.placed, 0);
      expect(placed).to.equal(summary.ordersTotal.placed);
      expect(after.accounts - before.accounts).to.equal(summary.accountsCreated);
    });

    it('abandons the orders in flight at once on a second SIGINT, reports them, and exits 1', async () => {
      const file = summaryFile();
      // Only orders the gateway never answers (each lives ~2 s here): some are always in flight.
      const run = simulate(['--url', server.url, '--json-summary', file, '--speed', '20', '--chaos', '--chaos-share', '1', '--chaos-kinds', 'no-answer', '--progress', 'plain', '--progress-every', '1']);
      const deadline = Date.now() + 20_000;
      while (!/in flight [1-9]/.test(run.stderr()) && Date.now() < deadline) await sleep(100);
      run.child.kill('SIGINT');
      await sleep(300);
      const begin = Date.now();
      run.child.kill('SIGINT');
      const code = await run.exited;
      expect(Date.now() - begin, 'exits without waiting for the orders').to.be.below(5_000);
      const summary = JSON.parse(readFileSync(file, 'utf8'));
      expect(run.stderr()).to.include('abandoning the orders in flight');
      expect(summary.abandoned).to.be.greaterThan(0);
      expect(summary.ok).to.equal(false);
      expect(code).to.equal(1);
      expect(run.stdout()).to.match(/orders abandoned in flight \(second Ctrl-C\): [1-9]/);
    });
  });

  describe('web and worker processes, the worker killed mid-run', () => {
    let web: ServerProcess;
    const workers: ServerProcess[] = [];

    after(async () => {
      await Promise.all([web, ...workers].filter(Boolean).map((p) => p.stop()));
    });

    it('ends every order as expected after kill -9 of the worker and its restart; the summary equals Postgres', async () => {
      const env = await freshDeployment('sim_split');
      [web] = await Promise.all([startServer(env, { ...SETTINGS, ROLE: 'web' }), startServer(env, { ...SETTINGS, ROLE: 'worker' }).then((w) => workers.push(w))]);
      const file = summaryFile();
      const run = simulate(['--url', web.url, '--duration', '8', '--json-summary', file, ...CHAOS_RUN]);
      while (!/orders\/s [1-9]/.test(run.stderr()) && !(await Promise.race([run.exited.then(() => true), sleep(100).then(() => false)]))) {
        /* until orders flow */
      }
      await sleep(1_000);
      process.kill(workers[0].pid, 'SIGKILL');
      await workers[0].exited;
      workers.push(await startServer(env, { ...SETTINGS, ROLE: 'worker' }));
      const code = await run.exited;
      const summary = JSON.parse(readFileSync(file, 'utf8'));
      if (process.env.SIM_TEST_VERBOSE) console.log(run.stdout(), run.stderr());
      expectAllHeld(summary, code, run.stdout() + run.stderr());
      expectSummaryEqualsPostgres(summary, await heldByPostgres(env.DATABASE_URL));
      await expectInvariants(env.DATABASE_URL, 10_000);
    });
  });
});
