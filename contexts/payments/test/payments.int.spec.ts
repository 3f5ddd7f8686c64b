import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Runtime } from '../../../runtime/roles';
import { eventually, messagesTo, startTestRuntime } from '../../../test/support/runtime';
import { ORDERS_COMMANDS_TOPIC, OrderReply } from '../../orders/contract';
import { PAYMENT, PAYMENTS_COMMANDS_TOPIC, PaymentCommand, PaymentStatus as S } from '../contract';
import { PaymentEventType as E, type PaymentContext } from '../payment.machine';
import { CHARGE_QUEUE } from '../charge-queue';
import { GATEWAY_UNAVAILABLE, gatewayFor } from '../charge-job';
import { paymentsConfig } from '../config';
import { checkPaymentInvariants } from '../invariants';

/** Small gateway timeout and retry delays, so the failure paths take seconds, not minutes. */
const PAYMENT_ENV: Record<string, string> = {
  PAYMENT_GATEWAY_TIMEOUT_MS: '300',
  PAYMENT_GATEWAY_LATENCY_MS: '0',
  PAYMENT_DECLINE_RATE: '0',
  PAYMENT_CHARGE_ATTEMPTS: '4',
  PAYMENT_CHARGE_BACKOFF_MS: '100',
};

interface GatewayRow {
  charge_id: string;
  status: string;
  reason: string | null;
  amount: string;
}

