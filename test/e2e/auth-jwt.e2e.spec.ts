/**
 * JWT bearer tokens end to end (docs/security.md): a process verifying with a static HS256
 * secret, and one verifying against a JWKS URL that this test serves. Issuer, audience, expiry
 * and signature are checked; the scope claim (string or array) is honoured and the account
 * claim binds the token to one account.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { SignJWT, exportJWK, generateKeyPair, type JWTPayload, type CryptoKey } from 'jose';
import { eventually } from '../support/runtime';
import { freshDeployment, killStartedProcesses, startServer, type ServerProcess } from '../support/e2e-process';
import { client, expectProblem, newProfile, type Client } from '../support/e2e-http';

const ISSUER = 'https://issuer.test/';
const AUDIENCE = 'tributary-test';
const SECRET = 'a-test-secret-of-more-than-32-characters-0123456789';

async function sign(key: CryptoKey | Uint8Array, claims: JWTPayload, options: { alg?: string; kid?: string; issuer?: string; audience?: string; expiresIn?: string | number } = {}): Promise<string> {
  const alg = options.alg ?? 'HS256';
  return new SignJWT(claims)
    .setProtectedHeader({ alg, ...(options.kid ? { kid: options.kid } : {}) })
    .setIssuedAt()
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(key);
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('auth end to end: JWT bearer tokens', function () {
  this.timeout(60_000);
  after(killStartedProcesses);

  describe('verified with a static secret (AUTH_JWT_SECRET)', () => {
    let server: ServerProcess;
    let api: Client;
    const key = new TextEncoder().encode(SECRET);

    before(async function () {
      this.timeout(90_000);
      server = await startServer(await freshDeployment('e2e_auth_jwt'), { AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE, LOG_LEVEL: 'info' });
      api = client(server.url);
    });

    it('starts closed without any API key, because a JWT key is configured', () => {
      expect(server.stdout()).to.include('authentication on');
      expect(server.stdout()).to.not.include('AUTH OFF');
    });

    it('accepts a valid token and honours its scope claim (string or array)', async () => {
      const writer = await sign(key, { sub: 'svc', scope: 'read write' });
      const created = await api.post('/v1/accounts', newProfile(), bearer(writer));
      expect(created.status, JSON.stringify(created.body)).to.equal(201);
      const reader = await sign(key, { sub: 'svc', scope: ['read'] });
      expect((await api.get('/v1/accounts', bearer(reader))).status).to.equal(200);
      const refused = await api.post('/v1/accounts', newProfile(), bearer(reader));
      expectProblem(refused, 403);
      expect(refused.headers.get('www-authenticate')).to.include('scope="write"');
      const noScopes = await sign(key, { sub: 'svc', scope: 'admin superuser' });
      expectProblem(await api.get('/v1/accounts', bearer(noScopes)), 403);
      expectProblem(await api.get('/v1/ops/dead-letters', bearer(writer)), 403);
      const ops = await sign(key, { scope: 'ops' });
      expect((await api.get('/v1/ops/dead-letters', bearer(ops))).status).to.equal(200);
    });

    it('refuses (401 invalid_token) a wrong issuer, a wrong audience, an expired token, a wrong signature, alg none, and no exp', async () => {
      const otherKey = new TextEncoder().encode(`${SECRET}-other`);
      const now = Math.floor(Date.now() / 1000);
      const tokens: Record<string, string> = {
        'wrong issuer': await sign(key, { scope: 'read' }, { issuer: 'https://evil.test/' }),
        'wrong audience': await sign(key, { scope: 'read' }, { audience: 'another-service' }),
        expired: await sign(key, { scope: 'read' }, { expiresIn: now - 120 }),
        'wrong signature': await sign(otherKey, { scope: 'read' }),
        'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ scope: 'read', iss: ISSUER, aud: AUDIENCE, exp: now + 300 })).toString('base64url')}.`,
        'no exp': await new SignJWT({ scope: 'read' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).sign(key),
        'not a JWT': 'abc.def.ghi',
      };
      for (const [what, token] of Object.entries(tokens)) {
        const r = await api.get('/v1/accounts', bearer(token));
        expectProblem(r, 401);
        expect(r.headers.get('www-authenticate'), what).to.equal('Bearer realm="tributary", error="invalid_token"');
      }
    });

    it('binds a token with the account claim to that account (lists and 404s), and refuses a claim that is not an account id', async () => {
      const admin = await sign(key, { scope: 'read write' });
      const ids: string[] = [];
      for (const name of ['Jo', 'Kim']) ids.push((await api.post('/v1/accounts', newProfile(name), bearer(admin))).body.accountId);
      const bound = await sign(key, { scope: 'read write', account_id: ids[0].toUpperCase() });
      const list = await api.get('/v1/accounts', bearer(bound));
      expect(list.body._embedded.accountList.map((a: { accountId: string }) => a.accountId)).to.deep.equal([ids[0]]);
      expect((await api.get(`/v1/accounts/${ids[0]}`, bearer(bound))).status).to.equal(200);
      expectProblem(await api.get(`/v1/accounts/${ids[1]}`, bearer(bound)), 404);
      expectProblem(await api.get('/v1/accounts', bearer(await sign(key, { scope: 'read', account_id: 'everyone' }))), 401);
      expectProblem(await api.get('/v1/accounts', bearer(await sign(key, { scope: 'read', account_id: 7 }))), 401);
    });
  });

  describe('verified against a JWKS URL (AUTH_JWKS_URL)', () => {
    let server: ServerProcess;
    let api: Client;
    let jwks: http.Server;
    let fetches = 0;
    let signing: Awaited<ReturnType<typeof generateKeyPair>>;
    let other: Awaited<ReturnType<typeof generateKeyPair>>;

    before(async function () {
      this.timeout(90_000);
      signing = await generateKeyPair('RS256');
      other = await generateKeyPair('RS256');
      const publicJwk = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      jwks = http.createServer((req, res) => {
        fetches++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [publicJwk] }));
      });
      await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
      server = await startServer(await freshDeployment('e2e_auth_jwks'), { AUTH_JWKS_URL: url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
      api = client(server.url);
    });

    after(async () => {
      await killStartedProcesses();
      await new Promise((resolve) => jwks?.close(resolve));
    });

    it('accepts a token signed by a key of the set, with its scopes and account', async () => {
      const token = await sign(signing.privateKey, { scope: 'read write' }, { alg: 'RS256', kid: 'k1' });
      expect((await api.post('/v1/accounts', newProfile(), bearer(token))).status).to.equal(201);
      expect(fetches, 'the key set was fetched').to.be.at.least(1);
      const accountId = randomUUID();
      const bound = await sign(signing.privateKey, { scope: 'read', account_id: accountId }, { alg: 'RS256', kid: 'k1' });
      const list = await api.get('/v1/accounts', bearer(bound));
      expect(list.body.page.totalElements, 'bound to an account that does not exist: sees nothing').to.equal(0);
    });

    it('refuses a token signed by a key outside the set, an HMAC token, and a wrong audience (401)', async () => {
      const foreign = await sign(other.privateKey, { scope: 'read' }, { alg: 'RS256', kid: 'k1' });
      const unknownKid = await sign(other.privateKey, { scope: 'read' }, { alg: 'RS256', kid: 'k2' });
      const hmac = await sign(new TextEncoder().encode(SECRET), { scope: 'read' });
      const audience = await sign(signing.privateKey, { scope: 'read' }, { alg: 'RS256', kid: 'k1', audience: 'other' });
      for (const token of [foreign, unknownKid, hmac, audience]) expectProblem(await api.get('/v1/accounts', bearer(token)), 401);
    });

    it('answers 503 (not 401) while the key set cannot be fetched, for a key it has not seen', async () => {
      await new Promise((resolve) => jwks.close(resolve));
      jwks.closeAllConnections();
      const token = await sign(other.privateKey, { scope: 'read' }, { alg: 'RS256', kid: 'k9' });
      const r = await eventually(async () => {
        const reply = await api.get('/v1/accounts', bearer(token));
        return reply.status === 503 ? reply : undefined;
      }, 40_000, 500);
      expectProblem(r, 503);
      // A token of a key already fetched still works: the set is cached.
      const known = await sign(signing.privateKey, { scope: 'read' }, { alg: 'RS256', kid: 'k1' });
      expect((await api.get('/v1/accounts', bearer(known))).status).to.equal(200);
    });
  });
});
