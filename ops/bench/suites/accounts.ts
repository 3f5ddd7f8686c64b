import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import { loadConfig } from '../../../runtime/config';
import { startRuntime, type Runtime } from '../../../runtime/roles';
import { Topology } from '../../../runtime/messaging/topology';
import { ACCOUNT, ACCOUNTS_TOPIC, AccountEventType, AccountStatus } from '../../../contexts/accounts/contract';
import { JsonClient } from '../http-client';
import { percentile, pooled, rate, runConcurrent, waitUntil, type LoadResult } from '../load';
import { UNCAPPED, runtimeEnv } from '../env';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * Accounts: what one command costs, and how fast accounts go from POST to ACCOUNT_ACTIVE.
 *
 * Phases, each on emptied tables:
 *   1. raw pg transactions of the rows one register command writes, alternated with
 *   2. the same command run in-process (actors.execute), on a web-role runtime (no worker
 *      competing for the two cores), so the store's cost is measured alone;
 *   3. POST /v1/accounts on that web-role runtime: the same plus HTTP;
 *   4. POST /v1/accounts on a runtime with both roles, until every account is ACCOUNT_ACTIVE
 *      (register over HTTP, then confirm and activate by the worker: 3 commands, 2 hops).
 * A peer, alternated with 1 and 2: the same register through Emmett's PostgreSQL event store
 * (@event-driven-io/emmett-postgresql, a dev dependency of the bench only): an AccountCreated
 * event appended to a new stream per command (expected: the stream does not exist), on its own
 * fresh database on the same server, a pg Pool of the same size, the same concurrency.
 */

/** The peer's version, from its package.json (printed with its figure). */
const EMMETT_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(path.join(process.cwd(), 'node_modules/@event-driven-io/emmett-postgresql/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '(version unknown)';
  }
})();

/** How long the end-to-end phase waits for the last account to become active. */
const ACTIVATION_TIMEOUT_MS = 60_000;

const profile = (tag: string, i: number) => ({ firstName: 'Ada', lastName: 'Lovelace', email: `bench-${tag}-${i}@example.com` });

const RAW_SQL = {
  event: `INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata) VALUES ($1, $2, $3, 1, $4, $5, $6)`,
  outbox: `INSERT INTO outbox (topic, partition, message) VALUES ($1, $2, $3)`,
  account: `INSERT INTO accounts (account_id, first_name, last_name, email, status, version) VALUES ($1, $2, $3, $4, $5, 1)`,
};

