import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../../runtime/config';
import { startRuntime } from '../../../runtime/roles';
import { buildConsole } from '../../../runtime/console/build';
import { launchBrowser } from '../../../test/support/browser';
import { JsonClient } from '../http-client';
import { percentile, waitUntil } from '../load';
import { tunedEnv } from '../env';
import type { Figure, Suite, SuiteContext } from '../suite';

/*
 * The browser console (dist/console) in headless Chromium against a runtime in this process
 * (both roles, every context, the default EVENT_STREAM_POLL_MS):
 *   1. time to first render of the home view: a new browser context each round (no cache,
 *      no cookies), from navigation to the counts per aggregate type on screen;
 *   2. command → event on the page, by the page's own button: click "suspend" / "activate"
 *      on an account's page until its new event is in the page's event log;
 *   3. command → event on the page, from elsewhere: the same commands sent over HTTP by this
 *      process, until the page shows the event (the live stream is the only way it learns).
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
    const rt = await startRuntime(loadConfig({
      ...tunedEnv(),
      DATABASE_URL: env.databaseUrl,
      REDIS_URL: env.redisUrl,
      REDIS_PREFIX: env.redisPrefix,
      ROLE: 'all',
      CONTEXTS: 'all',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
    }));
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
        const r = await http.post(`/v1/accounts/${accountId}/commands/${next[i % 2]}`, {});
        if (r.status !== 200) throw new Error(`${next[i % 2]}: ${r.status} ${r.body}`);
        await log.nth(before).waitFor();
        live.push(performance.now() - started);
      }

      return [
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
