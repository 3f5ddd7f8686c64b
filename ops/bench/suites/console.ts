import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../../runtime/config';
import { startRuntime } from '../../../runtime/roles';
import { buildConsole } from '../../../runtime/console/build';
import { launchBrowser } from '../../../test/support/browser';
import { openSse } from '../../../test/support/sse-client';
import { JsonClient } from '../http-client';
import { percentile, runConcurrent, waitUntil } from '../load';
import { UNCAPPED, runtimeEnv } from '../env';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * The browser console (dist/console) in headless Chromium against a runtime in this process
 * (both roles, every context, the default EVENT_STREAM_POLL_MS):
 *   1. time to first render of the home view: a new browser context each round (no cache,
 *      no cookies), from navigation to the counts per aggregate type on screen;
 *   2. command → event on the page, by the page's own button: click "suspend" / "activate"
 *      on an account's page until its new event is in the page's event log;
 *   3. command → event on the page, from elsewhere: the same commands sent over HTTP by this
 *      process, until the page shows the event (the live stream is the only way it learns);
 *   4. the live stream under the saga at full speed: one client reads /v1/events/stream while
 *      BENCH_CONSOLE_SAGA_ORDERS orders go through the saga with 32 in flight (as the saga
 *      suite's throughput run); every event committed meanwhile must arrive once, in position
 *      order, with no gap: the suite fails otherwise.
 * Times are taken in this process around Playwright calls (a few ms of its own included).
 */
const ms = (v: number) => Math.round(v * 10) / 10;

function summary(name: string, values: number[], note: string): Figure[] {
  return [
    { name: `${name} p50`, value: ms(percentile(values, 50)), unit: 'ms', note },
    { name: `${name} p95`, value: ms(percentile(values, 95)), unit: 'ms' },
  ];
}

export const consoleSuite: Suite = {
  name: 'console',
  description: 'browser console: time to first render of the home view; command → its event on the page (button, and live from elsewhere)',
  async run(ctx: SuiteContext): Promise<Figure[]> {
    const rounds = ctx.knob('CONSOLE_ROUNDS', 20);
    const build = await buildConsole();
    ctx.progress(`console: built in ${build.ms} ms`);
    const env = await ctx.freshEnv('console');
    const rt = await startRuntime(loadConfig(runtimeEnv(env, UNCAPPED)));
    const browser = await launchBrowser();
    const http = new JsonClient(rt.url!, 4);
    try {
      const created = await http.post('/v1/accounts', { firstName: 'Bench', lastName: 'Console', email: `bench-${randomUUID()}@example.com` });
      const accountId = JSON.parse(created.body).accountId as string;
      await waitUntil(async () => (await rt.services.actors.load('account', accountId)).status === 'ACCOUNT_ACTIVE', 30_000);

      // 1. first render of the home view, cold
      ctx.progress(`console: ${rounds} cold loads of the home view`);
      const firstRender: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        const page = await context.newPage();
        const started = performance.now();
        await page.goto(`${rt.url}/console#/`);
        await page.getByTestId('stat-account').waitFor();
        firstRender.push(performance.now() - started);
        await context.close();
      }

      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(`${rt.url}/console#/accounts/${accountId}`);
      await page.getByTestId('live-state').and(page.locator('[data-state="live"]')).waitFor();
      const log = page.getByTestId('event-log').getByTestId('event');
      const next = ['suspend', 'activate'];

      // 2. the page's own buttons
      ctx.progress(`console: ${rounds} commands by button`);
      const byButton: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const before = await log.count();
        const started = performance.now();
        await page.getByTestId(`command-${next[i % 2]}`).click();
        await log.nth(before).waitFor();
        byButton.push(performance.now() - started);
        await page.getByTestId(`command-${next[(i + 1) % 2]}`).waitFor();
      }

      // 3. commands from elsewhere: the live stream brings them
      ctx.progress(`console: ${rounds} commands over HTTP, seen live`);
      const live: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const before = await log.count();
        const started = performance.now();
        // Part 2 sent `rounds` commands: carry on from where it left the account.
        const command = next[(rounds + i) % 2];
        const r = await http.post(`/v1/accounts/${accountId}/commands/${command}`, {});
        if (r.status !== 200) throw new Error(`${command}: ${r.status} ${r.body}`);
        await log.nth(before).waitFor();
        live.push(performance.now() - started);
      }

      // 4. the live stream keeps up with the saga
      const sagaOrders = ctx.knob('CONSOLE_SAGA_ORDERS', 1000);
      ctx.progress(`console: ${sagaOrders} orders through the saga, read live by one stream client`);
      const stream = await streamUnderSaga(rt, http, accountId, sagaOrders);

      return [
        ...stream,
        ...summary('home view: first render (cold)', firstRender, `${rounds} loads, each in a new browser context: navigation → counts per aggregate type shown (page, bundle, /v1, /v1/machines, /v1/stats)`),
        ...summary('command by button → event on the page', byButton, `${rounds} clicks on suspend / activate: click → the event in the page's event log (the page re-reads the log after the command's answer)`),
        ...summary('command over HTTP → event on the page', live, `${rounds} commands sent by the bench: POST → the event in an open page, through the live stream (EVENT_STREAM_POLL_MS ${rt.services.config.env.EVENT_STREAM_POLL_MS ?? 200})`),
      ];
    } finally {
      await browser.close();
      await rt.stop();
    }
  },
};

