/**
 * The browser console end to end: real `tributary start` processes, real Postgres and Redis,
 * and the built console driven in headless Chromium. Each step goes through the page (buttons,
 * forms) and is checked against the API or Postgres; screenshots of each view go to
 * .scratch/screenshots/.
 *
 * One deployment with every context (the saga's fast settings) for the business views, and
 * one with the probe context (test/fixtures/contexts/probe) for a dead letter to re-drive.
 */
import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, type Client } from '../support/e2e-http';
import { stockedWarehouse } from '../support/e2e-shop';
import { eventually } from '../support/runtime';
import { ensureConsoleBuilt, launchBrowser, openConsole, screenshot } from '../support/browser';
import { CONSOLE_DIST } from '../../runtime/console/build';
import { mountConsole } from '../../runtime/console/serve';
import { errorHandler } from '../../runtime/http/problem';
import type { RuntimeServices } from '../../runtime/context';
import { Topology } from '../../runtime/messaging/topology';
import { PROBE_GROUP, PROBE_TOPIC, probeEnvelope } from '../fixtures/contexts/probe/contract';

const SAGA_SETTINGS = {
  CONTEXTS: 'all',
  ROLE: 'all',
  TIMER_POLL_MS: '100',
  ORDER_STEP_TIMEOUT_MS: '20000',
  PAYMENT_CHARGE_BACKOFF_MS: '100',
};

const PROBE_SETTINGS = {
  CONTEXTS_DIR: 'test/fixtures/contexts',
  CONTEXTS: 'probe',
  ROLE: 'all',
  PARTITIONS: '2',
  CONSUMER_MAX_ATTEMPTS: '2',
  CONSUMER_RETRY_BASE_MS: '50',
};

const LIVE_MS = 20_000;

async function query<R = Record<string, unknown>>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as R[];
  } finally {
    await c.end();
  }
}

/** The text of a test id, once it matches. */
async function waitForText(page: Page, testid: string, expected: string | RegExp, timeout = LIVE_MS): Promise<void> {
  await page.getByTestId(testid).first().filter({ hasText: expected }).waitFor({ timeout });
}

/** A marker on `window` that only a reload would remove: proves an update came live. */
const markWindow = (page: Page) => page.evaluate(() => ((globalThis as unknown as { consoleTest: number }).consoleTest = 1));
const stillMarked = (page: Page) => page.evaluate(() => (globalThis as unknown as { consoleTest?: number }).consoleTest === 1);

