/**
 * The API document drives a client: types generated from a running server's document
 * (openapi-typescript), a client over them (openapi-fetch, `openapi-client/shop.ts`, no
 * hand-written types) that registers an account, stocks a warehouse and follows an order to
 * ORDER_SUCCEEDED. Also: the served document is the generated one, the reference page works
 * offline, and `/v1` links the document.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freshDeployment, killStartedProcesses, REPO_ROOT, startServer, type ServerProcess } from '../support/e2e-process';
import { client, newProfile, type Client } from '../support/e2e-http';
import { generateApiDocument } from '../../runtime/http/openapi/generate';
import { TYPES_FILE, typesOf } from '../../ops/openapi/types';
import { activeAccount, createApi, placeAndFollow, reservationsOf, stockedWarehouse } from './openapi-client/shop';

const run = promisify(execFile);

describe('a client generated from the API document', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  let http: Client;
  let served: Record<string, any>;
  let scratch: string;

  before(async () => {
    const env = await freshDeployment('openapi');
    server = await startServer(env, { CONTEXTS: 'all', TIMER_POLL_MS: '100', ORDER_STEP_TIMEOUT_MS: '20000', PAYMENT_CHARGE_BACKOFF_MS: '100' });
    http = client(server.url);
    // Under node_modules, so the copy of the client resolves openapi-fetch as the original does; removed after.
    mkdirSync(path.join(REPO_ROOT, 'node_modules', '.cache'), { recursive: true });
    scratch = mkdtempSync(path.join(REPO_ROOT, 'node_modules', '.cache', 'tributary-openapi-client-'));
  });

  after(async () => {
    await server?.stop();
    await killStartedProcesses();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('is linked from /v1 (rel describedby) and served at /v1/openapi.json as the code generates it', async () => {
    const entry = await http.get('/v1');
    expect(entry.body._links.describedby.href).to.equal('/v1/openapi.json');
    const r = await http.get(entry.body._links.describedby.href);
    expect(r.status).to.equal(200);
    expect(r.contentType).to.match(/^application\/json/);
    served = r.body;
    expect(served).to.deep.equal(generateApiDocument().document);
  });

  it('generates the committed types, and the client code typechecks against types generated from the served document', async () => {
    const types = await typesOf(served);
    const committed = readFileSync(path.join(REPO_ROOT, TYPES_FILE), 'utf8');
    if (types !== committed) expect.fail(`${TYPES_FILE} differs from the types of the served document: run \`npm run openapi\``);
    writeFileSync(path.join(scratch, 'api.d.ts'), types);
    copyFileSync(path.join(__dirname, 'openapi-client', 'shop.ts'), path.join(scratch, 'shop.ts'));
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'commonjs', '--moduleResolution', 'node', '--esModuleInterop', '--types', 'node', path.join(scratch, 'shop.ts')];
    const result = await run(process.execPath, [tsc, ...args], { cwd: REPO_ROOT }).catch((err: { stdout: string; stderr: string }) => err);
    expect('stdout' in result ? `${result.stdout}${result.stderr}` : '').to.equal('');
  });

  it('registers an account, stocks a warehouse and follows an order to ORDER_SUCCEEDED', async () => {
    const api = createApi(server.url);
    const accountId = await activeAccount(api, newProfile('Grace').email);
    const sku = `GEN-${Date.now()}`;
    await stockedWarehouse(api, sku, 3);
    const order = await placeAndFollow(api, accountId, sku, 2);
    expect(order.status, order.failureReason).to.equal('ORDER_SUCCEEDED');
    expect(order.total).to.equal(27);
    expect(order.paymentId).to.be.a('string');
    const reservations = await reservationsOf(api, order);
    expect(reservations.map((r) => [r.productId, r.quantity, r.status])).to.deep.equal([[sku, 2, 'RESERVATION_SUCCEEDED']]);
  });

  it('serves the reference page from swagger-ui-dist, with no CDN', async () => {
    const page = await http.get('/v1/docs');
    expect(page.status).to.equal(200);
    expect(page.contentType).to.match(/^text\/html/);
    const assets = [...String(page.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).to.be.greaterThan(3);
    for (const a of assets) expect(a, 'served by the web role').to.match(/^\/v1\/docs\//);
    for (const a of assets) {
      const r = await http.get(a);
      expect(r.status, a).to.equal(200);
    }
    const init = await http.get('/v1/docs/swagger-initializer.js');
    expect(String(init.body)).to.include("url: '/v1/openapi.json'");
    expect((await http.get('/v1/docs/..%2Fpackage.json')).status).to.equal(404);
  });
});
