/**
 * The payment gateway, behind one interface: the charge job talks to this and nothing else.
 * A gateway must be idempotent by payment id: charging the same payment again returns the
 * first result and never charges twice (the job may run again after a crash or a timeout).
 */
export interface ChargeRequest {
  paymentId: string;
  /** Currency units with 2 decimals. */
  amount: number;
}

export type ChargeResult = { approved: true; chargeId: string } | { approved: false; reason: string };

export interface PaymentGateway {
  /**
   * Charges the payment once. A decline is a result, not an error; an error (thrown, or a
   * timeout) means "unknown, ask again". `signal` aborts a call the caller gave up on.
   */
  charge(request: ChargeRequest, signal?: AbortSignal): Promise<ChargeResult>;
  /**
   * The result the gateway holds for this payment id, without charging: undefined if it was
   * never charged. Reconciliation after a crash between an approval and its recording.
   */
  lookup(paymentId: string, signal?: AbortSignal): Promise<ChargeResult | undefined>;
  /** Gives an approved charge back; refunding it again is a no-op. */
  refund(chargeId: string, signal?: AbortSignal): Promise<void>;
}

/** The gateway did not answer in time: retried like any other gateway error. */
export class GatewayTimeoutError extends Error {
  override readonly name = 'GatewayTimeoutError';
}

/**
 * Runs one gateway call with a deadline, whatever the gateway: past `ms` the call is aborted
 * and a {@link GatewayTimeoutError} thrown.
 */
export async function withTimeout<T>(ms: number, what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Reject first, so the race settles with the timeout rather than the aborted call's own error.
      reject(new GatewayTimeoutError(`payment gateway did not answer ${what} within ${ms} ms`));
      controller.abort();
    }, ms);
  });
  try {
    return await Promise.race([call(controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