describe('payments context (integration: Postgres, Redis, BullMQ)', function () {
  this.timeout(30_000);
  let runtime: Runtime & { url?: string };
  const saved: Record<string, string | undefined> = {};

  const setEnv = (values: Record<string, string>) => {
    for (const [k, v] of Object.entries(values)) {
      if (!(k in saved)) saved[k] = process.env[k];
      process.env[k] = v;
    }
  };

  before(async () => {
    setEnv(PAYMENT_ENV);
    runtime = await startTestRuntime('payments', { CONTEXTS: 'payments' });
  });

  after(async () => {
    await runtime?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** Sends a saga command the way the order saga does: through the outbox, addressed to the payment. */
  async function send(type: string, data: { orderId: string; paymentId: string; amount?: number; reason?: string }, correlationId = data.orderId) {
    const { db, actors } = runtime.services;
    await db.transaction((tx) =>
      actors.send(tx, [{ topic: PAYMENTS_COMMANDS_TOPIC, type, actor: { type: PAYMENT, id: data.paymentId }, data }], {
        correlationId,
        causationId: randomUUID(),
      }),
    );
  }

  /** The replies on orders.commands for one order, in stream order (nobody consumes them here). */
  const replies = (orderId: string) => messagesTo(runtime, ORDERS_COMMANDS_TOPIC, orderId);

  const replyTypes = async (orderId: string) => (await replies(orderId)).map((r) => r.type);

  const untilReplies = (orderId: string, count: number, timeoutMs = 10_000) =>
    eventually(async () => {
      const r = await replies(orderId);
      return r.length >= count && r;
    }, timeoutMs);

  async function gatewayRows(paymentId: string): Promise<GatewayRow[]> {
    const { rows } = await runtime.services.db.raw<{ rows: GatewayRow[] }>(
      'SELECT charge_id, status, reason, amount FROM payment_gateway_charges WHERE payment_id = ?',
      [paymentId],
    );
    return rows;
  }

  const payment = (id: string) => runtime.services.actors.load<PaymentContext>(PAYMENT, id);
  const eventTypes = async (id: string) => (await runtime.services.actors.events(PAYMENT, id)).map((e) => e.type);
  const chargeJob = (paymentId: string) => runtime.services.jobs.queue(CHARGE_QUEUE).getJob(paymentId);
  const ids = () => ({ orderId: randomUUID(), paymentId: randomUUID() });

  it('CREATE_PAYMENT: accepted, then charged once; the payment succeeds', async () => {
    const { orderId, paymentId } = ids();
    const correlationId = randomUUID();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 42.5 }, correlationId);

    const answers = await untilReplies(orderId, 2);
    expect(answers.map((r) => r.type)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_CHARGED]);
    for (const r of answers) {
      expect(r.data).to.deep.equal({ orderId, paymentId });
      expect(r.actor).to.deep.equal({ type: 'order', id: orderId });
      expect(r.correlationId).to.equal(correlationId);
    }

    const state = await payment(paymentId);
    expect(state.status).to.equal(S.PAYMENT_SUCCEEDED);
    expect(await eventTypes(paymentId)).to.deep.equal([E.PAYMENT_CREATED, E.ORDER_CONNECTED, E.PAYMENT_PENDING, E.PAYMENT_PROCESSED, E.PAYMENT_SUCCEEDED]);
    const rows = await gatewayRows(paymentId);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ status: 'approved', amount: '42.50', charge_id: state.context.chargeId });
  });

  it('a re-sent CREATE_PAYMENT charges nothing more and is answered PAYMENT_CHARGED', async () => {
    const { orderId, paymentId } = ids();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 10 });
    await untilReplies(orderId, 2);
    const chargeId = (await gatewayRows(paymentId))[0].charge_id;

    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 10 });
    await untilReplies(orderId, 3);
    // Give a (wrong) second charge job the time it would need to show up.
    await new Promise((r) => setTimeout(r, 300));
    expect(await replyTypes(orderId)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_CHARGED, OrderReply.PAYMENT_CHARGED]);
    expect(await gatewayRows(paymentId)).to.have.length(1);
    expect((await gatewayRows(paymentId))[0].charge_id).to.equal(chargeId);
    expect(await eventTypes(paymentId)).to.have.length(5);
  });

  it('an amount ending in .01 is declined once, and the decline is not retried', async () => {
    const { orderId, paymentId } = ids();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 10.01 });
    const answers = await untilReplies(orderId, 2);
    expect(answers.map((r) => r.type)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
    expect(answers[1].data).to.deep.equal({ orderId, paymentId, reason: 'card declined' });

    const state = await payment(paymentId);
    expect(state.status).to.equal(S.PAYMENT_FAILED);
    expect(state.context.failureReason).to.equal('card declined');
    const job = await eventually(async () => {
      const j = await chargeJob(paymentId);
      return j && (await j.getState()) === 'completed' && j;
    });
    expect(job.attemptsMade).to.equal(1, 'one attempt: a decline is an answer, not an error');
    expect(job.returnvalue).to.equal('declined');
    expect(await gatewayRows(paymentId)).to.deep.include.members([{ charge_id: (await gatewayRows(paymentId))[0].charge_id, status: 'declined', reason: 'card declined', amount: '10.01' }]);
    expect(await eventTypes(paymentId)).to.deep.equal([E.PAYMENT_CREATED, E.ORDER_CONNECTED, E.PAYMENT_PENDING, E.PAYMENT_FAILED]);
  });

  it('a gateway that never answers (.02) times out and is retried with backoff; CANCEL_PAYMENT then declines, and no charge stands', async () => {
    const { orderId, paymentId } = ids();
    const started = Date.now();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 20.02 });
    await untilReplies(orderId, 1);

    const job = await eventually(async () => {
      const j = await chargeJob(paymentId);
      return j && j.attemptsMade >= 2 && j;
    });
    // Two timed-out calls of 300 ms and a first backoff of 100 ms at least.
    expect(Date.now() - started).to.be.at.least(2 * 300 + 100);
    // The charge is the function chargePayment (mode job: one call per job attempt).
    expect(job.failedReason).to.equal('function chargePayment did not answer within 300 ms');
    expect((await payment(paymentId)).status).to.equal(S.PAYMENT_PENDING);

    await send(PaymentCommand.CANCEL_PAYMENT, { orderId, paymentId, reason: 'payment deadline passed' });
    const answers = await untilReplies(orderId, 2);
    expect(answers.map((r) => r.type)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
    expect(answers[1].data).to.deep.equal({ orderId, paymentId, reason: 'payment deadline passed' });
    expect((await payment(paymentId)).status).to.equal(S.PAYMENT_FAILED);

    // The next attempt finds the payment failed and stops: nothing charged, nothing answered again.
    await eventually(async () => (await (await chargeJob(paymentId))?.getState()) === 'completed');
    expect(await gatewayRows(paymentId)).to.deep.equal([]);
    expect(await replyTypes(orderId)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
  });

  it('after the last attempt times out the payment fails: "payment gateway unavailable"', async () => {
    const { orderId, paymentId } = ids();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 30.02 });
    // 4 attempts × 300 ms + backoff 100 + 200 + 400 ms.
    const answers = await untilReplies(orderId, 2, 15_000);
    expect(answers.map((r) => r.type)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
    expect(answers[1].data).to.deep.equal({ orderId, paymentId, reason: GATEWAY_UNAVAILABLE });
    const job = await chargeJob(paymentId);
    expect(job?.attemptsMade).to.equal(4);
    expect((await payment(paymentId)).context.failureReason).to.equal(GATEWAY_UNAVAILABLE);
    expect(await gatewayRows(paymentId)).to.deep.equal([]);
  });

  it('CANCEL_PAYMENT of a succeeded payment is answered PAYMENT_CHARGED and changes nothing', async () => {
    const { orderId, paymentId } = ids();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 5 });
    await untilReplies(orderId, 2);
    await send(PaymentCommand.CANCEL_PAYMENT, { orderId, paymentId, reason: 'too late' });
    await untilReplies(orderId, 3);
    expect(await replyTypes(orderId)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_CHARGED, OrderReply.PAYMENT_CHARGED]);
    expect((await payment(paymentId)).status).to.equal(S.PAYMENT_SUCCEEDED);
    expect((await gatewayRows(paymentId))[0].status).to.equal('approved');
  });

  it('CANCEL_PAYMENT before CREATE_PAYMENT records a failed payment, so the late create charges nothing', async () => {
    const { orderId, paymentId } = ids();
    await send(PaymentCommand.CANCEL_PAYMENT, { orderId, paymentId, reason: 'order failed' });
    await untilReplies(orderId, 1);
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 7 });
    const answers = await untilReplies(orderId, 2);
    expect(answers.map((r) => r.type)).to.deep.equal([OrderReply.PAYMENT_DECLINED, OrderReply.PAYMENT_DECLINED]);
    expect(answers.map((r) => r.data.reason)).to.deep.equal(['order failed', 'order failed']);
    expect(await eventTypes(paymentId)).to.deep.equal([E.PAYMENT_FAILED]);
    expect(await chargeJob(paymentId)).to.equal(undefined);
    expect(await gatewayRows(paymentId)).to.deep.equal([]);
  });

  it('a charge the gateway approves after the payment was cancelled is refunded and recorded', async () => {
    setEnv({ PAYMENT_GATEWAY_LATENCY_MS: '800', PAYMENT_GATEWAY_TIMEOUT_MS: '3000' });
    try {
      const { orderId, paymentId } = ids();
      await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 12 });
      await untilReplies(orderId, 1);
      await send(PaymentCommand.CANCEL_PAYMENT, { orderId, paymentId, reason: 'payment deadline passed' });
      await untilReplies(orderId, 2);
      await eventually(async () => (await eventTypes(paymentId)).includes(E.PAYMENT_REFUNDED), 10_000);

      expect(await replyTypes(orderId)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_DECLINED]);
      expect(await eventTypes(paymentId)).to.deep.equal([E.PAYMENT_CREATED, E.ORDER_CONNECTED, E.PAYMENT_PENDING, E.PAYMENT_FAILED, E.PAYMENT_REFUNDED]);
      const [row] = await gatewayRows(paymentId);
      expect(row.status).to.equal('refunded');
      expect((await payment(paymentId)).context.refundedChargeId).to.equal(row.charge_id);
      expect((await chargeJob(paymentId))?.returnvalue).to.equal('refunded');
    } finally {
      setEnv(PAYMENT_ENV);
    }
  });

  it('an approved charge whose job was lost (its worker died, or Redis lost the queue) is refunded: the settle deadline in Postgres queues the refund', async () => {
    const { orderId, paymentId } = ids();
    // The payment as CREATE_PAYMENT leaves it, but with no charge job anywhere (lost)...
    await runtime.services.actors.execute(PAYMENT, paymentId, 'create', { orderId, amount: 7 }, { expectedVersion: 0 });
    // ...and the charge it had made before it was lost, approved by the gateway.
    const charged = await gatewayFor(runtime.services, paymentsConfig()).charge({ paymentId, amount: 7 });
    expect(charged.approved).to.equal(true);
    expect(await chargeJob(paymentId)).to.equal(undefined);

    await send(PaymentCommand.CANCEL_PAYMENT, { orderId, paymentId, reason: 'payment deadline passed' });
    await untilReplies(orderId, 1);
    // The deadline fires once the gateway timeout has passed (300 ms + 1 s here).
    await eventually(async () => (await eventTypes(paymentId)).includes(E.PAYMENT_REFUNDED), 15_000, 100);
    const [row] = await gatewayRows(paymentId);
    expect(row.status).to.equal('refunded');
    expect((await payment(paymentId)).context.refundedChargeId).to.equal(row.charge_id);
    // And the deadline is gone once nothing stands.
    await eventually(async () => {
      const { rows } = await runtime.services.db.raw<{ rows: unknown[] }>('SELECT 1 FROM timers WHERE actor_type = ? AND actor_id = ?', [PAYMENT, paymentId]);
      return rows.length === 0;
    }, 10_000, 100);
  });

  it('a payment cancelled while pending with no charge at the gateway leaves no deadline behind', async () => {
    const { orderId, paymentId } = ids();
    await runtime.services.actors.execute(PAYMENT, paymentId, 'create', { orderId, amount: 8 }, { expectedVersion: 0 });
    await send(PaymentCommand.CANCEL_PAYMENT, { orderId, paymentId, reason: 'payment deadline passed' });
    await untilReplies(orderId, 1);
    const timers = async () => (await runtime.services.db.raw<{ rows: { name: string }[] }>('SELECT name FROM timers WHERE actor_type = ? AND actor_id = ?', [PAYMENT, paymentId])).rows;
    expect((await timers()).map((t) => t.name)).to.deep.equal(['settle-charge']);
    await eventually(async () => (await timers()).length === 0, 10_000, 100);
    expect(await gatewayRows(paymentId)).to.deep.equal([]);
    expect(await eventTypes(paymentId)).to.deep.equal([E.PAYMENT_CREATED, E.ORDER_CONNECTED, E.PAYMENT_PENDING, E.PAYMENT_FAILED]);
  });

  it('a charge job whose payment never committed charges nothing; a later CREATE_PAYMENT replaces the stale job', async () => {
    const { orderId, paymentId } = ids();
    // As if the creating transaction rolled back after queueing the job.
    await runtime.services.jobs.add(CHARGE_QUEUE, 'charge', { paymentId, correlationId: orderId, causationId: orderId }, { jobId: paymentId, attempts: 1 });
    const stale = await eventually(async () => {
      const j = await chargeJob(paymentId);
      return j && (await j.getState()) === 'completed' && j;
    });
    expect(stale.returnvalue).to.equal('no payment');
    expect(await gatewayRows(paymentId)).to.deep.equal([]);

    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 3 });
    const answers = await untilReplies(orderId, 2);
    expect(answers.map((r) => r.type)).to.deep.equal([OrderReply.PAYMENT_ACCEPTED, OrderReply.PAYMENT_CHARGED]);
    expect(await gatewayRows(paymentId)).to.have.length(1);
  });

  it('an invalid amount is declined at once, recorded as a failed payment', async () => {
    const { orderId, paymentId } = ids();
    await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 1.005 });
    const [answer] = await untilReplies(orderId, 1);
    expect(answer.type).to.equal(OrderReply.PAYMENT_DECLINED);
    expect(answer.data.reason).to.match(/^invalid payment request: amount must have at most 2 decimals/);
    expect((await payment(paymentId)).status).to.equal(S.PAYMENT_FAILED);
    expect(await chargeJob(paymentId)).to.equal(undefined);
  });

  describe('HTTP', () => {
    let paymentId: string;
    let orderId: string;

    before(async () => {
      ({ orderId, paymentId } = ids());
      await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 19.99 });
      await untilReplies(orderId, 2);
    });

    it('GET /v1/payments/{id}: the payment as HAL', async () => {
      const res = await fetch(`${runtime.url}/v1/payments/${paymentId}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/application\/hal\+json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).to.include({ paymentId, orderId, amount: 19.99, paymentMethod: 'CREDIT_CARD', status: S.PAYMENT_SUCCEEDED, version: 5 });
      expect(body).not.to.have.property('failureReason');
      expect(body._links).to.deep.equal({
        self: { href: `/v1/payments/${paymentId}` },
        events: { href: `/v1/payments/${paymentId}/events` },
        commands: { href: `/v1/payments/${paymentId}/commands` },
        order: { href: `/v1/orders/${orderId}` },
      });
      expect(res.headers.get('etag')).to.equal('"5"');
    });

    it('GET /v1/payments/{id} of a failed payment shows its failureReason', async () => {
      const ids2 = ids();
      await send(PaymentCommand.CREATE_PAYMENT, { ...ids2, amount: 8.01 });
      await untilReplies(ids2.orderId, 2);
      const body = (await (await fetch(`${runtime.url}/v1/payments/${ids2.paymentId}`)).json()) as Record<string, unknown>;
      expect(body).to.include({ status: S.PAYMENT_FAILED, failureReason: 'card declined', amount: 8.01 });
    });

    it('GET /v1/payments/{id}: 404 problem for an unknown or malformed id', async () => {
      for (const id of [randomUUID(), 'not-a-uuid']) {
        const res = await fetch(`${runtime.url}/v1/payments/${id}`);
        expect(res.status).to.equal(404);
        expect(res.headers.get('content-type')).to.match(/application\/problem\+json/);
        expect(((await res.json()) as { detail: string }).detail).to.equal(`No payment with id ${id}`);
      }
    });

    it('GET /v1/payments?orderId= finds the order\'s payment; a bad orderId is a 400', async () => {
      const res = await fetch(`${runtime.url}/v1/payments?orderId=${orderId}`);
      expect(res.status).to.equal(200);
      const body = (await res.json()) as { _embedded: { paymentList: { paymentId: string }[] }; page: { totalElements: number }; _links: { self: { href: string } } };
      expect(body._embedded.paymentList.map((p) => p.paymentId)).to.deep.equal([paymentId]);
      expect(body.page.totalElements).to.equal(1);
      expect(body._links.self.href).to.equal(`/v1/payments?orderId=${orderId}&page=0&size=20`);

      const all = (await (await fetch(`${runtime.url}/v1/payments?size=200`)).json()) as { page: { totalElements: number } };
      expect(all.page.totalElements).to.be.greaterThan(1);

      const bad = await fetch(`${runtime.url}/v1/payments?orderId=nope`);
      expect(bad.status).to.equal(400);
    });

    it('the event log and an empty commands resource (payments are driven by the saga)', async () => {
      const events = (await (await fetch(`${runtime.url}/v1/payments/${paymentId}/events`)).json()) as { _embedded: { paymentEventList: { type: string }[] } };
      expect(events._embedded.paymentEventList.map((e) => e.type)).to.deep.equal([
        E.PAYMENT_CREATED, E.ORDER_CONNECTED, E.PAYMENT_PENDING, E.PAYMENT_PROCESSED, E.PAYMENT_SUCCEEDED,
      ]);
      const commands = (await (await fetch(`${runtime.url}/v1/payments/${paymentId}/commands`)).json()) as { status: string; _links: Record<string, unknown> };
      expect(commands.status).to.equal(S.PAYMENT_SUCCEEDED);
      expect(Object.keys(commands._links).sort()).to.deep.equal(['payment', 'self']);
      const post = await fetch(`${runtime.url}/v1/payments/${paymentId}/commands/fail`, { method: 'POST' });
      expect(post.status).to.equal(404);
    });
  });

  describe('invariants', () => {
    it('hold after every scenario above', async () => {
      expect(await checkPaymentInvariants(runtime.services.db)).to.deep.equal([]);
    });

    it('report an approved charge standing for a failed payment, and a second charge for one order', async () => {
      const { orderId, paymentId } = ids();
      await send(PaymentCommand.CREATE_PAYMENT, { orderId, paymentId, amount: 4.01 }); // declined
      await untilReplies(orderId, 2);
      const { db } = runtime.services;
      await db.raw(`UPDATE payment_gateway_charges SET status = 'approved', reason = NULL WHERE payment_id = ?`, [paymentId]);
      const problems = await checkPaymentInvariants(db);
      expect(problems).to.have.length(1);
      expect(problems[0]).to.match(new RegExp(`payment ${paymentId} failed but its charge .* stands`));
      await db.raw(`UPDATE payment_gateway_charges SET status = 'declined' WHERE payment_id = ?`, [paymentId]);
      expect(await checkPaymentInvariants(db)).to.deep.equal([]);
    });
  });
});