describe('browser console', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let api: Client;
  let databaseUrl: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let accountId: string;
  let successOrderId: string;

  before(async () => {
    const [env] = await Promise.all([freshDeployment('console'), ensureConsoleBuilt()]);
    databaseUrl = env.DATABASE_URL;
    [server, browser] = await Promise.all([startServer(env, SAGA_SETTINGS), launchBrowser()]);
    api = client(server.url);
    ({ page, errors } = await openConsole(browser, server.url));
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await killStartedProcesses();
  });

  afterEach(function () {
    // A page that threw is a failure even when what the test looked at came out right.
    if (this.currentTest?.state === 'passed') expect(errors.filter((e) => !/Failed to load resource|net::ERR/.test(e)), 'errors in the page').to.deep.equal([]);
  });

  it('serves the built page and its bundles with their content types and cache headers, under 250 KB gzipped', async () => {
    const html = await fetch(`${server.url}/console`);
    expect(html.status).to.equal(200);
    expect(html.headers.get('content-type')).to.match(/^text\/html/);
    expect(html.headers.get('cache-control')).to.equal('no-cache');
    const body = await html.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(body)![1];
    const style = /href="(\/console\/styles\/[^"]+\.css)"/.exec(body)![1];
    for (const [href, type] of [[script, /^text\/javascript/], [style, /^text\/css/]] as const) {
      const r = await fetch(`${server.url}${href}`);
      expect(r.status, href).to.equal(200);
      expect(r.headers.get('content-type')).to.match(type);
      expect(r.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    }
    const missing = await fetch(`${server.url}/console/assets/app-NOPE.js`);
    expect(missing.status).to.equal(404);
    expect(missing.headers.get('content-type')).to.match(/problem\+json/);
    expect((await fetch(`${server.url}/console/assets/..%2F..%2Fpackage.json`)).status).to.equal(404);

    let gzipped = 0;
    for (const dir of ['assets', 'styles']) {
      for (const f of await readdir(path.join(CONSOLE_DIST, dir))) gzipped += gzipSync(await readFile(path.join(CONSOLE_DIST, dir, f)), { level: 9 }).length;
    }
    console.log(`      console bundle: ${(gzipped / 1024).toFixed(1)} KB gzipped (JS + CSS)`);
    expect(gzipped).to.be.below(250 * 1024);
  });

  it('answers 503 console-not-built, with how to build it, when there is no build', async () => {
    const router = new Router();
    mountConsole(router, {} as RuntimeServices, path.join(CONSOLE_DIST, `missing-${randomUUID()}`));
    const app = new Koa();
    app.use(errorHandler({ error() {}, warn() {} } as never));
    app.use(router.routes());
    const listener = http.createServer(app.callback()).listen(0, '127.0.0.1');
    try {
      await new Promise((r) => listener.once('listening', r));
      const { port } = listener.address() as { port: number };
      for (const p of ['/console', '/console/assets/app-X.js']) {
        const r = await fetch(`http://127.0.0.1:${port}${p}`);
        expect(r.status, p).to.equal(503);
        expect(r.headers.get('content-type')).to.match(/problem\+json/);
        expect(((await r.json()) as { message: string }).message).to.contain('npm run build:console');
      }
    } finally {
      listener.close();
    }
  });

  it('home: seeds a demo with one button; counts per type and status and the live feed follow', async () => {
    await page.getByTestId('seed-demo').click();
    await page.getByTestId('demo-seeded').waitFor();
    await eventually(async () => Number(await page.getByTestId('stat-account').getAttribute('data-total')) >= 1, LIVE_MS);
    await eventually(async () => (await page.getByTestId('stat-account-ACCOUNT_ACTIVE').count()) === 1, LIVE_MS);
    await eventually(async () => (await page.getByTestId('feed').getByTestId('event').count()) >= 3, LIVE_MS);
    const stats = (await api.get('/v1/stats')).body as { aggregates: { type: string; total: number }[] };
    const accounts = stats.aggregates.find((a) => a.type === 'account')!.total;
    await eventually(async () => Number(await page.getByTestId('stat-account').getAttribute('data-total')) === accounts, LIVE_MS);
    expect(await page.getByTestId('live-state').getAttribute('data-state')).to.equal('live');
    await screenshot(page, 'console-home');
  });

  it('creates an account from its form and watches it become active without a reload', async () => {
    await page.getByTestId('nav-accounts').click();
    await page.getByTestId('create-open').click();
    const form = page.getByTestId('create-form');
    await form.getByTestId('field-firstName').fill('Grace');
    await form.getByTestId('field-lastName').fill('Hopper');
    await form.getByTestId('field-email').fill(`grace-${randomUUID().slice(0, 8)}@example.com`);
    await screenshot(page, 'console-create-account');
    await form.getByTestId('create-form-submit').click();
    await page.getByTestId('page-detail-accounts').waitFor();
    await markWindow(page);
    accountId = /#\/accounts\/([0-9a-f-]{36})/.exec(page.url())![1];
    // Sooner than the page's own 15 s re-read: the live stream brought it.
    await waitForText(page, 'status', 'ACCOUNT_ACTIVE', 8000);
    expect(await stillMarked(page), 'no reload').to.equal(true);
    expect(await page.getByTestId('event-log').getByTestId('event').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')))).to.deep.equal(['ACCOUNT_CREATED', 'ACCOUNT_CONFIRMED', 'ACCOUNT_ACTIVATED']);
    expect(await page.getByTestId('state-diagram').getAttribute('data-current')).to.equal('ACCOUNT_ACTIVE');
    expect((await api.get(`/v1/accounts/${accountId}`)).body.firstName).to.equal('Grace');
  });

  it('suspends and reactivates the account with its buttons while the diagram follows the path', async () => {
    await page.getByTestId('command-suspend').click();
    await waitForText(page, 'status', 'ACCOUNT_SUSPENDED');
    await eventually(async () => (await page.getByTestId('state-diagram').getAttribute('data-current')) === 'ACCOUNT_SUSPENDED', LIVE_MS);
    // The path follows the event log, which the page gets by the stream or its re-read.
    await eventually(async () => (await page.locator('[data-testid="edge-taken"][data-event="ACCOUNT_SUSPENDED"]').count()) === 1, LIVE_MS);
    await page.getByTestId('command-activate').click();
    await waitForText(page, 'status', 'ACCOUNT_ACTIVE');
    await eventually(async () => (await page.getByTestId('state-diagram').getAttribute('data-current')) === 'ACCOUNT_ACTIVE', LIVE_MS);
    // The way back is a transition of its own: both are marked as taken.
    await eventually(async () => (await page.locator('[data-testid="edge-taken"][data-event="ACCOUNT_ACTIVATED"]').count()) === 2, LIVE_MS);
    expect(await page.getByTestId('state-ACCOUNT_SUSPENDED').getAttribute('data-visited')).to.equal('true');
    expect((await api.get(`/v1/accounts/${accountId}`)).body.status).to.equal('ACCOUNT_ACTIVE');
    expect(await stillMarked(page), 'no reload').to.equal(true);
    await screenshot(page, 'console-account');
  });

  it('a refused command (409) says why and leaves the page usable', async () => {
    // No live updates for this page, so its suspend button is stale once the API suspends the account.
    await page.route('**/v1/events/stream**', (route) => route.abort('connectionrefused'));
    try {
      await page.goto(`${server.url}/console#/accounts/${accountId}`);
      await page.reload();
      await page.getByTestId('command-suspend').waitFor();
      expect((await api.post(`/v1/accounts/${accountId}/commands/suspend`)).status).to.equal(200);
      await page.getByTestId('command-suspend').click();
      await page.getByTestId('command-error').waitFor();
      expect(await page.getByTestId('command-error').getAttribute('data-status')).to.equal('409');
      expect(await page.getByTestId('command-error-message').textContent()).to.match(/\w+ \w+/);
      await screenshot(page, 'console-conflict');
      // The page re-read the account: it shows the new state and its commands work.
      await waitForText(page, 'status', 'ACCOUNT_SUSPENDED');
      await page.getByTestId('command-activate').click();
      await waitForText(page, 'status', 'ACCOUNT_ACTIVE');
    } finally {
      await page.unroute('**/v1/events/stream**');
    }
    errors.length = 0; // the refused stream connections were logged by the browser on purpose
  });

  it('edits the profile with If-Match; an edit over a change made meanwhile is refused (409) and says why', async () => {
    await page.goto(`${server.url}/console#/accounts/${accountId}`);
    await page.getByTestId('edit-open').click();
    await page.getByTestId('edit-form').getByTestId('field-lastName').fill('Hopper-Murray');
    await page.getByTestId('edit-form-submit').click();
    await page.getByTestId('edit-notice').waitFor();
    await waitForText(page, 'field-value-lastName', 'Hopper-Murray');
    expect((await api.get(`/v1/accounts/${accountId}`)).body.lastName).to.equal('Hopper-Murray');

    await page.getByTestId('edit-open').click();
    const current = await api.get(`/v1/accounts/${accountId}`);
    const changed = await api.put(`/v1/accounts/${accountId}`, { firstName: 'Amazing', lastName: 'Grace', email: current.body.email }, { headers: { 'If-Match': current.headers.get('etag')! } });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
    await page.getByTestId('edit-form').getByTestId('field-firstName').fill('Stale');
    await page.getByTestId('edit-form-submit').click();
    await page.getByTestId('edit-error').waitFor();
    expect(['409', '412']).to.include(await page.getByTestId('edit-error').getAttribute('data-status'));
    expect((await page.getByTestId('edit-error-message').textContent())!.length).to.be.greaterThan(10);
    await waitForText(page, 'field-value-firstName', 'Amazing');
    expect((await api.get(`/v1/accounts/${accountId}`)).body.firstName).to.equal('Amazing');
    await screenshot(page, 'console-edit-conflict');
  });

  it('lists an aggregate type filtered by a status of its machine', async () => {
    await page.goto(`${server.url}/console#/accounts`);
    await page.getByTestId('filter-ACCOUNT_ACTIVE').click();
    const expected = (await api.get('/v1/accounts?status=ACCOUNT_ACTIVE')).body.page.totalElements as number;
    await eventually(async () => (await page.getByTestId('list-row').count()) === expected, LIVE_MS);
    const statuses = await page.getByTestId('list-row').evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
    expect(statuses.every((t) => t.includes('ACCOUNT_ACTIVE'))).to.equal(true);
    await screenshot(page, 'console-list');
  });

  async function placeOrder(quantity: number, price: number, tax: number): Promise<string> {
    await page.goto(`${server.url}/console#/accounts/${accountId}`);
    await page.getByTestId('command-postOrder').click();
    const form = page.getByTestId('form-postOrder');
    await form.getByTestId('field-lineItems.0.productId').fill('SKU-C');
    await form.getByTestId('field-lineItems.0.name').fill('Console widget');
    await form.getByTestId('field-lineItems.0.quantity').fill(String(quantity));
    await form.getByTestId('field-lineItems.0.price').fill(String(price));
    await form.getByTestId('field-lineItems.0.tax').fill(String(tax));
    for (const [f, v] of Object.entries({ street1: '1 Main St', city: 'Springfield', state: 'OR', country: 'US', zipCode: '97477' })) {
      await form.getByTestId(`field-shippingAddress.${f}`).fill(v);
    }
    await screenshot(page, 'console-post-order');
    await form.getByTestId('form-postOrder-submit').click();
    await page.getByTestId('page-detail-orders').waitFor({ timeout: LIVE_MS });
    const orderId = /#\/orders\/([0-9a-f-]{36})/.exec(page.url())![1];
    await page.getByTestId('related-timeline').click();
    await page.getByTestId('page-timeline').waitFor();
    return orderId;
  }

  it("places an order from the account's postOrder form and watches its timeline reach ORDER_SUCCEEDED", async () => {
    await stockedWarehouse(api, { 'SKU-C': 20 });
    successOrderId = await placeOrder(2, 10, 0.5);
    await markWindow(page);
    await page.locator('[data-testid="timeline-event"][data-type="ORDER_SUCCEEDED"]').waitFor({ timeout: LIVE_MS });
    await waitForText(page, 'outcome', 'succeeded');
    expect(await stillMarked(page), 'no reload').to.equal(true);
    const types = await page.getByTestId('timeline-event').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    expect(types).to.include.members(['ORDER_CREATED', 'RESERVATION_SUCCEEDED', 'PAYMENT_SUCCEEDED', 'ORDER_SUCCEEDED']);
    expect(Number(await page.getByTestId('causation-arrows').getAttribute('data-count'))).to.be.greaterThan(0);
    expect(await page.getByTestId('failure-reason').count()).to.equal(0);
    expect((await api.get(`/v1/orders/${successOrderId}`)).body.status).to.equal('ORDER_SUCCEEDED');
    await screenshot(page, 'console-timeline');
  });

  it('shows a declined order with its compensations marked and its failure reason', async () => {
    // The gateway simulator declines amounts whose cents are .01 (contexts/payments/README.md).
    const orderId = await placeOrder(1, 10.01, 0);
    await page.locator('[data-testid="timeline-event"][data-type="ORDER_FAILED"]').waitFor({ timeout: LIVE_MS });
    await waitForText(page, 'outcome', 'failed');
    await waitForText(page, 'failure-reason', /declined/);
    await eventually(async () => (await page.locator('[data-testid="timeline-event"][data-compensation="true"]').count()) > 0, LIVE_MS);
    const order = (await api.get(`/v1/orders/${orderId}`)).body;
    expect(order.status).to.equal('ORDER_FAILED');
    expect(await page.getByTestId('failure-reason').textContent()).to.contain(order.failureReason);
    await screenshot(page, 'console-timeline-declined');
  });

  it('analytics: the counts per event type equal the events in Postgres', async () => {
    await page.goto(`${server.url}/console#/analytics?window=1h`);
    await page.getByTestId('page-analytics').waitFor();
    const expected = async () => {
      const rows = await query<{ stream_type: string; type: string; n: string }>(databaseUrl, `SELECT stream_type, type, count(*) AS n FROM events WHERE created_at > now() - interval '1 hour' GROUP BY 1, 2`);
      return Object.fromEntries(rows.map((r) => [`${r.stream_type}/${r.type}`, Number(r.n)]));
    };
    const shown = async () => Object.fromEntries(await page.locator('[data-testid^="type-"]').evaluateAll((els) => els.map((e) => [`${e.getAttribute('data-aggregate')}/${e.getAttribute('data-type')}`, Number(e.getAttribute('data-total'))])));
    // The saga may still be writing (timers, late replies): equal once both sides have settled.
    await eventually(async () => {
      await page.getByTestId('window-1h').click();
      const [db, ui] = [await expected(), await shown()];
      return JSON.stringify(Object.entries(db).sort()) === JSON.stringify(Object.entries(ui).sort());
    }, LIVE_MS, 1000);
    const ordersCreated = Number((await query<{ n: string }>(databaseUrl, `SELECT count(*) AS n FROM events WHERE type = 'ORDER_CREATED'`))[0].n);
    expect(Number(await page.locator('[data-testid="type-ORDER_CREATED"]').first().getAttribute('data-total'))).to.equal(ordersCreated);
    expect(await page.locator('.chart canvas').count()).to.be.greaterThan(0);
    await screenshot(page, 'console-analytics');
  });

  it('errors: a 404 id and an unreachable API show a banner and recover by themselves', async () => {
    const missing = randomUUID();
    await page.goto(`${server.url}/console#/accounts/${missing}`);
    await page.getByTestId('error-banner').waitFor();
    expect(await page.getByTestId('error-banner').getAttribute('data-status')).to.equal('404');
    expect(await page.getByTestId('error-banner-message').textContent()).to.contain(missing);

    await page.goto(`${server.url}/console#/accounts/${accountId}`);
    await page.getByTestId('resource').waitFor();
    await page.route('**/v1/**', (route) => route.abort('connectionrefused'));
    await page.goto(`${server.url}/console#/accounts`);
    await page.getByTestId('error-banner').waitFor({ timeout: LIVE_MS });
    expect(await page.getByTestId('error-banner').getAttribute('data-status')).to.equal('0');
    await screenshot(page, 'console-unreachable');
    await page.unroute('**/v1/**');
    await page.getByTestId('list-row').first().waitFor({ timeout: LIVE_MS });
    expect(await page.getByTestId('error-banner').count()).to.equal(0);

    // A 503 (a backing service away): the problem's message, then recovery once it answers.
    const outage = { type: '/problems/database-unavailable', title: 'Service Unavailable', status: 503, detail: 'Database unavailable; retry later', message: 'Database unavailable; retry later' };
    await page.route('**/v1/stats', (route) => route.fulfill({ status: 503, contentType: 'application/problem+json', headers: { 'Retry-After': '2' }, body: JSON.stringify(outage) }));
    await page.goto(`${server.url}/console#/`);
    await page.getByTestId('stats').getByTestId('error-banner').waitFor({ timeout: LIVE_MS });
    expect(await page.getByTestId('stats').getByTestId('error-banner').getAttribute('data-status')).to.equal('503');
    expect(await page.getByTestId('stats').getByTestId('error-banner-message').textContent()).to.equal(outage.message);
    await page.unroute('**/v1/stats');
    await page.getByTestId('stat-account').waitFor({ timeout: LIVE_MS });
    await eventually(async () => (await page.getByTestId('stats').getByTestId('error-banner').count()) === 0, LIVE_MS);
    errors.length = 0; // the refused requests were logged by the browser on purpose
  });
});

