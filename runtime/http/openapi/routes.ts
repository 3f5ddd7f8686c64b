import type Router from '@koa/router';
import { z } from 'zod';
import type { ContextPlugin } from '../../context';
import { declaredRoutes, route } from '../route-spec';
import { apiDocument } from './api-document';
import { docsIndexHtml, docsInitializerJs, readSwaggerUiFile, SWAGGER_UI_FILES } from './swagger-ui';

/** The media type the document is served with: plain JSON, which every client and Swagger UI read. */
export const OPENAPI_JSON = 'application/json';

/**
 * `GET /v1/openapi.json` (the API document, built from every route declared on `router` the
 * first time it is asked for, when every context has mounted its routes) and `GET /v1/docs`
 * (Swagger UI, served from the `swagger-ui-dist` package: no CDN, works offline).
 */
export function mountOpenApi(router: Router, plugins: ContextPlugin[]): void {
  let document: Record<string, unknown> | undefined;
  const tags = ['API document'];

  route(router, {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This document: the OpenAPI 3.1 description of every route this web role serves',
    tags,
    scope: 'public',
    responses: {
      200: {
        description: 'The OpenAPI document',
        contentType: OPENAPI_JSON,
        schema: z.object({ openapi: z.string(), info: z.object({ title: z.string(), version: z.string() }).loose(), paths: z.record(z.string(), z.unknown()) }).loose(),
      },
    },
  }, (ctx) => {
    document ??= apiDocument(declaredRoutes(router), plugins);
    ctx.type = OPENAPI_JSON;
    ctx.body = document;
  });

  route(router, {
    method: 'get',
    path: '/v1/docs',
    operationId: 'getApiReference',
    summary: 'The API reference: Swagger UI over /v1/openapi.json',
    tags,
    scope: 'public',
    responses: { 200: { description: 'The reference page', contentType: 'text/html', schema: z.string() } },
  }, (ctx) => {
    ctx.type = 'text/html';
    ctx.body = docsIndexHtml();
  });

  route(router, {
    method: 'get',
    path: '/v1/docs/:file',
    operationId: 'getApiReferenceAsset',
    summary: "Swagger UI's files (scripts, styles, icons) for the reference page",
    tags,
    scope: 'public',
    params: z.object({ file: z.string().describe(`One of ${[...SWAGGER_UI_FILES.keys(), 'swagger-initializer.js'].join(', ')}; anything else is answered 404`) }),
    responses: {
      200: { description: 'The file (JavaScript, CSS or PNG)', contentType: '*/*' },
      404: { description: 'Not one of the reference page\'s files' },
    },
  }, async (ctx, next) => {
    const { file } = ctx.params;
    if (file === 'swagger-initializer.js') {
      ctx.type = 'application/javascript';
      ctx.body = docsInitializerJs();
      return;
    }
    const found = await readSwaggerUiFile(file);
    if (!found) return next(); // the error handler answers 404
    ctx.type = found.type;
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = found.content;
  });
}
