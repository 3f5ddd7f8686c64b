/**
 * Changing PARTITIONS with real processes. The deployment records its PARTITIONS in Postgres;
 * a process with another value refuses to start (one line naming both) until
 * `tributary repartition --to N` has moved the deployment. Registrations left unprocessed on
 * the streams (relayed by a worker that does not run the accounts context) are processed
 * exactly once by a worker with the new count, 2 -> 4 and 4 -> 2, and no entry is left on a
 * stream no partition reads. The repartition refuses while a worker runs; the partitions
 * report (HTTP) flags a non-empty stream no partition reads, and a worker warns at start-up.
 */
import { expect } from 'chai';
import { createRedis, scanAll, type Redis } from '../../runtime/messaging/redis';
import { eventually, type TestEnv } from '../support/runtime';
import { freshDeployment, killStartedProcesses, runCliToExit, spawnCli, startServer, waitForLog, type ServerProcess } from '../support/e2e-process';
import { client, newProfile } from '../support/e2e-http';
import { query } from '../support/e2e-store';
import { Topology } from '../../runtime/messaging/topology';

/** A worker that relays the outbox but does not read the accounts topic (the probe context reads only its own). */
const RELAY_ONLY = { ROLE: 'worker', CONTEXTS_DIR: 'test/fixtures/contexts', CONTEXTS: 'probe' };

