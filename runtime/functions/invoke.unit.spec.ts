/**
 * The function dispatcher against a real HTTP server in this process: retries with backoff on
 * 5xx, timeouts and refused connections, none on 4xx; one Idempotency-Key for every attempt;
 * the deadline aborts an attempt; in-process modes; answers checked against the output schema;
 * the FUNCTIONS setting.
 */
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { defineFunction, type FunctionCall } from './define';
import { FunctionError, FunctionTimeoutError, FunctionUnavailableError } from './errors';
import { invokeFunction } from './invoke';
import { functionRequestHandler } from './server';
import { functionSettings, parseFunctions, type FunctionSettings } from './settings';
import { loadConfig } from '../config';
import { unboundFunctions } from './unbound';

interface Seen {
  key: string | undefined;
  body: unknown;
  at: number;
}

/** A server whose i-th request (0-based) is answered by `answers[i]` (the last one repeats). */
async function scriptedServer(answers: ({ status: number; body?: unknown } | 'hang')[]) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString()), at: Date.now() });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)];
      if (answer === 'hang') return; // never answers: the caller's deadline must end it
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/double`;
  return {
    url,
    seen,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const calls: FunctionCall[] = [];
const double = defineFunction<{ n: number }, { doubled: number }>({
  name: 'double',
  input: z.object({ n: z.number() }),
  output: z.object({ doubled: z.number() }),
  handler: async ({ n }, call) => {
    calls.push(call);
    return { doubled: n * 2 };
  },
  defaults: { mode: 'inline', timeoutMs: 1_000, attempts: 3, backoffMs: 10 },
});

const http3 = (url: string, extra: Partial<FunctionSettings> = {}): FunctionSettings => ({ mode: 'http', url, timeoutMs: 500, attempts: 3, backoffMs: 20, ...extra });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('function dispatcher (runtime/functions)', () => {
  beforeEach(() => {
    calls.length = 0;
  });

  describe('http mode', () => {
    it('POSTs the input as JSON with the Idempotency-Key and returns the answer', async () => {
      const server = await scriptedServer([{ status: 200, body: { doubled: 42 } }]);
      try {
        const answer = await invokeFunction(double, { n: 21 }, { idempotencyKey: 'k-1', settings: http3(server.url) });
        expect(answer).to.deep.equal({ doubled: 42 });
        expect(server.seen).to.deep.include.members([{ ...server.seen[0], key: 'k-1', body: { n: 21 } }]);
        expect(calls, 'the handler does not run in this process').to.have.length(0);
      } finally {
        await server.close();
      }
    });

    it('retries 5xx with doubling backoff, sending the same Idempotency-Key every time', async () => {
      const server = await scriptedServer([{ status: 503 }, { status: 500 }, { status: 200, body: { doubled: 4 } }]);
      try {
        expect(await invokeFunction(double, { n: 2 }, { idempotencyKey: 'same', settings: http3(server.url, { backoffMs: 50 }) })).to.deep.equal({ doubled: 4 });
        expect(server.seen.map((s) => s.key)).to.deep.equal(['same', 'same', 'same']);
        const gaps = [server.seen[1].at - server.seen[0].at, server.seen[2].at - server.seen[1].at];
        expect(gaps[0]).to.be.at.least(45);
        expect(gaps[1]).to.be.at.least(95);
      } finally {
        await server.close();
      }
    });

    it('gives up after its attempts with FunctionUnavailableError naming the last failure', async () => {
      const server = await scriptedServer([{ status: 502 }]);
      try {
        const err = await rejection(invokeFunction(double, { n: 1 }, { idempotencyKey: 'k', settings: http3(server.url) }));
        expect(err).to.be.instanceOf(FunctionUnavailableError);
        expect((err as Error).message).to.match(/failed 3 time\(s\).*502/);
        expect(server.seen).to.have.length(3);
      } finally {
        await server.close();
      }
    });

    it('never retries a 4xx: the function refused the input', async () => {
      const server = await scriptedServer([{ status: 422, body: { detail: 'no' } }, { status: 200, body: { doubled: 2 } }]);
      try {
        const err = await rejection(invokeFunction(double, { n: 1 }, { idempotencyKey: 'k', settings: http3(server.url) }));
        expect(err).to.be.instanceOf(FunctionError);
        expect((err as FunctionError).retryable).to.equal(false);
        expect((err as FunctionError).status).to.equal(422);
        expect(server.seen).to.have.length(1);
      } finally {
        await server.close();
      }
    });

    it('aborts an attempt at its deadline and retries it', async () => {
      const server = await scriptedServer(['hang', { status: 200, body: { doubled: 6 } }]);
      try {
        const started = Date.now();
        expect(await invokeFunction(double, { n: 3 }, { idempotencyKey: 'slow', settings: http3(server.url, { timeoutMs: 150 }) })).to.deep.equal({ doubled: 6 });
        expect(Date.now() - started).to.be.within(150, 2_000);
        expect(server.seen.map((s) => s.key)).to.deep.equal(['slow', 'slow']);
      } finally {
        await server.close();
      }
    });

    it('times out every attempt of a server that never answers', async () => {
      const server = await scriptedServer(['hang']);
      try {
        const err = await rejection(invokeFunction(double, { n: 3 }, { idempotencyKey: 'k', settings: http3(server.url, { timeoutMs: 80, attempts: 2 }) }));
        expect(err).to.be.instanceOf(FunctionUnavailableError);
        expect((err as FunctionUnavailableError).last).to.be.instanceOf(FunctionTimeoutError);
        expect(server.seen).to.have.length(2);
      } finally {
        await server.close();
      }
    });

    it('retries a refused connection', async () => {
      const server = await scriptedServer([{ status: 200 }]);
      await server.close(); // nothing listens on its port any more
      const err = await rejection(invokeFunction(double, { n: 1 }, { idempotencyKey: 'k', settings: http3(server.url, { attempts: 2 }) }));
      expect(err).to.be.instanceOf(FunctionUnavailableError);
      expect((err as Error).message).to.match(/failed 2 time\(s\).*unreachable/);
    });

    it('refuses an answer that is not the function output, without retrying', async () => {
      const server = await scriptedServer([{ status: 200, body: { doubled: 'four' } }]);
      try {
        const err = await rejection(invokeFunction(double, { n: 2 }, { idempotencyKey: 'k', settings: http3(server.url) }));
        expect(err).to.be.instanceOf(FunctionError);
        expect((err as FunctionError).retryable).to.equal(false);
        expect(server.seen).to.have.length(1);
      } finally {
        await server.close();
      }
    });

    it('is served by functionRequestHandler: input validated (400), one run per key at a time', async () => {
      let runs = 0;
      const slowDouble = { ...double, handler: async ({ n }: { n: number }) => { runs++; await new Promise((r) => setTimeout(r, 100)); return { doubled: n * 2 }; } };
      const server = http.createServer(functionRequestHandler([slowDouble]));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/double`;
      try {
        const both = await Promise.all([1, 2].map(() => invokeFunction(double, { n: 5 }, { idempotencyKey: 'dup', settings: http3(url) })));
        expect(both).to.deep.equal([{ doubled: 10 }, { doubled: 10 }]);
        expect(runs, 'concurrent requests with one key share one run').to.equal(1);
        const bad = await rejection(invokeFunction(double, { n: 'x' } as unknown as { n: number }, { idempotencyKey: 'k', settings: http3(url) }));
        expect((bad as FunctionError).status).to.equal(400);
        const res = await fetch(url, { method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' } });
        expect(res.status, 'no Idempotency-Key').to.equal(400);
        expect(res.headers.get('content-type')).to.equal('application/problem+json');
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });
    it('serves a handler that throws as a 500, which the dispatcher retries; a caller that gives up aborts the handler', async () => {
      let runs = 0;
      let aborted = 0;
      const broken = { ...double, handler: async () => { runs++; throw new Error('db down'); } };
      const stuck = { ...double, name: 'stuck', handler: (_: { n: number }, call: FunctionCall) => new Promise<{ doubled: number }>(() => call.signal.addEventListener('abort', () => aborted++)) };
      const server = http.createServer(functionRequestHandler([broken, stuck]));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const err = await rejection(invokeFunction(double, { n: 1 }, { idempotencyKey: 'k', settings: http3(`${base}/double`, { attempts: 2 }) }));
        expect((err as FunctionUnavailableError).last).to.be.instanceOf(FunctionError);
        expect(((err as FunctionUnavailableError).last as FunctionError).status).to.equal(500);
        expect(runs).to.equal(2);
        await rejection(invokeFunction(double, { n: 1 }, { idempotencyKey: 'k2', settings: http3(`${base}/stuck`, { attempts: 1, timeoutMs: 50 }) }));
        await new Promise((r) => setTimeout(r, 50));
        expect(aborted, 'the handler heard that its caller left').to.equal(1);
        expect((await fetch(`${base}/nothing`, { method: 'POST' })).status).to.equal(404);
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });
  });

  describe('in-process modes', () => {
    it('inline: runs the handler here with the key, retrying a throw', async () => {
      let failures = 1;
      const flaky = { ...double, handler: async (input: { n: number }, call: FunctionCall) => { calls.push(call); if (failures-- > 0) throw new Error('flaky'); return { doubled: input.n * 2 }; } };
      expect(await invokeFunction(flaky, { n: 4 }, { idempotencyKey: 'in' })).to.deep.equal({ doubled: 8 });
      expect(calls.map((c) => [c.idempotencyKey, c.attempt])).to.deep.equal([['in', 1], ['in', 2]]);
    });

    it('job: one attempt, numbered by the job, its error left to the job to retry', async () => {
      const failing = { ...double, handler: async (_: { n: number }, call: FunctionCall) => { calls.push(call); throw new Error('down'); } };
      const err = await rejection(invokeFunction(failing, { n: 1 }, { idempotencyKey: 'j', jobAttempt: 3, settings: { ...double.defaults, mode: 'job' } }));
      expect((err as Error).message).to.equal('down');
      expect(calls.map((c) => c.attempt)).to.deep.equal([3]);
    });

    it('aborts a handler past its deadline', async () => {
      let aborted = false;
      const stuck = { ...double, handler: (_: { n: number }, call: FunctionCall) => new Promise<{ doubled: number }>(() => call.signal.addEventListener('abort', () => (aborted = true))) };
      const err = await rejection(invokeFunction(stuck, { n: 1 }, { idempotencyKey: 'k', settings: { ...double.defaults, timeoutMs: 50, attempts: 1 } }));
      expect((err as FunctionUnavailableError).last).to.be.instanceOf(FunctionTimeoutError);
      expect(aborted).to.equal(true);
    });
  });

  describe('FUNCTIONS', () => {
    it('overrides a function defaults, field by field', () => {
      const env = { FUNCTIONS: JSON.stringify({ double: { mode: 'http', url: 'http://fn:8080/double', attempts: 7 } }) };
      expect(functionSettings('double', double.defaults, env)).to.deep.equal({ mode: 'http', url: 'http://fn:8080/double', timeoutMs: 1_000, attempts: 7, backoffMs: 10 });
      expect(functionSettings('other', double.defaults, env)).to.deep.equal(double.defaults);
    });

    it('refuses a bad entry with one message naming it, at start-up too', () => {
      expect(() => parseFunctions('{"double":{"mode":"http"}}')).to.throw('double.url: mode http needs a url');
      expect(() => parseFunctions('{"double":{"mode":"lambda"}}')).to.throw(/^double\.mode: /);
      expect(() => parseFunctions('{"double":{"timeoutMs":0}}')).to.throw(/^double\.timeoutMs: /);
      expect(() => parseFunctions('{"double":{"retries":2}}')).to.throw(/^double: /);
      expect(() => parseFunctions('[1]')).to.throw(/JSON object/);
      expect(() => parseFunctions('not json')).to.throw(/JSON object/);
      expect(() => loadConfig({ FUNCTIONS: '{"double":{"mode":"http","url":"ftp://x"}}' })).to.throw(/^Invalid FUNCTIONS=.*double\.url: must be an http\(s\) URL/);
      expect(() => loadConfig({ FUNCTIONS: '{"double":{"mode":"job"}}' })).to.not.throw();
    });

    it('names the entries no loaded context binds (a misspelt name), for the start-up warning', () => {
      const plugins = [{ functions: ['chargePayment'] }, {}];
      expect(unboundFunctions({ FUNCTIONS: '{"chargePaymnet":{"mode":"inline"},"chargePayment":{"mode":"inline"}}' }, plugins)).to.deep.equal(['chargePaymnet']);
      expect(unboundFunctions({}, plugins)).to.deep.equal([]);
    });
  });
});
