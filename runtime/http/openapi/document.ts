import type { ZodType } from 'zod';
import { HAL_JSON } from '../hal';
import { PROBLEM_JSON } from '../problem';
import { ownerOf, type RouteSpec, type ResponseSpec } from '../route-spec';
import { problemSchema } from './schemas';
import { RATE_LIMIT_EXEMPT } from '../rate-limit';
import { SchemaSet, type JsonSchema } from './json-schemas';

export interface DocumentInfo {
  title: string;
  version: string;
  description?: string;
}

/** The answers any route can give, added where a route does not declare them itself. */
const COMMON: Record<number, { description: string; applies: (s: RouteSpec) => boolean; headers?: Record<string, string> }> = {
  // Any route: a query parameter given twice, or a NUL or lone surrogate in the path or query, is refused before routing.
  400: {
    description: 'The request is invalid: a parameter, header or body the schema refuses, malformed JSON, a query parameter given twice, or a NUL character or lone surrogate anywhere (`errors` lists the fields)',
    applies: () => true,
  },
  401: {
    description: 'No credential, or one that is malformed, unknown, revoked or expired (docs/security.md)',
    applies: (s) => s.scope !== 'public',
    headers: { 'WWW-Authenticate': 'Bearer realm="tributary" (with error="invalid_token" when a credential was refused)' },
  },
  403: {
    description: 'The credential lacks the scope this operation needs (x-scope), or is bound to one account and this operation is not per account',
    applies: (s) => s.scope !== 'public',
    headers: { 'WWW-Authenticate': 'Bearer realm="tributary", error="insufficient_scope", scope="<the scope needed>"' },
  },
  404: { description: 'No resource with that id', applies: (s) => s.path.includes(':') },
  413: { description: 'The request body is larger than the limit (HTTP_BODY_LIMIT_BYTES)', applies: hasBody },
  415: { description: 'The request body is not JSON (`application/json` or `application/*+json`)', applies: hasBody },
  429: {
    description: 'Over the request quota of this client (RATE_LIMIT_POINTS per RATE_LIMIT_DURATION_S, per credential or per address): try again after Retry-After seconds',
    applies: (s) => !RATE_LIMIT_EXEMPT.has(s.path),
    headers: { 'Retry-After': 'Seconds to wait before trying again' },
  },
  500: { description: 'An unexpected error (logged by the server)', applies: () => true },
  503: {
    description: 'Postgres or Redis is not answering, or the request outlived its time: try again after Retry-After seconds',
    applies: () => true,
    headers: { 'Retry-After': 'Seconds to wait before trying again' },
  },
};

/** How credentials are presented (docs/security.md); each operation's `security` names its scope. */
const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (trb_<keyId>_<secret>, `tributary keys create`) or a JWT from the configured issuer. Scopes: read, write, ops.',
  },
  cookieAuth: {
    type: 'apiKey',
    in: 'cookie',
    name: 'tributary_session',
    description: 'The console\'s session (POST /v1/auth/session). Requests other than GET must also send X-Requested-With: tributary-console.',
  },
};

function hasBody(s: RouteSpec): boolean {
  return s.method === 'post' || s.method === 'put';
}

/** Koa's `/v1/accounts/:id` is OpenAPI's `/v1/accounts/{id}`. */
export const openApiPath = (koaPath: string): string => koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** A zod `.optional()` wrapper around the body: the body may be left out. */
function unwrapOptional(schema: ZodType): { schema: ZodType; optional: boolean } {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: ZodType } } })._zod.def;
  return def.type === 'optional' && def.innerType ? { schema: def.innerType, optional: true } : { schema, optional: false };
}

/** What a schema lets through when nothing is sent: then the part it describes is optional. */
const acceptsUndefined = (schema: ZodType): boolean => schema.safeParse(undefined).success;

/**
 * The OpenAPI 3.1 document of `specs`: every route's parameters, request body and responses,
 * converted from the same zod schemas the routes validate with (requests as zod's input type,
 * responses as its output type), with the problem answers every route can give.
 */
