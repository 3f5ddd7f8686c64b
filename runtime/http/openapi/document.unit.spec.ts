import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { generateApiDocument, offlineServices } from './generate';
import { serializeDocument } from './serialize';
import { openApiPath } from './document';
import { createWebApp } from '../web-app';
import { loadContexts } from '../../context';
import { ApiContract } from '../../../test/support/openapi-contract';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'contexts');
type Json = Record<string, any>;

async function validateOpenApi(document: unknown): Promise<{ valid: boolean; errors?: unknown }> {
  const { Validator } = await import('@seriousme/openapi-schema-validator');
  return new Validator().validate(document as Record<string, unknown>);
}

const operations = (doc: Json) =>
  Object.entries(doc.paths as Json).flatMap(([p, item]) => Object.entries(item as Json).map(([method, op]) => ({ path: p, method, op: op as Json })));

describe('the API document (OpenAPI 3.1)', () => {
  const generated = generateApiDocument();
  const doc = generated.document as Json;

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validateOpenApi(doc);
    expect(result.errors, JSON.stringify(result.errors, null, 1)).to.equal(undefined);
    expect(result.valid).to.equal(true);
    expect(doc.openapi).to.equal('3.1.0');
  });

  it('is the committed docs/openapi.json', () => {
    const committed = readFileSync(path.join(ROOT, 'docs', 'openapi.json'), 'utf8');
    const current = serializeDocument(doc);
    if (committed !== current) {
      expect.fail('docs/openapi.json differs from what the code generates: run `npm run openapi` and commit docs/openapi.json');
    }
  });

  it('describes every route the web role serves (none is mounted without a spec)', () => {
    expect(generated.undeclared).to.deep.equal([]);
    for (const p of ['/v1', '/healthz', '/readyz', '/v1/accounts', '/v1/accounts/{id}', '/v1/orders', '/v1/payments', '/v1/warehouses/{id}/inventory', '/v1/openapi.json', '/v1/docs']) {
      expect(doc.paths, p).to.have.property(p);
    }
    expect(doc.paths['/v1/accounts/{id}/commands/confirm']).to.have.property('post');
  });

  it('gives every operation a unique id, a scope, and problem+json errors (503 everywhere, 400/413/415 with a body)', () => {
    const ids = operations(doc).map((o) => o.op.operationId);
    expect(new Set(ids).size).to.equal(ids.length);
    for (const { path: p, method, op } of operations(doc)) {
      const where = `${method.toUpperCase()} ${p}`;
      expect(['public', 'read', 'write', 'ops'], where).to.include(op['x-scope']);
      expect(op.responses['503'], where).to.have.property('content');
      if (method === 'post' || method === 'put') for (const s of ['400', '413', '415']) expect(op.responses, `${where} ${s}`).to.have.property(s);
      if (p.includes('{')) expect(op.responses, `${where} 404`).to.have.property('404');
      for (const [status, r] of Object.entries(op.responses as Json)) {
        if (Number(status) >= 400 && r.content && !p.startsWith('/readyz')) expect(Object.keys(r.content), `${where} ${status}`).to.deep.equal(['application/problem+json']);
      }
    }
  });

  it('declares If-Match where a route reads it and ETag where it sets it, and the paging parameters', () => {
    const put = doc.paths['/v1/accounts/{id}'].put;
    expect(put.parameters.find((p: Json) => p.name === 'If-Match')).to.include({ in: 'header', required: false });
    expect(put.responses['200'].headers).to.have.property('ETag');
    expect(doc.paths['/v1/accounts/{id}/commands/suspend'].post.parameters.map((p: Json) => p.name)).to.include('If-Match');
    expect(doc.paths['/v1/accounts'].post.responses['201'].headers).to.have.property('Location');
    const list = doc.paths['/v1/accounts'].get;
    const paging = list.parameters.filter((p: Json) => p.name === 'page' || p.name === 'size');
    expect(paging.map((p: Json) => [p.name, p.in, p.required, p.schema.type])).to.deep.equal([['page', 'query', false, 'integer'], ['size', 'query', false, 'integer']]);
    expect(doc.paths['/v1/orders'].get.responses['503'].headers).to.have.property('Retry-After');
    const page = list.responses['200'].content['application/hal+json'].schema;
    expect(page.properties._embedded.properties.accountList.items).to.deep.equal({ $ref: '#/components/schemas/Account' });
    expect(doc.components.schemas.Account.properties._links.properties.self).to.deep.equal({ $ref: '#/components/schemas/HalLink' });
  });

  it('describes requests with the schemas that validate them (a request it refuses, the server refuses)', () => {
    const contract = new ApiContract(doc);
    const profile = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' };
    expect(contract.requestProblems('POST', '/v1/accounts', {}, profile, false)).to.equal(undefined);
    expect(contract.requestProblems('POST', '/v1/accounts', {}, { ...profile, status: 'ACCOUNT_ACTIVE' }, false)).to.match(/additional properties/);
    expect(contract.requestProblems('POST', '/v1/accounts', {}, { ...profile, email: 'not-an-email' }, false)).to.match(/email/);
    expect(contract.requestProblems('GET', '/v1/accounts?size=201', {}, undefined, false)).to.match(/size/);
    expect(contract.requestProblems('POST', '/v1/orders', {}, { lineItems: [] }, false)).to.match(/lineItems|accountId/);
  });

  it('maps Koa paths to OpenAPI paths', () => {
    expect(openApiPath('/v1/accounts/:id/events/:eventId')).to.equal('/v1/accounts/{id}/events/{eventId}');
  });
});

describe('the API document of a context from outside the repository', () => {
  it('lists its declared routes from their schemas alone, and names the routes it cannot describe', async () => {
    const { document, undeclared } = generateApiDocument({ contexts: ['catalog'], contextsDirs: [FIXTURES] });
    const doc = document as Json;
    const op = doc.paths['/v1/catalog/greetings'].post;
    expect(op.operationId).to.equal('greetCatalog');
    expect(op.tags).to.deep.equal(['catalog']);
    expect(op.requestBody.content['application/json'].schema.required).to.deep.equal(['name']);
    expect(op.responses['200'].content['application/hal+json'].schema).to.deep.equal({ $ref: '#/components/schemas/CatalogGreeting' });
    expect(doc.paths).not.to.have.property('/v1/catalog/legacy');
    expect(undeclared).to.deep.equal(['GET /v1/catalog/legacy']);
    expect((await validateOpenApi(doc)).valid).to.equal(true);
  });

  it('is reported at start-up: one warning line naming the method and path of a route without schemas', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const plugins = loadContexts(['catalog'], [FIXTURES]);
    createWebApp(offlineServices(plugins, {}, pino({ level: 'warn' }, sink)), plugins, () => 'running');
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(warnings).to.have.length(1);
    expect(warnings[0].level).to.equal(40);
    expect(warnings[0].msg).to.include('GET /v1/catalog/legacy');
  });
});
