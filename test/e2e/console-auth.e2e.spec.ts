/**
 * The console against a deployment with an API key (docs/security.md): it shows the sign-in
 * form when the API answers 401, refuses a wrong key, signs in with the right one (an
 * HttpOnly cookie the page cannot read), then shows data; the event stream and Bull Board
 * work through the cookie; signing out asks again. Real process, real Chromium.
 */
import { expect } from 'chai';
import type { Browser } from 'playwright-core';
import { freshDeployment, killStartedProcesses, spawnCli, startServer, type ServerProcess } from '../support/e2e-process';
import { client, newProfile } from '../support/e2e-http';
import { ensureConsoleBuilt, launchBrowser, openConsole, screenshot } from '../support/browser';

describe('browser console with authentication on', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let browser: Browser;
  let key = '';
  let email = '';

  before(async function () {
    this.timeout(180_000);
    const env = (await freshDeployment('e2e_console_auth')) as unknown as Record<string, string>;
    const created = spawnCli({ ...env, LOG_LEVEL: 'warn' }, ['keys', 'create', '--name', 'console', '--scopes', 'read,write,ops']);
    expect((await created.exited).code, created.stderr()).to.equal(0);
    key = created.stdout().trim();
    await ensureConsoleBuilt();
    server = await startServer(env, { ROLE: 'all' });
    const profile = newProfile('Grace');
    email = profile.email;
    const r = await client(server.url).post('/v1/accounts', profile, { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).to.equal(201);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await killStartedProcesses();
  });

  it('asks for a key, refuses a wrong one, signs in with the right one and shows data', async () => {
    const { page, errors } = await openConsole(browser, server.url, '#/accounts');
    await page.getByTestId('sign-in').waitFor({ timeout: 20_000 });
    await screenshot(page, 'auth-sign-in');

    await page.getByTestId('sign-in-key').fill(`trb_${'0'.repeat(16)}_${'A'.repeat(43)}`);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('sign-in-error').filter({ hasText: 'not valid' }).waitFor({ timeout: 10_000 });

    await page.getByTestId('sign-in-key').fill(key);
    await page.getByTestId('sign-in-submit').click();
    await page.getByTestId('page-list-accounts').waitFor({ timeout: 20_000 });
    await page.getByTestId('list-row').filter({ hasText: email }).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('sign-in').count()).to.equal(0);
    await screenshot(page, 'auth-signed-in');

    // HttpOnly: the page's scripts never see the key.
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).to.not.include('trb_');
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'tributary_session');
    expect(session?.httpOnly).to.equal(true);
    expect(session?.sameSite).to.equal('Strict');

    // The event stream (EventSource cannot send headers) and Bull Board go through the cookie.
    const opened = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const G = globalThis as unknown as { EventSource: new (url: string) => { onopen: () => void; onerror: () => void; close(): void } };
          const source = new G.EventSource('/v1/events/stream');
          source.onopen = () => (source.close(), resolve('open'));
          source.onerror = () => (source.close(), resolve('error'));
        }),
    );
    expect(opened).to.equal('open');
    const board = await page.request.get(`${server.url}/console/queues`);
    expect(board.status()).to.equal(200);

    // A write from the console carries its CSRF header: registering an account through the page's own client.
    const status = await page.evaluate(async (profile) => {
      const res = await fetch('/v1/accounts', { method: 'POST', headers: { 'content-type': 'application/json', 'x-requested-with': 'tributary-console' }, body: JSON.stringify(profile) });
      return res.status;
    }, newProfile('Hopper'));
    expect(status).to.equal(201);

    await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor({ timeout: 20_000 });
    expect(errors.filter((e) => !/401|Unauthorized/.test(e)), errors.join('\n')).to.deep.equal([]);
    await page.close();
  });
});