const SKU = 'SKU-CONSOLE-BENCH';
const ADDRESS = { street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' };

async function maxPosition(rt: Awaited<ReturnType<typeof startRuntime>>): Promise<number> {
  const r = await rt.services.db.raw<{ rows: { p: string | null }[] }>('SELECT max(position) AS p FROM events');
  return Number(r.rows[0].p ?? 0);
}

/**
 * Orders through the saga at full speed while one client reads the whole event stream from
 * the position before the first of them: throughput of the saga and of the stream, how long
 * the stream needed after the last order to deliver everything, and the check that every
 * committed event arrived exactly once and in order.
 */
async function streamUnderSaga(rt: Awaited<ReturnType<typeof startRuntime>>, http: JsonClient, accountId: string, orders: number): Promise<Figure[]> {
  const w = await http.post('/v1/warehouses', { name: 'Console bench', address: ADDRESS });
  const warehouseId = JSON.parse(w.body).warehouseId as string;
  for (let left = orders; left > 0; left -= 1000) {
    const r = await http.post(`/v1/warehouses/${warehouseId}/inventory`, { productId: SKU, quantity: Math.min(1000, left) });
    if (r.status !== 201) throw new Error(`stocking failed: ${r.status} ${r.body}`);
  }
  const from = await maxPosition(rt);
  const stream = await openSse(rt.url!, '/v1/events/stream', { 'last-event-id': String(from) });
  try {
    const started = performance.now();
    const placed = await runConcurrent(orders, 32, async () => {
      const r = await http.post('/v1/orders', { accountId, lineItems: [{ productId: SKU, name: 'Bench item', quantity: 1, price: 9.5, tax: 0.5 }], shippingAddress: ADDRESS });
      if (r.status !== 201) throw new Error(`POST /v1/orders: ${r.status} ${r.body}`);
    }, 300_000);
    if (placed.failed) throw new Error(`${placed.failed} orders failed to post: ${placed.firstError}`);
    const settled = async () => {
      const r = await rt.services.db.raw<{ rows: { n: number }[] }>(`SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('ORDER_SUCCEEDED', 'ORDER_FAILED')`);
      return r.rows[0].n === 0;
    };
    if (!(await waitUntil(settled, 300_000, 50))) throw new Error('the orders did not settle within 5 minutes');
    const sagaMs = performance.now() - started;
    const last = await maxPosition(rt);
    const lastSeen = () => Number(stream.messages[stream.messages.length - 1]?.id ?? 0);
    const drainStart = performance.now();
    if (!(await waitUntil(() => lastSeen() >= last, 60_000, 5))) throw new Error(`the stream stopped at position ${lastSeen()} of ${last}`);
    const drainMs = performance.now() - drainStart;

    const received = stream.messages.filter((m) => m.event === 'event').map((m) => Number(m.id));
    const committed = (await rt.services.db.raw<{ rows: { position: string }[] }>('SELECT position FROM events WHERE position > ? AND position <= ? ORDER BY position', [from, last])).rows.map((r) => Number(r.position));
    const seen = new Set<number>();
    let duplicates = 0;
    let outOfOrder = 0;
    received.forEach((p, i) => {
      if (seen.has(p)) duplicates++;
      seen.add(p);
      if (i > 0 && p <= received[i - 1]) outOfOrder++;
    });
    const missing = committed.filter((p) => !seen.has(p)).length;
    if (duplicates || outOfOrder || missing) {
      throw new Error(`the event stream under the saga: ${missing} events missing, ${duplicates} duplicated, ${outOfOrder} out of order (of ${committed.length})`);
    }
    const orderRate = (orders * 1000) / sagaMs;
    return [
      { name: 'saga under a stream client: orders completed', value: Math.round(orderRate), unit: 'orders/s', note: `${orders} orders, 32 in flight, both roles in one process, while one client reads /v1/events/stream` },
      { name: 'stream: events delivered', value: Math.round((committed.length * 1000) / (sagaMs + drainMs)), unit: 'events/s', note: `${committed.length} events (${(committed.length / orders).toFixed(1)} per order), every one once and in order: 0 missing, 0 duplicated` },
      { name: 'stream: behind when the last order settled', value: Math.round(drainMs), unit: 'ms', note: 'time from the last order settling to the stream having delivered its last event' },
    ];
  } finally {
    stream.close();
  }
}

