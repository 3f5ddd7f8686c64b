/**
 * How authentication is decided at start-up (docs/security.md): production without any
 * credential refuses to start with one line; development without one runs open and says so
 * loudly; the first API key created closes an open process without a restart; bad AUTH_*
 * settings stop start-up with one line naming the variable.
 */
import { expect } from 'chai';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, runCliToExit, spawnCli, startServer } from '../support/e2e-process';
import { client, expectProblem, newProfile } from '../support/e2e-http';
import { OPEN_RECHECK_MS } from '../../runtime/auth';

describe('auth end to end: start-up modes', function () {
  this.timeout(60_000);
  after(killStartedProcesses);

  it('refuses to start in production without a credential: one line, exit 1', async () => {
    const env = await freshDeployment('e2e_auth_prod');
    const exit = await runCliToExit({ ...env, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    expect(exit.code).to.equal(1);
    const lines = exit.stderr.trim().split('\n');
    expect(lines, exit.stderr).to.have.length(1);
    expect(lines[0]).to.match(/^tributary: NODE_ENV=production and no credential is configured/);
    expect(exit.stdout).to.not.include('tributary started');
  });

  it('starts in production with a JWT key configured', async () => {
    const env = await freshDeployment('e2e_auth_prod_jwt');
    const server = await startServer(env, { NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_ISSUER: 'https://i.test/', AUTH_AUDIENCE: 'a' });
    expectProblem(await client(server.url).get('/v1/accounts'), 401);
    await server.stop();
  });

  for (const [settings, message] of [
    [{ AUTH_JWT_SECRET: 'short' }, /^tributary: Invalid AUTH_JWT_SECRET=.*at least 32 characters/],
    [{ AUTH_JWT_SECRET: 'x'.repeat(40) }, /^tributary: Invalid AUTH_ISSUER="": required with AUTH_JWT_SECRET/],
    [{ AUTH_JWT_SECRET: 'x'.repeat(40), AUTH_JWKS_URL: 'https://idp.test/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' }, /^tributary: Invalid AUTH_JWT_SECRET: set only one of/],
    [{ AUTH_JWKS_URL: 'not a url' }, /^tributary: Invalid AUTH_JWKS_URL=/],
    [{ AUTH_JWT_PUBLIC_KEY: 'ssh-rsa AAAA' }, /^tributary: Invalid AUTH_JWT_PUBLIC_KEY=/],
    [{ AUTH_KEY_CACHE_MS: '-1' }, /^tributary: Invalid AUTH_KEY_CACHE_MS=/],
  ] as const) {
    it(`stops start-up with one line for ${JSON.stringify(settings).slice(0, 80)}`, async () => {
      const exit = await runCliToExit({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/never_created_auth', ...settings, PORT: '0' });
      expect(exit.code).to.equal(1);
      expect(exit.stderr.trim().split('\n'), exit.stderr).to.have.length(1);
      expect(exit.stderr.trim()).to.match(message);
    });
  }

  it('runs open in development with a loud warning, and the first key created closes it without a restart', async function () {
    this.timeout(OPEN_RECHECK_MS + 60_000);
    const env = await freshDeployment('e2e_auth_open');
    const server = await startServer(env, { LOG_LEVEL: 'warn' });
    const line = server.stdout().split('\n').find((l) => l.includes('AUTH OFF'));
    expect(line, server.stdout()).to.not.equal(undefined);
    expect(JSON.parse(line!)).to.include({ level: 40 });
    const api = client(server.url);
    expect((await api.post('/v1/accounts', newProfile())).status, 'open: no credential needed').to.equal(201);
    const created = spawnCli({ ...env, LOG_LEVEL: 'warn' }, ['keys', 'create', '--name', 'first', '--scopes', 'read']);
    expect((await created.exited).code, created.stderr()).to.equal(0);
    const key = created.stdout().trim();
    const since = Date.now();
    await eventually(async () => (await api.get('/v1/accounts')).status === 401, OPEN_RECHECK_MS + 5_000, 200);
    expect(Date.now() - since).to.be.below(OPEN_RECHECK_MS + 5_000);
    // The process logs the switch as it makes it; the line may reach our pipe a moment after the first 401.
    await eventually(async () => server.stdout().includes('authentication on: an API key now exists'), 5_000, 50);
    expect((await api.get('/v1/accounts', { headers: { authorization: `Bearer ${key}` } })).status).to.equal(200);
    await server.stop();
  });
});
