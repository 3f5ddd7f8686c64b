/*
 * What one order of the saga writes, end to end: `npx tsx ops/bench/order-writes.ts [N]`.
 *
 * Starts the saga suite's deployment (one runtime, both roles, every context, a fresh bench
 * database and prefix), runs 50 warm-up orders, then N (default 200) orders, 32 in flight,
 * until every one is terminal, and prints per order: rows inserted / updated / deleted per
 * table (pg_stat_user_tables), transactions committed (pg_stat_database), statements sent by
 * this process (pg's Client.prototype.query, counted), stream entries added (XLEN of the
 * prefix's streams) and Redis commands by name (INFO commandstats: server-wide, so run it on
 * an idle server). The saga suite's hand-written baseline (suites/saga.ts, `handWrittenSaga`)
 * is written from these counts; rerun this when the saga changes.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import Redis from 'ioredis';
import { loadConfig } from '../../runtime/config';
import { startRuntime } from '../../runtime/roles';
import { JsonClient } from './http-client';
import { runConcurrent, waitUntil } from './load';
import { UNCAPPED, cleanup, freshEnv, runtimeEnv } from './env';

const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };
const SKU = 'SKU-BENCH';
const order = (accountId: string) => ({ accountId, lineItems: [{ productId: SKU, name: 'Bench item', quantity: 1, price: 9.5, tax: 0.5 }], shippingAddress: ADDRESS });

let statements = 0;
const original = Client.prototype.query;
Client.prototype.query = function (this: Client, ...args: unknown[]) {
  statements++;
  return (original as (...a: unknown[]) => unknown).apply(this, args);
} as typeof Client.prototype.query;

async function main() {
  const n = Number(process.argv[2] ?? 200);
  const env = await freshEnv('order_writes');
  const rt = await startRuntime(loadConfig(runtimeEnv(env, { ORDER_STEP_TIMEOUT_MS: '120000', ...UNCAPPED })));
  const http = new JsonClient(rt.url!, 64);
  const stats = new Client({ connectionString: env.databaseUrl });
  await stats.connect();
  const redis = new Redis(env.redisUrl);
  const db = new URL(env.databaseUrl).pathname.slice(1);
  const pending = async () =>
    Number((await stats.query(`SELECT count(*) AS n FROM orders WHERE status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`)).rows[0].n);
  const snapshot = async () => {
    await new Promise((r) => setTimeout(r, 11_000)); // idle backends flush their stats after 10 s (PG 15)
    await stats.query('SELECT pg_stat_clear_snapshot()');
    const tables = (await stats.query<{ relname: string; ins: string; upd: string; del: string; hot: string }>(
      `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_del AS del, n_tup_hot_upd AS hot FROM pg_stat_user_tables`,
    )).rows;
    const xact = Number((await stats.query(`SELECT xact_commit AS c FROM pg_stat_database WHERE datname = $1`, [db])).rows[0].c);
    const keys = await redis.keys(`${env.redisPrefix}*`);
    const streams: Record<string, number> = {};
    for (const k of keys) if ((await redis.type(k)) === 'stream') streams[k.slice(env.redisPrefix.length)] = await redis.xlen(k);
    const cmds: Record<string, number> = {};
    for (const line of (await redis.info('commandstats')).split('\n')) {
      const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (m) cmds[m[1]] = Number(m[2]);
    }
    return { tables, xact, streams, cmds, statements };
  };
  try {
    const account = JSON.parse((await http.post('/v1/accounts', { firstName: 'Bench', lastName: 'Mark', email: `bench-${randomUUID()}@example.com` })).body).accountId as string;
    await waitUntil(async () => (await rt.services.actors.load('account', account)).status === 'ACCOUNT_ACTIVE', 30_000);
    const w = await http.post('/v1/warehouses', { name: 'Bench', address: ADDRESS });
    const warehouseId = JSON.parse(w.body).warehouseId as string;
    await http.post(`/v1/warehouses/${warehouseId}/inventory`, { productId: SKU, quantity: n + 100 });
    await waitUntil(async () => Number((await stats.query(`SELECT count(*) AS n FROM inventory WHERE status = 'RESERVATION_PENDING'`)).rows[0].n) >= n + 100, 60_000, 200);
    await runConcurrent(50, 32, async () => void (await http.post('/v1/orders', order(account))));
    await waitUntil(async () => (await pending()) === 0, 120_000, 100);
    const a = await snapshot();
    await runConcurrent(n, 32, async () => {
      const r = await http.post('/v1/orders', order(account));
      if (r.status !== 201) throw new Error(`${r.status} ${r.body}`);
    });
    await waitUntil(async () => (await pending()) === 0, 300_000, 100);
    const b = await snapshot();
    const per = (x: number) => (x / n).toFixed(2);
    console.log(`${n} orders; per order:`);
    console.log(`  pg transactions committed ${per(b.xact - a.xact)} (includes the bench's own polling reads), statements from this process ${per(b.statements - a.statements)}`);
    for (const t of b.tables) {
      const t0 = a.tables.find((x) => x.relname === t.relname);
      const d = (k: 'ins' | 'upd' | 'del') => Number(t[k]) - Number(t0?.[k] ?? 0);
      if (d('ins') || d('upd') || d('del')) console.log(`  ${t.relname.padEnd(24)} ins ${per(d('ins'))}  upd ${per(d('upd'))}  del ${per(d('del'))}`);
    }
    for (const [k, v] of Object.entries(b.streams)) console.log(`  stream ${k.padEnd(24)} +${per(v - (a.streams[k] ?? 0))} entries`);
    for (const [k, v] of Object.entries(b.cmds)) {
      const d = v - (a.cmds[k] ?? 0);
      if (d) console.log(`  redis ${k.padEnd(20)} ${per(d)}`);
    }
  } finally {
    http.close();
    await rt.stop();
    await stats.end();
    redis.disconnect();
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
