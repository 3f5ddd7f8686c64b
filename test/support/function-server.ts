/**
 * A function server for end-to-end tests: serves the payments context's `chargePayment`
 * (the bundled gateway simulator, on the deployment's database, so the ledger it writes is the
 * one the payments context reads) through the runtime's own `functionRequestHandler`, with
 * faults a test chooses: answer 503 a few times, or never answer. It records every request's
 * Idempotency-Key.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDb, type Db } from '../../runtime/store/database';
import { functionRequestHandler, IDEMPOTENCY_KEY_HEADER } from '../../runtime/functions';
import { CHARGE_PAYMENT, chargePayment } from '../../contexts/payments/charge-function';
import { GatewaySimulator } from '../../contexts/payments/gateway-simulator';
import { loadPaymentsConfig } from '../../contexts/payments/config';

/** What the server does with the n-th request (1-based) of one idempotency key. */
export type Fault = (n: number) => 'pass' | 'hang' | number;

export const passes: Fault = () => 'pass';
/** 503 for the first `times` requests of a key, then the function runs. */
export const failsFirst = (times: number): Fault => (n) => (n <= times ? 503 : 'pass');
/** Never answers: the caller's deadline must end every request. */
export const hangs: Fault = () => 'hang';

export interface ChargeFunctionServer {
  /** The chargePayment endpoint, for FUNCTIONS' url. */
  url: string;
  /** Idempotency-Key of every request received, in order. */
  keys: string[];
  /** The fault for keys first seen from now on (a key keeps the fault it was first seen with). */
  behave(fault: Fault): void;
  close(): Promise<void>;
}

export async function startChargeFunctionServer(databaseUrl: string): Promise<ChargeFunctionServer> {
  const db: Db = createDb(databaseUrl, 2);
  const gateway = new GatewaySimulator(db, { latencyMs: 0, declineRate: 0 });
  const serve = functionRequestHandler([chargePayment(gateway, loadPaymentsConfig({}))]);
  const keys: string[] = [];
  const faultOf = new Map<string, Fault>();
  let current: Fault = passes;
  const server = http.createServer((req, res) => {
    const key = String(req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()] ?? '');
    keys.push(key);
    if (!faultOf.has(key)) faultOf.set(key, current);
    const fault = faultOf.get(key)!(keys.filter((k) => k === key).length);
    if (fault === 'hang') return; // closed by the caller's abort, or by close()
    if (typeof fault === 'number') {
      res.writeHead(fault, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ status: fault, title: 'injected fault' }));
      return;
    }
    serve(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${CHARGE_PAYMENT}`,
    keys,
    behave(fault) {
      current = fault;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    },
  };
}