/** One raw transaction writing what `register` writes: an event, its outbox row, the read-model row. */
async function rawRegister(pool: Pool, topology: Topology, tag: string, i: number): Promise<void> {
  const id = randomUUID();
  const eventId = randomUUID();
  const data = profile(tag, i);
  const envelope = {
    id: eventId,
    type: AccountEventType.ACCOUNT_CREATED,
    stream: ACCOUNTS_TOPIC,
    actor: { type: ACCOUNT, id },
    version: 1,
    correlationId: eventId,
    causationId: eventId,
    occurredAt: new Date().toISOString(),
    data,
  };
  const metadata = { actorId: id, correlationId: eventId, causationId: eventId };
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(RAW_SQL.event, [eventId, `${ACCOUNT}-${id}`, ACCOUNT, AccountEventType.ACCOUNT_CREATED, JSON.stringify(data), JSON.stringify(metadata)]);
    await client.query(RAW_SQL.outbox, [ACCOUNTS_TOPIC, topology.partitionOf(id), JSON.stringify(envelope)]);
    await client.query(RAW_SQL.account, [id, data.firstName, data.lastName, data.email, AccountStatus.ACCOUNT_CREATED]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

function postAccount(client: JsonClient, tag: string) {
  return async (i: number) => {
    const res = await client.post('/v1/accounts', profile(tag, i));
    if (res.status !== 201) throw new Error(`POST /v1/accounts answered ${res.status}: ${res.body.slice(0, 200)}`);
  };
}

const note = (r: LoadResult, what: string) => {
  const capped = r.ok + r.failed < r.count ? ` (stopped at the time cap: ${r.ok + r.failed} of ${r.count} run)` : '';
  const failed = r.failed ? `, ${r.failed} FAILED (first: ${r.firstError})` : '';
  return `${what}; ${r.ok} ok${failed} in ${(r.elapsedMs / 1000).toFixed(2)} s${capped}`;
};

const cpuPerOp = (r: LoadResult) => (r.cpuMs * 1000) / r.ok;

function latencyFigures(name: string, r: LoadResult): Figure[] {
  return [
    { name: `${name} p50`, value: percentile(r.latencies, 50), unit: 'ms' },
    { name: `${name} p99`, value: percentile(r.latencies, 99), unit: 'ms' },
  ];
}

export const accountsSuite: Suite = {
  name: 'accounts',
  description: 'register commands over HTTP and in-process vs raw pg transactions and vs Emmett\'s PostgreSQL event store; accounts activated end to end',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const n = ctx.knob('ACCOUNTS', 2000);
    const concurrency = ctx.knob('CONCURRENCY', 32);
    const rounds = ctx.knob('ROUNDS', 2);
    // Each measurement stops at N operations or after this long, whichever comes first.
    const capMs = ctx.knob('MEASURE_MS', 15_000);
    const measure = (op: (i: number) => Promise<void>) => runConcurrent(n, concurrency, op, capMs);
    const env = await ctx.freshEnv('accounts');
    const baseEnv = runtimeEnv(env, { CONTEXTS: 'accounts', ...UNCAPPED });
    const webConfig = loadConfig({ ...baseEnv, ROLE: 'web' });
    const poolMax = webConfig.db.poolMax;
    ctx.progress(`accounts: N=${n} per measurement, concurrency ${concurrency}, ${rounds} rounds, DB_POOL_MAX=${poolMax}, PARTITIONS=${webConfig.partitions}`);

    const figures: Figure[] = [];
    const reader = new Client({ connectionString: env.databaseUrl, application_name: 'tributary-bench-reader' });
    let web: Runtime | undefined;
    let all: Runtime | undefined;
    let emmettPool: Pool | undefined;
    let emmettStore: PostgresEventStore | undefined;
    const pool = new Pool({ connectionString: env.databaseUrl, max: poolMax, application_name: 'tributary-bench-raw' });
    try {
      web = await startRuntime(webConfig);
      reader.on('error', () => undefined); // the run's end drops the database under it
      await reader.connect();
      const reset = () => reader.query('TRUNCATE events, outbox, inbox, snapshots, accounts');
      const topology = new Topology(env.redisPrefix, webConfig.partitions);
      const http = new JsonClient(web.url!, concurrency);
      const actors = web.services.actors;
      const inProcess = (tag: string) => async (i: number) => {
        await actors.execute(ACCOUNT, randomUUID(), 'register', profile(tag, i), { expectedVersion: 0 });
      };
      const raw = (tag: string) => (i: number) => rawRegister(pool, topology, tag, i);
      const emmettEnv = await ctx.freshEnv('accounts_emmett');
      emmettPool = new Pool({ connectionString: emmettEnv.databaseUrl, max: poolMax, application_name: 'tributary-bench-emmett' });
      emmettPool.on('error', () => undefined); // the run's end drops the database under it
      const emmett: PostgresEventStore = getPostgreSQLEventStore(emmettEnv.databaseUrl, { connectionOptions: { pooled: true, pool: emmettPool } });
      emmettStore = emmett;
      const peer = (tag: string) => async (i: number) => {
        await emmett.appendToStream(`account-${randomUUID()}`, [{ type: 'AccountCreated', data: profile(tag, i) }], { expectedStreamVersion: STREAM_DOES_NOT_EXIST });
      };

      // Warm-up: JIT, pool connections, plan caches. Not measured.
      const warm = Math.min(200, n);
      await runConcurrent(warm, concurrency, raw('warm-raw'));
      await runConcurrent(warm, concurrency, inProcess('warm-cmd'));
      await runConcurrent(warm, concurrency, postAccount(http, 'warm-http'));
      await runConcurrent(warm, concurrency, peer('warm-emmett'));
      await reset();

      // 1 + 2, alternated so that drift on a shared machine hits both alike.
      const rawRuns: LoadResult[] = [];
      const cmdRuns: LoadResult[] = [];
      const peerRuns: LoadResult[] = [];
      for (let r = 0; r < rounds; r++) {
        rawRuns.push(await measure(raw(`raw${r}`)));
        await reset();
        cmdRuns.push(await measure(inProcess(`cmd${r}`)));
        await reset();
        peerRuns.push(await measure(peer(`emmett${r}`)));
        ctx.progress(`  round ${r + 1}: raw ${rate(rawRuns[r]).toFixed(0)} tx/s, in-process ${rate(cmdRuns[r]).toFixed(0)} cmd/s, Emmett ${rate(peerRuns[r]).toFixed(0)} appends/s`);
      }
      const peerAll = pooled(peerRuns);
      const rawAll = pooled(rawRuns);
      const cmdAll = pooled(cmdRuns);
      const rawRate = rate(rawAll);
      const cost = (cmdPerS: number) => ({ value: rawRate / cmdPerS, label: 'raw ÷ cmd: cost' });
      figures.push({
        name: 'raw pg tx (event+outbox+account rows)',
        value: rawRate,
        unit: 'tx/s',
        note: note(rawAll, `BEGIN; 3 INSERTs; COMMIT on a pg Pool of ${poolMax}`),
      });
      figures.push({
        name: 'register in-process (web role)',
        value: rate(cmdAll),
        unit: 'cmd/s',
        baseline: rawRate,
        ratio: cost(rate(cmdAll)),
        goal: { op: '<=', value: 1.5 },
        note: note(cmdAll, 'actors.execute(account, register), no HTTP, no worker running'),
      });
      figures.push({
        name: 'register in-process vs peer: Emmett appendToStream',
        value: rate(cmdAll),
        unit: 'cmd/s',
        baseline: rate(peerAll),
        ratio: { value: rate(peerAll) / rate(cmdAll), label: 'Emmett ÷ ours: our cost' },
        note: note(
          peerAll,
          `baseline: @event-driven-io/emmett-postgresql ${EMMETT_VERSION}, one AccountCreated appended to a new stream (STREAM_DOES_NOT_EXIST), pg Pool of ${poolMax}, ${concurrency} in flight, own database on the same server, rounds alternated with ours; ` +
            'the ratio is Emmett appends/s ÷ our in-process commands/s (above 1: ours costs more). Emmett writes the event and its stream row, no outbox row and no read-model row; ours writes all three. Emmett',
        ),
      });
      figures.push({ name: '  node CPU per Emmett append', value: cpuPerOp(peerAll), unit: 'µs', baseline: cpuPerOp(cmdAll), ratio: { value: cpuPerOp(cmdAll) / cpuPerOp(peerAll), label: 'ours ÷ Emmett' } });
      figures.push(...latencyFigures('  Emmett append latency', peerAll));
      figures.push(...latencyFigures('  in-process latency', cmdAll));
      figures.push(...latencyFigures('  raw pg tx latency', rawAll));
      figures.push({
        name: '  node CPU per in-process command',
        value: cpuPerOp(cmdAll),
        unit: 'µs',
        baseline: cpuPerOp(rawAll),
        ratio: { value: cpuPerOp(cmdAll) / cpuPerOp(rawAll), label: 'cmd ÷ raw' },
        note: 'CPU of this process (user + system) per operation; the baseline is the raw pg client\'s',
      });

      // 3: HTTP on the web role alone.
      const httpRuns: LoadResult[] = [];
      for (let r = 0; r < rounds; r++) {
        httpRuns.push(await measure(postAccount(http, `http${r}`)));
        await reset();
        ctx.progress(`  round ${r + 1}: HTTP (web role) ${rate(httpRuns[r]).toFixed(0)} cmd/s`);
      }
      const httpAll = pooled(httpRuns);
      figures.push({
        name: 'POST /v1/accounts (web role)',
        value: rate(httpAll),
        unit: 'cmd/s',
        baseline: rawRate,
        ratio: cost(rate(httpAll)),
        goal: { op: '<=', value: 1.3 },
        note: note(httpAll, `keep-alive node:http, ${concurrency} in flight; the route also reads the row back to answer`),
      });
      figures.push(...latencyFigures('  POST latency (web role)', httpAll));
      figures.push({
        name: '  node CPU per POST (client + server)',
        value: cpuPerOp(httpAll),
        unit: 'µs',
        baseline: cpuPerOp(rawAll),
        ratio: { value: cpuPerOp(httpAll) / cpuPerOp(rawAll), label: 'cmd ÷ raw' },
      });
      http.close();
      await web.stop();
      web = undefined;

      // 4: both roles in one process, until every account is active.
      const allConfig = loadConfig({ ...baseEnv, ROLE: 'all' });
      all = await startRuntime(allConfig);
      const client = new JsonClient(all.url!, concurrency);
      const active = async () =>
        Number((await reader.query<{ n: string }>(`SELECT count(*) AS n FROM accounts WHERE status = $1`, [AccountStatus.ACCOUNT_ACTIVE])).rows[0].n);
      await runConcurrent(warm, concurrency, postAccount(client, 'warm-all'));
      await waitUntil(async () => (await active()) >= warm, 30_000, 25);
      await reset();

      const started = performance.now();
      const posted = await measure(postAccount(client, 'e2e'));
      let lastCount = 0;
      const done = await waitUntil(async () => (lastCount = await active()) >= posted.ok, ACTIVATION_TIMEOUT_MS, 20);
      const e2eMs = performance.now() - started;
      client.close();
      ctx.progress(`  e2e: ${rate(posted).toFixed(0)} POST/s, ${lastCount}/${posted.ok} active after ${(e2eMs / 1000).toFixed(2)} s`);
      figures.push({
        name: 'POST /v1/accounts (both roles)',
        value: rate(posted),
        unit: 'cmd/s',
        baseline: rawRate,
        ratio: cost(rate(posted)),
        goal: { op: '<=', value: 1.5 },
        note: note(posted, 'the worker confirms and activates the accounts meanwhile, on the same 2 cores'),
      });
      figures.push(...latencyFigures('  POST latency (both roles)', posted));
      figures.push({
        name: 'accounts activated end to end',
        value: (lastCount * 1000) / e2eMs,
        unit: 'accounts/s',
        note:
          `from the first POST until ${lastCount}/${posted.ok} accounts are ACCOUNT_ACTIVE in the read model` +
          `${done ? '' : ` (TIMED OUT ${ACTIVATION_TIMEOUT_MS / 1000} s after the last POST)`}; each is 3 commands and 2 relay→consumer hops; ` +
          `last active ${((e2eMs - posted.elapsedMs) / 1000).toFixed(2)} s after the last POST answered`,
      });
      await all.stop();
      all = undefined;
      return figures;
    } finally {
      await web?.stop().catch(() => undefined);
      await all?.stop().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await emmettStore?.close().catch(() => undefined);
      await emmettPool?.end().catch(() => undefined);
      await reader.end().catch(() => undefined);
    }
  },
};