export function buildDocument(specs: readonly RouteSpec[], info: DocumentInfo): Record<string, unknown> {
  checkUnique(specs);
  const inputs = new SchemaSet('input');
  const outputs = new SchemaSet('output');
  const problemKey = outputs.add(problemSchema, 'Problem');

  // First pass: register every schema, so one conversion sees all of them (shared shapes become components).
  const planned = specs.map((spec) => {
    const id = spec.operationId;
    const params = spec.params && inputs.add(spec.params, `${id}Params`);
    const query = spec.query && inputs.add(spec.query, `${id}Query`);
    const headers = Object.entries(spec.headers ?? {}).map(([name, schema]) => ({ name, schema, key: inputs.add(schema, `${id}Header${name.replace(/[^A-Za-z0-9]/g, '')}`) }));
    const body = spec.body && { ...unwrapOptional(spec.body), key: '' };
    if (body) body.key = inputs.add(body.schema, `${id}Body`);
    const responses = Object.entries(spec.responses).map(([status, r]) => ({ status: Number(status), r, key: r.schema && outputs.add(r.schema, `${id}Response${status}`) }));
    return { spec, params, query, headers, body, responses };
  });
  const input = inputs.emit();
  const output = outputs.emit();
  const components = mergeComponents(output.components, input.components);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const p of planned) {
    const { spec } = p;
    const parameters: unknown[] = [];
    if (p.params) parameters.push(...objectParameters(resolve(components.renameInput(input.top(p.params)), components.input), 'path'));
    if (p.query) parameters.push(...objectParameters(resolve(components.renameInput(input.top(p.query)), components.input), 'query'));
    for (const h of p.headers) {
      parameters.push({ name: h.name, in: 'header', required: !acceptsUndefined(h.schema), schema: withoutDescription(components.renameInput(input.top(h.key))), ...described(resolve(input.top(h.key), components.input)) });
    }
    const responses: Record<string, unknown> = {};
    for (const { status, r, key } of p.responses) responses[status] = response(status, r, key ? output.top(key) : output.top(problemKey));
    for (const [status, common] of Object.entries(COMMON)) {
      if (!(status in responses) && common.applies(spec)) responses[status] = response(Number(status), { description: common.description, headers: common.headers }, output.top(problemKey));
    }
    const operation: Record<string, unknown> = {
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: spec.tags ?? [ownerOf(spec) ?? 'runtime'],
      'x-scope': spec.scope,
      ...(spec.perAccount ? { 'x-per-account': true } : {}),
      // Public operations need nothing; the others take an API key or a JWT as a bearer token, or the console's cookie.
      security: spec.scope === 'public' ? [] : [{ bearerAuth: [spec.scope] }, { cookieAuth: [spec.scope] }],
      ...(parameters.length ? { parameters } : {}),
      ...(p.body
        ? { requestBody: { required: !p.body.optional && !acceptsUndefined(p.body.schema), content: { 'application/json': { schema: components.renameInput(input.top(p.body.key)) } } } }
        : {}),
      responses,
    };
    (paths[openApiPath(spec.path)] ??= {})[spec.method] = operation;
  }

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    servers: [{ url: '/', description: 'The web role that serves this document' }],
    paths: sortKeys(paths),
    components: { schemas: sortKeys(components.all), securitySchemes: SECURITY_SCHEMES },
  };
}

/** One response object: its body (problem+json for errors unless the route says otherwise) and headers. */
function response(status: number, r: ResponseSpec, schema: JsonSchema): Record<string, unknown> {
  const hasSchema = r.schema !== undefined || status >= 400;
  const contentType = r.contentType ?? (status >= 400 ? PROBLEM_JSON : HAL_JSON);
  return {
    description: r.description,
    ...(r.headers
      ? { headers: Object.fromEntries(Object.entries(r.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) }
      : {}),
    // A declared media type without a schema (files): the type alone.
    ...(hasSchema ? { content: { [contentType]: { schema } } } : r.contentType ? { content: { [contentType]: {} } } : {}),
  };
}

/** The properties of an object schema as parameters of one location. */
function objectParameters(schema: JsonSchema, location: 'path' | 'query'): unknown[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    ...described(s),
    schema: withoutDescription(s),
  }));
}

const described = (s: JsonSchema) => (typeof s.description === 'string' ? { description: s.description } : {});
function withoutDescription(s: JsonSchema): JsonSchema {
  const { description: _d, ...rest } = s;
  return rest;
}

/** Follows a `$ref` to a component (parameters are listed one by one, so the object is needed). */
function resolve(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const ref = schema.$ref;
  return typeof ref === 'string' ? components[ref.replace('#/components/schemas/', '')] ?? schema : schema;
}

/**
 * One `components/schemas` for both directions. A shape used in requests and responses alike
 * is one component; where zod's input and output differ (defaults, transforms) the request's
 * one is named `<id>Input`.
 */
function mergeComponents(outputs: Record<string, JsonSchema>, inputs: Record<string, JsonSchema>) {
  const renames = new Map<string, string>();
  for (const [id, s] of Object.entries(inputs)) {
    if (id in outputs && JSON.stringify(outputs[id]) !== JSON.stringify(s)) renames.set(id, `${id}Input`);
  }
  const rename = (id: string) => renames.get(id) ?? id;
  const renamedInputs: Record<string, JsonSchema> = {};
  for (const [id, s] of Object.entries(inputs)) renamedInputs[rename(id)] = renameRefsIn(s, rename);
  return {
    all: { ...outputs, ...renamedInputs },
    input: renamedInputs,
    renameInput: (s: JsonSchema) => renameRefsIn(s, rename),
  };
}

function renameRefsIn(s: JsonSchema, rename: (id: string) => string): JsonSchema {
  const text = JSON.stringify(s).replace(/"\$ref":"#\/components\/schemas\/([^"]+)"/g, (_m, id: string) => `"$ref":"#/components/schemas/${rename(id)}"`);
  return JSON.parse(text) as JsonSchema;
}

/** Two routes with one operationId, or one method and path twice, are a mistake of the code: say which. */
function checkUnique(specs: readonly RouteSpec[]): void {
  const ids = new Map<string, RouteSpec>();
  const routes = new Set<string>();
  for (const s of specs) {
    const other = ids.get(s.operationId);
    if (other) throw new Error(`operationId ${s.operationId} is declared twice: ${other.method.toUpperCase()} ${other.path} and ${s.method.toUpperCase()} ${s.path}`);
    ids.set(s.operationId, s);
    const key = `${s.method.toUpperCase()} ${openApiPath(s.path)}`;
    if (routes.has(key)) throw new Error(`${key} is declared twice`);
    routes.add(key);
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
