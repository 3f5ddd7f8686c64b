import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROBLEM_JSON, problem } from '../http/problem';
import type { FunctionDefinition } from './define';
import { IDEMPOTENCY_KEY_HEADER } from './http-call';


const MAX_BODY = 1024 * 1024;

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json') {
  res.writeHead(status, { 'content-type': type });
  res.end(JSON.stringify(body));
}

const refuse = (res: http.ServerResponse, status: number, slug: string, detail: string) => send(res, status, problem(status, slug, detail), PROBLEM_JSON);

/**
 * The HTTP side of `http` mode: `POST /<name>` runs that function's handler on the JSON body
 * and answers its output as JSON. The `Idempotency-Key` header is required and handed to the
 * handler, which is idempotent by it; concurrent requests with the same key share one run. A
 * body that is not the function's input is a 400 problem (never retried by the dispatcher); a
 * handler that throws is a 500 (retried).
 */
export function functionRequestHandler(functions: readonly FunctionDefinition<unknown, unknown>[]): http.RequestListener {
  const byName = new Map(functions.map((f) => [f.name, f]));
  const running = new Map<string, Promise<unknown>>();
  return (req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0].slice(1));
    const fn = byName.get(name);
    if (!fn) return refuse(res, 404, 'not-found', `no function ${JSON.stringify(name)} here`);
    if (req.method !== 'POST') return refuse(res, 405, 'method-not-allowed', 'functions are called with POST');
    const key = req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()];
    if (typeof key !== 'string' || !key.trim() || key.length > 200) return refuse(res, 400, 'validation', `${IDEMPOTENCY_KEY_HEADER} is required (1..200 characters)`);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return refuse(res, 413, 'too-large', `the body is larger than ${MAX_BODY} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return refuse(res, 400, 'validation', 'the body must be JSON');
      }
      const input = fn.input.safeParse(body);
      if (!input.success) return refuse(res, 400, 'validation', input.error.issues[0].message);
      // The caller's deadline: when it gives up (closes the connection), the handler is told to stop.
      const aborted = new AbortController();
      res.on('close', () => {
        if (!res.writableEnded) aborted.abort();
      });
      const runKey = `${name}\u0000${key}`;
      let run = running.get(runKey);
      if (!run) {
        run = fn.handler(input.data, { idempotencyKey: key, attempt: 1, signal: aborted.signal }).finally(() => running.delete(runKey));
        running.set(runKey, run);
      }
      // A caller that gave up has closed the connection: nobody to answer.
      run.then(
        (output) => {
          if (!res.destroyed) send(res, 200, output);
        },
        (err: Error) => {
          if (!res.destroyed) refuse(res, 500, 'function-failed', err.message);
        },
      );
    });
  };
}

export interface FunctionServer {
  /** Base URL: a function's endpoint is `${url}/${name}`. */
  url: string;
  close(): Promise<void>;
}

/** Serves functions over HTTP on `port` (0: any free port) until closed. */
export async function serveFunctions(functions: readonly FunctionDefinition<unknown, unknown>[], options: { port?: number; host?: string } = {}): Promise<FunctionServer> {
  const server = http.createServer(functionRequestHandler(functions));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