describe('repartition (e2e)', function () {
  this.timeout(180_000);
  let env: TestEnv;
  let redis: Redis;
  const all: string[] = [];

  before(async () => {
    env = await freshDeployment('e2e_repartition');
    redis = createRedis(env.REDIS_URL);
  });
  after(async () => {
    redis.disconnect();
    await killStartedProcesses();
  });

  const stopped = async (p: ServerProcess) => expect((await p.stop()).code, p.stderr()).to.equal(0);

  /** Registers `n` accounts through a web process while only a relay-only worker runs: their activations stay on the streams. */
  async function strand(partitions: number, n: number): Promise<string[]> {
    const settings = { PARTITIONS: String(partitions) };
    const [web, relay] = await Promise.all([startServer(env, { ...settings, ROLE: 'web' }), startServer(env, { ...settings, ...RELAY_ONLY })]);
    const api = client(web.url);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await api.post('/v1/accounts', newProfile('Stranded'));
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      ids.push(r.body.accountId as string);
    }
    await eventually(async () => Number((await query<{ n: string }>(env.DATABASE_URL, 'SELECT count(*) AS n FROM outbox'))[0].n) === 0, 20_000);
    await Promise.all([stopped(web), stopped(relay)]);
    const statuses = await query<{ status: string }>(env.DATABASE_URL, 'SELECT status FROM accounts WHERE account_id = ANY($1)', [ids]);
    expect(statuses.map((s) => s.status)).to.deep.equal(ids.map(() => 'ACCOUNT_CREATED'));
    all.push(...ids);
    return ids;
  }

  /** Starts ROLE=all with `partitions`, waits until every account is active, checks each has its three events, stops. */
  async function processedOnce(partitions: number): Promise<void> {
    const p = await startServer(env, { ROLE: 'all', PARTITIONS: String(partitions) });
    await eventually(async () => {
      const rows = await query<{ status: string }>(env.DATABASE_URL, 'SELECT status FROM accounts WHERE account_id = ANY($1)', [all]);
      return rows.length === all.length && rows.every((r) => r.status === 'ACCOUNT_ACTIVE');
    }, 30_000);
    const counts = await query<{ n: string }>(env.DATABASE_URL, 'SELECT count(*) AS n FROM events GROUP BY stream_id');
    expect(counts.map((c) => Number(c.n)), 'each account: created, activation requested, active; nothing twice').to.deep.equal(all.map(() => 3));
    const report = (await client(p.url).get('/v1/ops/partitions')).body as { partitions: number; unreadStreams: unknown[] };
    expect(report).to.include({ partitions });
    expect(report.unreadStreams).to.deep.equal([]);
    await stopped(p);
  }

  /** Every stream key of the accounts topic (and leftover temporary ones). */
  const accountStreams = async () => (await scanAll(redis, `${env.REDIS_PREFIX}{p*}:accounts*`)).sort();

  it('records PARTITIONS on first start; another value refuses to start, naming both', async () => {
    const first = await startServer(env, { ROLE: 'all', PARTITIONS: '2' });
    await stopped(first);
    const refused = await runCliToExit({ ...env, ROLE: 'web', PARTITIONS: '4', CONTEXTS: 'accounts', HOST: '127.0.0.1', PORT: '0' });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.equal(
      "tributary: PARTITIONS=4 differs from this deployment's 2 (recorded in Postgres): set PARTITIONS=2, or stop every worker and run tributary repartition --to 4\n",
    );
  });

  it('refuses to repartition while a worker runs', async () => {
    const worker = await startServer(env, { ...RELAY_ONLY, PARTITIONS: '2' });
    const refused = spawnCli({ ...env, CONTEXTS: 'accounts', PARTITIONS: '2' }, ['repartition', '--to', '4']);
    const exit = await refused.exited;
    expect(exit.code).to.equal(1);
    expect(refused.stderr()).to.match(/^tributary: cannot repartition while 1 worker\(s\) run \([^)]*\): stop every worker/);
    expect(refused.stderr().trim().split('\n')).to.have.length(1);
    await stopped(worker);
    const [{ value }] = await query<{ value: string }>(env.DATABASE_URL, "SELECT value FROM deployment_settings WHERE name = 'partitions'");
    expect(value).to.equal('2');
  });

  it('2 -> 4: stranded registrations are activated exactly once by a worker with PARTITIONS=4', async () => {
    await strand(2, 6);
    const cli = spawnCli({ ...env, CONTEXTS: 'accounts', PARTITIONS: '2' }, ['repartition', '--to', '4']);
    const exit = await cli.exited;
    expect(exit.code, cli.stderr()).to.equal(0);
    console.log(cli.stdout().replace(/^/gm, '      '));
    expect(cli.stdout()).to.match(/^repartitioned: 2 -> 4 partitions\n/);
    expect(cli.stdout()).to.match(/ {2}accounts: read p0,p1; moved 6 unfinished entries \(p0:\d+ p1:\d+ p2:\d+ p3:\d+\); dropped \d+ finished/);
    expect(await accountStreams()).to.deep.equal([0, 1, 2, 3].map((p) => new Topology(env.REDIS_PREFIX, 4).streamKey('accounts', p)).sort());
    await processedOnce(4);
  });

  it('4 -> 2: the same, and nothing is left on p2 or p3', async () => {
    await strand(4, 5);
    const cli = spawnCli({ ...env, CONTEXTS: 'accounts', PARTITIONS: '4' }, ['repartition', '--to', '2']);
    expect((await cli.exited).code, cli.stderr()).to.equal(0);
    expect(cli.stdout()).to.match(/accounts: read p0,p1,p2,p3; moved 5 unfinished entries/);
    expect(await accountStreams()).to.deep.equal([0, 1].map((p) => new Topology(env.REDIS_PREFIX, 2).streamKey('accounts', p)).sort());
    await processedOnce(2);
  });

  it('flags a non-empty stream no partition reads: in GET /v1/ops/partitions, tributary partitions and the worker start-up log', async () => {
    const stray = new Topology(env.REDIS_PREFIX, 4).streamKey('accounts', 3);
    await redis.xadd(stray, '*', 'm', JSON.stringify({ id: 'x', type: 'NOTHING', actor: { type: 'Account', id: 'x' } }));
    try {
      const p = await startServer(env, { ROLE: 'all', PARTITIONS: '2', LOG_LEVEL: 'info' });
      await waitForLog(p, 'stream holds entries no partition reads: run tributary repartition --to <PARTITIONS> to move them');
      const report = (await client(p.url).get('/v1/ops/partitions')).body as { unreadStreams: unknown[] };
      expect(report.unreadStreams).to.deep.equal([{ key: stray, length: 1 }]);
      await stopped(p);
      const cli = spawnCli({ ...env, CONTEXTS: 'accounts', PARTITIONS: '2' }, ['partitions']);
      expect((await cli.exited).code, cli.stderr()).to.equal(0);
      expect(cli.stdout()).to.include(`UNREAD ${stray}: 1 entries no partition reads`);
    } finally {
      await redis.del(stray);
    }
  });
});
