import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import Koa from 'koa';
import { buildRouter } from '../web-app';
import { offlineServices } from './generate';
import { loadContexts } from '../../context';

const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);

/**
 * The reference page renders in a real browser from the web role's own files: headless
 * Chromium loads `/v1/docs`, Swagger UI fetches `/v1/openapi.json` and lists the operations.
 * The routes are mounted as the web role mounts them, without Postgres or Redis (the page
 * and the document need neither). Skipped where Chromium is not installed.
 */
describe('the API reference page in headless Chromium', function () {
  this.timeout(90_000);
  let server: Server | undefined;
  let base: string;

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip();
    const plugins = loadContexts('all');
    const app = new Koa();
    app.use(buildRouter(offlineServices(plugins), plugins, () => 'running').routes());
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => server?.close());

  it('renders every path of the document, with no error', async () => {
    const document = (await (await fetch(`${base}/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(document.paths).reduce((n, item) => n + Object.keys(item).length, 0);
    const { stdout } = await run(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=15000', '--dump-dom', `${base}/v1/docs`], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 80_000,
    });
    expect(stdout).to.include('class="title">Tributary');
    expect(stdout).not.to.match(/errors-wrapper/);
    expect(stdout.match(/data-path="/g)?.length ?? 0, 'one block per operation').to.equal(operations);
    expect(stdout).to.include('data-path="/v1/accounts/{id}/commands/confirm"');
  });
});