describe('browser console: dead letters', function () {
  this.timeout(90_000);
  let server: ServerProcess;
  let browser: Browser;

  before(async () => {
    const [env] = await Promise.all([freshDeployment('console-dlq'), ensureConsoleBuilt()]);
    [server, browser] = await Promise.all([startServer(env, PROBE_SETTINGS), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await killStartedProcesses();
  });

  it('deletes a dead letter, re-drives one, then the rest of its group, from the operations page', async () => {
    const databaseUrl = server.env.DATABASE_URL;
    const topology = new Topology(server.env.REDIS_PREFIX, Number(PROBE_SETTINGS.PARTITIONS));
    const poisons = [1, 2, 3].map((seq) => probeEnvelope(`console-actor-${seq}`, { seq, poison: true }));
    for (const m of poisons) {
      await query(databaseUrl, 'INSERT INTO outbox (topic, partition, message) VALUES ($1, $2, $3::jsonb)', [PROBE_TOPIC, topology.partitionOf(m.actor.id), JSON.stringify(m)]);
    }
    const handledTimes = async (id: string) => (await query<{ times_handled: number }>(databaseUrl, 'SELECT times_handled FROM probe_handled WHERE message_id = $1', [id]))[0]?.times_handled ?? 0;
    const letterOf = async (messageId: string) => page.locator('[data-testid="dead-letter"]', { hasText: messageId }).getAttribute('data-id');

    const { page, errors } = await openConsole(browser, server.url, '#/ops');
    page.on('dialog', (d) => void d.accept());
    const rows = page.locator('[data-testid="dead-letter"]');
    // Nothing is reloaded by hand: the page refreshes by itself as the letters arrive.
    await eventually(async () => (await rows.count()) === 3, LIVE_MS);
    await eventually(async () => Number(await page.getByTestId('dead-letter-count').getAttribute('data-value')) === 3, LIVE_MS);
    expect(await page.locator(`[data-testid="partition-row"][data-group="${PROBE_GROUP}"]`).count()).to.equal(Number(PROBE_SETTINGS.PARTITIONS));
    await screenshot(page, 'console-ops');

    await page.getByTestId(`delete-${await letterOf(poisons[0].id)}`).click();
    await eventually(async () => (await rows.count()) === 2, LIVE_MS);

    await query(databaseUrl, `UPDATE probe_switches SET enabled = false WHERE name = 'poison'`);
    await page.getByTestId(`redrive-${await letterOf(poisons[1].id)}`).click();
    await eventually(async () => (await rows.count()) === 1, LIVE_MS);
    await eventually(async () => (await handledTimes(poisons[1].id)) === 1, LIVE_MS);

    await page.getByTestId(`redrive-group-${PROBE_GROUP}`).click();
    await page.getByTestId('no-dead-letters').waitFor({ timeout: LIVE_MS });
    await eventually(async () => (await handledTimes(poisons[2].id)) === 1, LIVE_MS);
    // Once handled, each re-driven message stays handled once; the deleted one never was.
    await new Promise((r) => setTimeout(r, 500));
    expect([await handledTimes(poisons[0].id), await handledTimes(poisons[1].id), await handledTimes(poisons[2].id)]).to.deep.equal([0, 1, 1]);
    // Bull Board, served by the web role, embedded on demand.
    await page.getByTestId('queues-toggle').click();
    const board = await page.getByTestId('queues-frame').elementHandle();
    const frame = await board!.contentFrame();
    await eventually(async () => ((await frame!.content()).length > 200 && frame!.url().endsWith('/console/queues')), LIVE_MS);
    expect(errors.filter((e) => !/Failed to load resource|net::ERR/.test(e))).to.deep.equal([]);
  });
});
