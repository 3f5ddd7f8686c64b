/**
 * Security headers and CORS on a web role started in this process (over real HTTP): helmet's
 * headers with our Content-Security-Policy on every response; CORS headers for the origins of
 * CORS_ORIGINS only, preflights answered; and, in headless Chromium, the pages served here
 * (the console, Bull Board, the API reference) load under that policy with no violation.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { startTestRuntime } from '../../test/support/runtime';
import { loadConfig, ConfigError } from '../config';
import { CHROMIUM_PATH, ensureConsoleBuilt, launchBrowser } from '../../test/support/browser';

const SHOP = 'https://shop.example.com';

/** A web process of its own (in this process): real Postgres and Redis, the accounts context only. */
async function serve(label: string, env: Record<string, string>): Promise<{ base: string; stop(): Promise<void> }> {
  const runtime = await startTestRuntime(label, { ROLE: 'web', CONTEXTS: 'accounts', ...env });
  return { base: runtime.url!, stop: () => runtime.stop() };
}

describe('security headers and CORS', function () {
  this.timeout(90_000);
  let withCors: Awaited<ReturnType<typeof serve>>;
  let without: Awaited<ReturnType<typeof serve>>;

  before(async () => {
    [withCors, without] = await Promise.all([serve('cors_on', { CORS_ORIGINS: `${SHOP}, http://localhost:8080` }), serve('cors_off', {})]);
  });
  after(async () => {
    await withCors?.stop();
    await without?.stop();
  });

  it('sets helmet\'s headers with a same-origin Content-Security-Policy on every response, problems included', async () => {
    for (const path of ['/v1/openapi.json', '/v1/no-such-thing']) {
      const r = await fetch(`${without.base}${path}`);
      await r.arrayBuffer();
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, path).to.include("default-src 'self'").and.include("script-src 'self'").and.include("object-src 'none'").and.include("frame-ancestors 'self'");
      expect(csp).to.match(/style-src 'self'(;|$)/);
      expect(csp).not.to.include('upgrade-insecure-requests');
      expect(csp).not.to.match(/https?:\/\//);
      expect(r.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(r.headers.get('x-frame-options')).to.equal('SAMEORIGIN');
      expect(r.headers.get('referrer-policy')).to.equal('no-referrer');
      expect(r.headers.get('x-powered-by')).to.equal(null);
    }
  });

  it('allows inline styles only on the pages of Bull Board and Swagger UI', async () => {
    for (const [path, inline] of [['/console', false], ['/console/queues', true], ['/v1/docs', true], ['/v1/docs/swagger-ui.css', true], ['/v1/docsx', false]] as const) {
      const r = await fetch(`${without.base}${path}`);
      await r.arrayBuffer();
      expect(r.headers.get('content-security-policy'), path).to.match(inline ? /style-src 'self' 'unsafe-inline'(;|$)/ : /style-src 'self'(;|$)/);
    }
  });

  it('gives an allowed origin Access-Control-Allow-Origin and the readable headers; another origin gets none', async () => {
    const allowed = await fetch(`${withCors.base}/v1/openapi.json`, { headers: { Origin: SHOP } });
    await allowed.arrayBuffer();
    expect(allowed.headers.get('access-control-allow-origin')).to.equal(SHOP);
    expect(allowed.headers.get('access-control-expose-headers')).to.equal('ETag,Location,Retry-After');
    expect(allowed.headers.get('access-control-allow-credentials')).to.equal(null);
    expect(allowed.headers.get('vary')).to.match(/Origin/);

    const problem = await fetch(`${withCors.base}/v1/no-such-thing`, { headers: { Origin: 'http://localhost:8080' } });
    expect(problem.status).to.equal(404);
    await problem.arrayBuffer();
    expect(problem.headers.get('access-control-allow-origin'), 'a problem response is readable too').to.equal('http://localhost:8080');

    const other = await fetch(`${withCors.base}/v1/openapi.json`, { headers: { Origin: 'https://evil.example.com' } });
    await other.arrayBuffer();
    expect(other.status).to.equal(200);
    expect(other.headers.get('access-control-allow-origin')).to.equal(null);
    expect(other.headers.get('access-control-expose-headers')).to.equal(null);
  });

  it('answers a preflight for an allowed origin, and not for another', async () => {
    const preflight = (origin: string) =>
      fetch(`${withCors.base}/v1/accounts/0b7a3f8e-0000-4000-8000-000000000000/commands/confirm`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,if-match' },
      });
    const ok = await preflight(SHOP);
    await ok.arrayBuffer();
    expect(ok.status).to.equal(204);
    expect(ok.headers.get('access-control-allow-origin')).to.equal(SHOP);
    expect(ok.headers.get('access-control-allow-methods')).to.include('POST');
    expect(ok.headers.get('access-control-allow-headers')).to.equal('Authorization,Content-Type,If-Match,Last-Event-ID');
    expect(ok.headers.get('access-control-max-age')).to.equal('600');
    const refused = await preflight('https://evil.example.com');
    await refused.arrayBuffer();
    expect(refused.headers.get('access-control-allow-origin')).to.equal(null);
    expect(refused.headers.get('access-control-allow-headers')).to.equal(null);
  });

  it('sends no CORS headers when CORS_ORIGINS is empty', async () => {
    const r = await fetch(`${without.base}/v1/openapi.json`, { headers: { Origin: SHOP } });
    await r.arrayBuffer();
    expect(r.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('validates CORS_ORIGINS: origins only, * alone and never with credentials', () => {
    expect(loadConfig({ CORS_ORIGINS: '*' }).cors).to.deep.equal({ origins: ['*'], credentials: false });
    expect(loadConfig({ CORS_ORIGINS: `${SHOP},http://localhost:8080`, CORS_CREDENTIALS: 'true' }).cors).to.deep.equal({ origins: [SHOP, 'http://localhost:8080'], credentials: true });
    expect(loadConfig({}).cors.origins).to.deep.equal([]);
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as Error).message;
      }
      return undefined;
    };
    expect(refused({ CORS_ORIGINS: '*', CORS_CREDENTIALS: 'true' })).to.match(/^Invalid CORS_ORIGINS="\*": \* cannot be used with CORS_CREDENTIALS=true/);
    expect(refused({ CORS_ORIGINS: `*,${SHOP}` })).to.match(/give it alone/);
    expect(refused({ CORS_ORIGINS: `${SHOP}/` })).to.match(/is not an origin/);
    expect(refused({ CORS_ORIGINS: 'shop.example.com' })).to.match(/is not an origin/);
  });

  describe('the pages under the policy, in headless Chromium', () => {
    before(function () {
      if (!existsSync(CHROMIUM_PATH)) this.skip();
    });

    it('the console, Bull Board and the API reference load with no Content-Security-Policy violation', async () => {
      await ensureConsoleBuilt();
      const browser = await launchBrowser();
      try {
        for (const path of ['/console', '/v1/docs', '/console/queues']) {
          const page = await browser.newPage();
          const violations: string[] = [];
          page.on('console', (m) => {
            if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text());
          });
          await page.goto(`${without.base}${path}`, { waitUntil: 'load' });
          if (path === '/v1/docs') await page.waitForSelector('.opblock', { timeout: 20_000 });
          if (path === '/console') await page.waitForSelector('#app > *', { timeout: 20_000 });
          if (path === '/console/queues') await page.waitForSelector('#root > *', { timeout: 20_000 });
          await page.waitForTimeout(300);
          expect(violations, path).to.deep.equal([]);
          await page.close();
        }
      } finally {
        await browser.close();
      }
    });
  });
});
