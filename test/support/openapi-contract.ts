/**
 * Checks HTTP exchanges against the API document: the response's status, content type and
 * body (ajv 8, JSON Schema 2020-12, with formats), and whether the document accepts the
 * request. The end-to-end HTTP helper (`e2e-http.ts`) runs every exchange through it.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { generateApiDocument } from '../../runtime/http/openapi/generate';

type Json = Record<string, any>;

const DOC_ID = 'https://tributary.invalid/openapi.json';

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  params: string[];
  /** Templated segments: the fewer, the more specific the path. */
  specificity: number;
  op: Json;
}

/** `~` and `/` escaped for a JSON pointer. */
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

const stripParams = (contentType: string) => contentType.split(';')[0].trim().toLowerCase();

export class ApiContract {
  private readonly ajv: Ajv2020;
  private readonly operations: Operation[] = [];
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly document: Json) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema(document, DOC_ID);
    for (const [template, item] of Object.entries(document.paths as Json)) {
      const params: string[] = [];
      const regex = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => (params.push(name), '([^/]+)'))}/?$`);
      for (const [method, op] of Object.entries(item as Json)) {
        this.operations.push({ method: method.toUpperCase(), template, regex, params, specificity: params.length, op: op as Json });
      }
    }
    this.operations.sort((a, b) => a.specificity - b.specificity);
  }

  /** The operation the document has for this method and path (without query), if any. */
  find(method: string, path: string): { operation: Operation; params: Record<string, string> } | undefined {
    for (const operation of this.operations) {
      if (operation.method !== method.toUpperCase()) continue;
      const m = operation.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      operation.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])));
      return { operation, params };
    }
    return undefined;
  }

  private validator(ref: string): ValidateFunction {
    let v = this.compiled.get(ref);
    if (!v) {
      v = this.ajv.compile({ $ref: `${DOC_ID}#${ref}` });
      this.compiled.set(ref, v);
    }
    return v;
  }

  private check(ref: string, value: unknown): string | undefined {
    const v = this.validator(ref);
    if (v(value)) return undefined;
    return this.ajv.errorsText(v.errors, { separator: '; ' });
  }

  /**
   * What is wrong with a response, or undefined when the document describes it: its status
   * must be documented for the operation, its content type one of the documented ones, and
   * its body valid against that schema. A path the document does not have may only be
   * answered with a problem (404, 405).
   */
  responseProblems(method: string, url: string, status: number, contentType: string, body: unknown): string | undefined {
    const path = new URL(url, 'http://x').pathname;
    const found = this.find(method, path);
    const type = stripParams(contentType);
    if (!found) {
      if (status !== 404 && status !== 405) return `${method} ${path} is not in the API document, yet answered ${status}`;
      if (type !== 'application/problem+json') return `${method} ${path} answered ${status} as ${type}, not application/problem+json`;
      return this.check('/components/schemas/Problem', body);
    }
    const { template } = found.operation;
    const responses = found.operation.op.responses as Json;
    const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
    if (!key) return `${method} ${template} answered ${status}, a status the document does not list (${Object.keys(responses).join(', ')})`;
    const content = responses[key].content as Json | undefined;
    if (!content) return body === '' || body === undefined ? undefined : `${method} ${template} ${status} has a body the document does not declare`;
    // A documented media type may carry parameters (`text/plain; version=0.0.4`): compare without them.
    const media = type in content ? type : (Object.keys(content).find((k) => stripParams(k) === type) ?? ('*/*' in content ? '*/*' : undefined));
    if (!media) return `${method} ${template} ${status} answered ${type || 'no content type'}, not ${Object.keys(content).join(' or ')}`;
    if (content[media].schema === undefined) return undefined; // a file: its media type is all the document says
    const problems = this.check(`/${pointer('paths', template, found.operation.method.toLowerCase(), 'responses', key, 'content', media, 'schema')}`, body);
    return problems && `${method} ${template} ${status} ${media}: ${problems}`;
  }

  /** Whether the URL has query parameters the operation does not declare (a command's query input). */
  hasUndeclaredQuery(method: string, url: string): boolean {
    const u = new URL(url, 'http://x');
    const found = this.find(method, u.pathname);
    if (!found) return false;
    const declared = new Set(((found.operation.op.parameters ?? []) as Json[]).filter((p) => p.in === 'query').map((p) => p.name as string));
    return [...u.searchParams.keys()].some((k) => !declared.has(k));
  }

  /**
   * Why the document refuses a request (path parameters, query, headers, JSON body), or
   * undefined when it accepts it. Undefined too when the document has no such operation.
   */
  requestProblems(method: string, url: string, headers: Record<string, string>, body: unknown, rawBody: boolean): string | undefined {
    const u = new URL(url, 'http://x');
    const found = this.find(method, u.pathname);
    if (!found) return undefined;
    const { op, template } = found.operation;
    const base = pointer('paths', template, found.operation.method.toLowerCase());
    const issues: string[] = [];
    (op.parameters as Json[] | undefined)?.forEach((p, i) => {
      const raw =
        p.in === 'path' ? found.params[p.name] : p.in === 'query' ? u.searchParams.get(p.name) ?? undefined : headerOf(headers, p.name as string);
      if (raw === undefined) {
        if (p.required) issues.push(`${p.in} parameter ${p.name} is required`);
        return;
      }
      const problems = this.check(`/${base}/parameters/${i}/schema`, coerce(raw, p.schema as Json));
      if (problems) issues.push(`${p.in} parameter ${p.name}: ${problems}`);
    });
    const requestBody = op.requestBody as Json | undefined;
    if (body === undefined) {
      if (requestBody?.required) issues.push('the request body is required');
    } else if (rawBody) {
      // A body that is not JSON (or not parseable) is never what the document describes.
      try {
        const parsed = JSON.parse(String(body));
        if (requestBody) {
          const problems = this.check(`/${base}/requestBody/content/application~1json/schema`, parsed);
          if (problems) issues.push(`body: ${problems}`);
        }
      } catch {
        issues.push('the body is not JSON');
      }
    } else if (requestBody) {
      const problems = this.check(`/${base}/requestBody/content/application~1json/schema`, body);
      if (problems) issues.push(`body: ${problems}`);
    }
    return issues.length ? issues.join('; ') : undefined;
  }
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

/** A query or path value as OpenAPI reads it for the parameter's type (form style, one value). */
function coerce(raw: string, schema: Json): unknown {
  const types = ([] as unknown[]).concat(schema.type ?? []);
  if ((types.includes('integer') || types.includes('number')) && raw.trim() !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

let shared: ApiContract | undefined;

/**
 * The contract of a web role with every bundled context (the document `npm run openapi`
 * writes), generated from the code, built once per test process.
 */
export function apiContract(): ApiContract {
  return (shared ??= new ApiContract(generateApiDocument().document));
}
