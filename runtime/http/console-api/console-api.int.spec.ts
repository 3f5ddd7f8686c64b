import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { eventually, startTestRuntime } from '../../../test/support/runtime';
import { client, expectProblem, type Client } from '../../../test/support/e2e-http';
import { ADDRESS, activeAccount, line, settledOrder, stockedWarehouse } from '../../../test/support/e2e-shop';
import type { Runtime } from '../../roles';
import { resolve } from '../../actors/machine-state';
import { countDeadLetters, deadLetter } from '../../messaging/dead-letters';
import type { Envelope } from '../../messaging/envelope';

/**
 * The console's API against a real runtime (every context, real Postgres and Redis, real
 * HTTP): machines, HAL-FORMS templates, status filters, stats, correlation timelines,
 * analytics, the ops overview with dead letters, the demo seed, Bull Board.
 */
describe('console API', function () {
  this.timeout(90_000);
  let rt: Runtime;
  let api: Client;
  let accountId: string;
  let succeeded: { orderId: string; paymentId: string };
  let declined: { orderId: string; failureReason: string };

  const sql = async <T = any>(text: string, bindings: unknown[] = []): Promise<T[]> => (await rt.services.db.raw<{ rows: T[] }>(text, bindings as never)).rows;
  const eventCount = async () => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM events'))[0].n);

  before(async () => {
    rt = await startTestRuntime('console-api', { TIMER_POLL_MS: '100', TRACE_UI_URL: 'http://traces.example:16686/' });
    api = client(rt.url!);
    accountId = await activeAccount(api);
    await stockedWarehouse(api, { 'SKU-A': 5 });
    const ok = await api.post(`/v1/accounts/${accountId}/commands/postOrder`, { lineItems: [line('SKU-A', 2)], shippingAddress: ADDRESS });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(201);
    // The gateway simulator declines amounts whose cents are .01.
    const no = await api.post('/v1/orders', { accountId, lineItems: [line('SKU-A', 1, 10.01, 0)], shippingAddress: ADDRESS });
    expect(no.status, JSON.stringify(no.body)).to.equal(201);
    succeeded = await settledOrder(api, ok.body.orderId);
    declined = await settledOrder(api, no.body.orderId);
    expect(succeeded).to.include({ status: 'ORDER_SUCCEEDED' });
    expect(declined).to.include({ status: 'ORDER_FAILED' });
  });

  after(async () => {
    await rt?.stop();
  });

  describe('GET /v1/machines', () => {
    it('describes all six aggregate types, transitions as the machines decide them', async () => {
      const r = await api.get('/v1/machines');
      expect(r.status).to.equal(200);
      const list = r.body._embedded.machineList as any[];
      expect(list.map((m) => m.type).sort()).to.deep.equal(['account', 'inventory', 'order', 'payment', 'reservation', 'warehouse']);
      for (const m of list) {
        const machine = rt.services.actors.definition(m.type).machine;
        const events = [...new Set((m.transitions as any[]).map((t) => t.event))];
        expect(m.initial).to.equal('new');
        for (const state of m.states as { name: string; final: boolean }[]) {
          const snapshot = resolve(machine, { id: 'x', status: state.name, context: machine.config.context, version: state.name === 'new' ? 0 : 1 });
          for (const event of events) {
            const listed = (m.transitions as any[]).filter((t) => t.from === state.name && t.event === event);
            const can = snapshot.can({ type: event, data: {} });
            // What the machine accepts is listed; what is listed without a guard, the machine accepts.
            if (can) expect(listed, `${m.type} ${state.name} ${event}`).to.not.be.empty;
            for (const t of listed.filter((x) => !x.guard)) expect(can, `${m.type} ${state.name} --${event}--> ${t.to}`).to.equal(true);
          }
        }
        // Targets are states of the machine, and commands name events it has.
        const names = new Set((m.states as any[]).map((s) => s.name));
        for (const t of m.transitions) expect(names.has(t.to), `${m.type} → ${t.to}`).to.equal(true);
        for (const c of m.commands) expect(rt.services.actors.definition(m.type).commands[c.name].event).to.equal(c.event);
        expect(m._links.item.href).to.match(/^\/v1\/[a-z]+\/\{id\}$/);
        expect(m._links.collection.templated).to.equal(true);
      }
      const order = list.find((m) => m.type === 'order');
      expect(order.states.filter((s: any) => s.final).map((s: any) => s.name)).to.deep.equal(['ORDER_SUCCEEDED', 'ORDER_FAILED']);
      expect(order.compensations).to.include.members(['RESERVATION_FAILED', 'PAYMENT_FAILED']);
      // The failure itself is the outcome, not a step that undoes another.
      expect(order.compensations).to.not.include('ORDER_FAILED');
      expect(order._links.collection.href).to.equal('/v1/orders{?page,size,accountId,status}');
      expect(order.transitions).to.deep.include({ from: 'PAYMENT_SUCCEEDED', to: 'ORDER_SUCCEEDED', event: 'ORDER_SUCCEEDED', commands: ['complete'] });
      const inventory = list.find((m) => m.type === 'inventory');
      expect(inventory.transitions).to.deep.include({ from: 'RESERVATION_CONNECTED', to: 'RESERVATION_PENDING', event: 'INVENTORY_RELEASED', guard: 'heldByThatReservation', commands: ['release'] });
      expect(inventory._links.collection.href).to.equal('/v1/inventory{?warehouseId,productId,reservationId,status,page,size}');
    });

    it('answers one machine, and 404 for an unknown type', async () => {
      const r = await api.get('/v1/machines/account');
      expect(r.status).to.equal(200);
      expect(r.body._links).to.deep.equal({
        self: { href: '/v1/machines/account' },
        collection: { href: '/v1/accounts{?page,size,status}', templated: true },
        item: { href: '/v1/accounts/{id}', templated: true },
      });
      expectProblem(await api.get('/v1/machines/nope'), 404);
      expectProblem(await api.get(`/v1/machines/${encodeURIComponent("account'; DROP TABLE events; --")}`), 404);
    });
  });

  describe('HAL-FORMS templates', () => {
    it('has one template per allowed command, the offered postOrder with its nested schema', async () => {
      const r = await api.get(`/v1/accounts/${accountId}/commands`);
      expect(r.status).to.equal(200);
      const allowed = Object.keys(r.body._links).filter((rel) => rel !== 'self' && rel !== 'account');
      expect(Object.keys(r.body._templates)).to.deep.equal(allowed);
      expect(allowed).to.deep.equal(['suspend', 'archive', 'postOrder']);
      expect(r.body._templates.suspend).to.deep.equal({
        title: 'suspend', method: 'POST', target: `/v1/accounts/${accountId}/commands/suspend`, contentType: 'application/json', properties: [],
      });
      const postOrder = r.body._templates.postOrder;
      expect(postOrder.target).to.equal(`/v1/accounts/${accountId}/commands/postOrder`);
      expect(postOrder.properties.map((p: any) => [p.name, p.required])).to.deep.equal([['lineItems', true], ['shippingAddress', true]]);
      expect(postOrder.schema.properties.lineItems.type).to.equal('array');
      expect(postOrder.schema.properties.lineItems.items.required).to.include.members(['productId', 'quantity', 'price']);
      expect(postOrder.schema.properties.shippingAddress.type).to.equal('object');
    });

    it('follows the state: a suspended account offers activate only', async () => {
      const other = await activeAccount(api);
      expect((await api.post(`/v1/accounts/${other}/commands/suspend`)).status).to.equal(200);
      const r = await api.get(`/v1/accounts/${other}/commands`);
      expect(Object.keys(r.body._templates)).to.deep.equal(['activate']);
    });

    it('gives the account its default template: PUT the profile with If-Match', async () => {
      const r = await api.get(`/v1/accounts/${accountId}`);
      const form = r.body._templates.default;
      expect(form).to.include({ method: 'PUT', target: `/v1/accounts/${accountId}`, contentType: 'application/json' });
      expect(form.title).to.match(/If-Match/);
      expect(form.properties.map((p: any) => p.name)).to.deep.equal(['firstName', 'lastName', 'email']);
      expect(form.properties[0]).to.include({ type: 'text', required: true, minLength: 1, maxLength: 100 });
      const put = await api.put(form.target, { firstName: 'Ada', lastName: 'Byron', email: r.body.email }, { headers: { 'If-Match': r.headers.get('etag')! } });
      expect(put.status, JSON.stringify(put.body)).to.equal(200);
    });
  });

  describe('collections with a status filter', () => {
    const collections = ['/v1/accounts', '/v1/orders', '/v1/payments', '/v1/warehouses', '/v1/inventory', '/v1/reservations'];

    it('lists only the aggregates in that status, as many as the read model holds', async () => {
      const cases: [string, string, string][] = [
        ['/v1/accounts', 'accounts', 'ACCOUNT_ACTIVE'],
        ['/v1/orders', 'orders', 'ORDER_FAILED'],
        ['/v1/payments', 'payments', 'PAYMENT_SUCCEEDED'],
        ['/v1/warehouses', 'warehouses', 'WAREHOUSE_CREATED'],
        ['/v1/inventory', 'inventory', 'INVENTORY_RESERVED'],
        ['/v1/reservations', 'reservations', 'RESERVATION_SUCCEEDED'],
      ];
      for (const [path, table, status] of cases) {
        const r = await api.get(`${path}?status=${status}&size=200`);
        expect(r.status, `${path} ${JSON.stringify(r.body)}`).to.equal(200);
        const items = Object.values(r.body._embedded)[0] as { status: string }[];
        const [{ n }] = await sql<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE status = ?`, [status]);
        expect(r.body.page.totalElements, path).to.equal(Number(n));
        expect(Number(n), `${path} has some ${status}`).to.be.greaterThan(0);
        expect(items.every((i) => i.status === status), path).to.equal(true);
        expect(r.body._links.self.href).to.include(`status=${status}`);
      }
    });

    it('filters units and reservations by their relations', async () => {
      const mine = await api.get(`/v1/reservations?orderId=${succeeded.orderId}`);
      expect(mine.body._embedded.reservationList.map((r: any) => r.orderId)).to.deep.equal([succeeded.orderId]);
      const reservation = mine.body._embedded.reservationList[0];
      const units = await api.get(reservation._links.inventory.href);
      expect(units.status).to.equal(200);
      expect(units.body._embedded.inventoryList.map((u: any) => u.inventoryId).sort()).to.deep.equal([...reservation.inventoryIds].sort());
      const unit = units.body._embedded.inventoryList[0];
      expect(unit._links.warehouse.href).to.equal(`/v1/warehouses/${unit.warehouseId}`);
      const sku = await api.get(`/v1/inventory?warehouseId=${unit.warehouseId}&productId=SKU-A&status=RESERVATION_PENDING`);
      expect(sku.body._embedded.inventoryList.every((u: any) => u.productId === 'SKU-A' && u.status === 'RESERVATION_PENDING')).to.equal(true);
    });

    it('links an order to its account, payment, reservations and timeline', async () => {
      const o = (await api.get(`/v1/orders/${succeeded.orderId}`)).body;
      expect(o._links.account.href).to.equal(`/v1/accounts/${accountId}`);
      expect(o._links.payment.href).to.equal(`/v1/payments/${o.paymentId}`);
      expect(o._links.reservations.href).to.equal(`/v1/orders/${o.orderId}/reservations`);
      expect(o._links.timeline.href).to.equal(`/v1/correlations/${o.orderId}`);
    });

    it('refuses an unknown or hostile status, and bad relation filters, with 400 (nothing written)', async () => {
      const before = await eventCount();
      for (const path of collections) {
        expectProblem(await api.get(`${path}?status=NOT_A_STATUS`), 400, /status must be one of/);
        expectProblem(await api.get(`${path}?status=${encodeURIComponent("x' OR '1'='1")}`), 400);
        expectProblem(await api.get(`${path}?status=new`), 400);
      }
      expectProblem(await api.get('/v1/inventory?warehouseId=not-a-uuid'), 400);
      expectProblem(await api.get(`/v1/inventory?productId=${'x'.repeat(65)}`), 400);
      expectProblem(await api.get('/v1/inventory?reservationId=1%20OR%201=1'), 400);
      expectProblem(await api.get('/v1/reservations?orderId=abc'), 400);
      expect(await eventCount()).to.equal(before);
    });
  });

  describe('GET /v1/stats', () => {
    it('equals the read models counted in SQL, and the highest position', async () => {
      const r = await api.get('/v1/stats');
      expect(r.status).to.equal(200);
      const tables: Record<string, string> = { account: 'accounts', order: 'orders', payment: 'payments', warehouse: 'warehouses', inventory: 'inventory', reservation: 'reservations' };
      expect(r.body.aggregates.map((a: any) => a.type).sort()).to.deep.equal(Object.keys(tables).sort());
      for (const a of r.body.aggregates) {
        const rows = await sql<{ status: string; n: string }>(`SELECT status, count(*) AS n FROM ${tables[a.type]} GROUP BY status`);
        expect(a.byStatus, a.type).to.deep.equal(Object.fromEntries(rows.map((x) => [x.status, Number(x.n)])));
        expect(a.total).to.equal(rows.reduce((s, x) => s + Number(x.n), 0));
      }
      const [{ max }] = await sql<{ max: string }>('SELECT max(position) AS max FROM events');
      expect(r.body.events.total).to.be.at.least(Number(max) - 50).and.at.most(Number(max));
    });
  });

  describe('GET /v1/correlations/{id}', () => {
    it("is a succeeded order's timeline across aggregates, in commit order", async () => {
      const r = await api.get(`/v1/correlations/${succeeded.orderId}`);
      expect(r.status).to.equal(200);
      const events = r.body.events as any[];
      const rows = await sql<{ position: string }>("SELECT position FROM events WHERE metadata->>'correlationId' = ? ORDER BY position", [succeeded.orderId]);
      expect(events.map((e) => e.position)).to.deep.equal(rows.map((x) => Number(x.position)));
      expect(new Set(events.map((e) => e.aggregateType))).to.include.keys('order', 'reservation', 'inventory', 'payment');
      expect(events.every((e) => e.correlationId === succeeded.orderId)).to.equal(true);
      expect(events[0]).to.include({ type: 'ORDER_CREATED', aggregateId: succeeded.orderId, version: 1, compensation: false });
      expect(events[0]._links.aggregate.href).to.equal(`/v1/orders/${succeeded.orderId}`);
      expect((await api.get(events[0]._links.self.href)).body.eventId).to.equal(events[0].eventId);
      expect(events.at(-1).type).to.equal('ORDER_SUCCEEDED');
      expect(events.some((e) => e.compensation)).to.equal(false);
      expect(r.body.outcome).to.deep.equal({ status: 'succeeded' });
      expect(r.body.timers).to.deep.equal([]);
    });

    it('is a declined order that failed with its reason, compensations marked', async () => {
      const r = await api.get(`/v1/correlations/${declined.orderId}`);
      const events = r.body.events as any[];
      expect(r.body.outcome.status).to.equal('failed');
      expect(r.body.outcome.reason).to.equal(declined.failureReason).and.to.match(/declined/);
      const marked = events.filter((e) => e.compensation).map((e) => `${e.aggregateType}:${e.type}`);
      expect(marked).to.include.members(['order:PAYMENT_FAILED', 'payment:PAYMENT_FAILED', 'inventory:INVENTORY_RELEASED']);
      expect(marked).to.not.include('order:ORDER_FAILED');
      expect(events.filter((e) => !e.compensation).map((e) => e.type)).to.include('ORDER_CREATED');
    });

    it('lists the pending timers of the correlation with their attempt', async () => {
      const due = new Date(Date.now() + 3_600_000);
      await sql(
        "INSERT INTO timers (actor_type, actor_id, name, topic, due_at, data, correlation_id) VALUES ('order', ?, 'console-test', 'console.test', ?, ?::jsonb, ?)",
        [succeeded.orderId, due.toISOString(), JSON.stringify({ step: 'resume', attempt: 2 }), succeeded.orderId],
      );
      try {
        const r = await api.get(`/v1/correlations/${succeeded.orderId}`);
        expect(r.body.timers).to.deep.equal([
          { actorType: 'order', actorId: succeeded.orderId, name: 'console-test', dueAt: due.toISOString(), overdue: false, attempt: 2, data: { step: 'resume', attempt: 2 } },
        ]);
      } finally {
        await sql("DELETE FROM timers WHERE name = 'console-test'");
      }
    });

    it('links the trace when the first event was traced, and 404s for unknown or non-UUID ids', async () => {
      const traceId = 'a'.repeat(32);
      const correlationId = randomUUID();
      await sql(
        `INSERT INTO events (event_id, stream_id, stream_type, version, type, data, metadata)
         VALUES (?, ?, 'account', 1, 'CONSOLE_PROBE', '{}'::jsonb, ?::jsonb)`,
        [randomUUID(), `probe-${correlationId}`, JSON.stringify({ actorId: correlationId, correlationId, causationId: correlationId, traceparent: `00-${traceId}-${'b'.repeat(16)}-01` })],
      );
      const r = await api.get(`/v1/correlations/${correlationId}`);
      expect(r.body.traceId).to.equal(traceId);
      expect(r.body._links.trace).to.deep.equal({ href: `http://traces.example:16686/trace/${traceId}` });
      expect(r.body.outcome).to.deep.equal({ status: 'running' });
      expectProblem(await api.get(`/v1/correlations/${randomUUID()}`), 404);
      expectProblem(await api.get('/v1/correlations/not-a-uuid'), 404);
      expectProblem(await api.get(`/v1/correlations/${encodeURIComponent("1' OR '1'='1")}`), 404);
    });
  });

  describe('GET /v1/analytics', () => {
    it('counts what SQL counts, per event type and bucket, and outcomes into final states', async () => {
      for (const [window, bucketSeconds, buckets] of [['5m', 10, 30], ['1h', 60, 60], ['24h', 900, 96]] as const) {
        const r = await api.get(`/v1/analytics?window=${window}`);
        expect(r.status).to.equal(200);
        expect(r.body).to.include({ window, bucketSeconds });
        const { from, to } = r.body;
        expect(Date.parse(to) - Date.parse(from)).to.equal(bucketSeconds * buckets * 1000);
        const rows = await sql<{ stream_type: string; type: string; n: string }>(
          'SELECT stream_type, type, count(*) AS n FROM events WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2',
          [from, to],
        );
        const expected = Object.fromEntries(rows.map((x) => [`${x.stream_type}/${x.type}`, Number(x.n)]));
        const got = Object.fromEntries((r.body.series as any[]).map((s) => [`${s.aggregateType}/${s.eventType}`, s.total]));
        expect(got, window).to.deep.equal(expected);
        for (const s of r.body.series) {
          expect(s.buckets).to.have.length(buckets);
          expect(s.buckets.reduce((a: number, b: number) => a + b, 0)).to.equal(s.total);
        }
        const orders = Object.fromEntries((r.body.outcomes as any[]).filter((o) => o.aggregateType === 'order').map((o) => [o.status, o.total]));
        expect(orders).to.deep.equal({ ORDER_SUCCEEDED: expected['order/ORDER_SUCCEEDED'] ?? 0, ORDER_FAILED: expected['order/ORDER_FAILED'] ?? 0 });
        expect(r.body.series.find((s: any) => s.eventType === 'ORDER_CREATED').topic).to.equal('orders');
      }
      expect((await api.get('/v1/analytics')).body.window).to.equal('1h');
    });

    it('refuses any other window with 400', async () => {
      for (const w of ['7d', '', '1h;DROP', '5M']) expectProblem(await api.get(`/v1/analytics?window=${encodeURIComponent(w)}`), 400);
    });
  });

  describe('ops', () => {
    const letter = (type: string): Envelope => ({
      id: randomUUID(), type, stream: 'accounts', actor: { type: 'account', id: randomUUID() }, version: 0,
      correlationId: randomUUID(), causationId: randomUUID(), occurredAt: new Date().toISOString(), data: {},
    });
    const deadLetterCount = () => countDeadLetters(rt.services.redis, rt.services.topology);

    it('gives the overview: outbox, timers, groups and dead letters as the stores hold them', async () => {
      const { redis, topology } = rt.services;
      const key = topology.streamKey('accounts', 0);
      await deadLetter(redis, topology, 'accounts.activation', key, '1-1', 'boom', 5, letter('CONSOLE_PROBE'));
      const r = await api.get('/v1/ops');
      expect(r.status).to.equal(200);
      expect(r.body.deadLetters.count).to.equal(await deadLetterCount());
      const [{ n }] = await sql<{ n: string }>('SELECT count(*) AS n FROM timers');
      expect(r.body.timers.scheduled).to.equal(Number(n));
      expect(r.body.timers.due).to.be.at.most(Number(n));
      expect(r.body.outbox.backlog).to.be.a('number');
      expect(r.body.groups.map((g: any) => g.group)).to.include.members(['accounts.activation', 'orders.saga']);
      expect(r.body._links.queues.href).to.equal('/console/queues');
      expect(r.body._links.partitions.href).to.equal('/v1/ops/partitions');
    });

    it('deletes one dead letter (204, then 404) and refuses ids that are not dead letter ids with 400', async () => {
      const { redis, topology } = rt.services;
      await deadLetter(redis, topology, 'orders.saga', topology.streamKey('orders', 0), '2-1', 'boom', 5, letter('CONSOLE_PROBE'));
      const list = (await api.get('/v1/ops/dead-letters')).body._embedded.deadLetterList as any[];
      const id = list.at(-1).id;
      const before = await deadLetterCount();
      for (const bad of ['abc', '1-0', 'p1-', 'p-1-0', 'p0-1', 'p12345-1-0', 'p0-999999999999999999999-0', 'p0-1-0;DEL']) {
        expectProblem(await api.request('DELETE', `/v1/ops/dead-letters/${encodeURIComponent(bad)}`), 400);
      }
      expect(await deadLetterCount()).to.equal(before);
      expectProblem(await api.request('DELETE', '/v1/ops/dead-letters/p0-1-0'), 404);
      // A partition past PARTITIONS names no dead letter either.
      expectProblem(await api.request('DELETE', `/v1/ops/dead-letters/p${topology.partitions}-1-0`), 404);
      const del = await api.request('DELETE', `/v1/ops/dead-letters/${id}`);
      expect(del.status).to.equal(204);
      expect(await deadLetterCount()).to.equal(before - 1);
      expectProblem(await api.request('DELETE', `/v1/ops/dead-letters/${id}`), 404);
    });

    it('re-drives the dead letters of one group, then all of them, back onto their streams', async () => {
      const { redis, topology } = rt.services;
      const accountsKey = topology.streamKey('accounts', 1);
      const sagaLetter = letter('CONSOLE_PROBE');
      // A re-drive goes to the stream of the message's actor under the current PARTITIONS.
      const ordersKey = topology.streamKey('orders', topology.partitionOf(sagaLetter.actor.id));
      for (let i = 0; i < 3; i++) await deadLetter(redis, topology, 'accounts.activation', accountsKey, `3-${i}`, 'boom', 5, letter('CONSOLE_PROBE'));
      await deadLetter(redis, topology, 'orders.saga', ordersKey, '4-0', 'boom', 5, { ...sagaLetter, stream: 'orders' });
      const total = await deadLetterCount();
      const list = (await api.get('/v1/ops/dead-letters?limit=1000')).body._embedded.deadLetterList as any[];
      const ofSaga = list.filter((l) => l.group === 'orders.saga').length;

      for (const bad of ['Bad Group', "orders.saga' OR 1", 'nodot', 'x'.repeat(300)]) {
        expectProblem(await api.post(`/v1/ops/dead-letters/redrive?group=${encodeURIComponent(bad)}`), 400);
      }
      expect(await deadLetterCount()).to.equal(total);

      const ordersBefore = await redis.xlen(ordersKey);
      const one = await api.post('/v1/ops/dead-letters/redrive?group=orders.saga');
      expect(one.status, JSON.stringify(one.body)).to.equal(200);
      expect(one.body).to.include({ redriven: ofSaga, group: 'orders.saga' });
      expect(await redis.xlen(ordersKey)).to.equal(ordersBefore + 1);
      expect(await deadLetterCount()).to.equal(total - ofSaga);

      const all = await api.post('/v1/ops/dead-letters/redrive');
      expect(all.body.redriven).to.equal(total - ofSaga);
      expect(await deadLetterCount()).to.equal(0);
      expect((await api.get('/v1/ops')).body.deadLetters.count).to.equal(0);
    });

    it('serves Bull Board with the runtime queues and its own assets at /console/queues', async () => {
      const page = await fetch(`${rt.url}/console/queues`);
      expect(page.status).to.equal(200);
      const html = await page.text();
      expect(html).to.include('<base href="/console/queues/"');
      const asset = /src="([^"]+\.js)"/.exec(html)?.[1];
      expect(asset, 'a script of the board').to.be.a('string');
      const js = await fetch(new URL(asset!, `${rt.url}/console/queues/`));
      expect(js.status).to.equal(200);
      const queues = await fetch(`${rt.url}/console/queues/api/queues`);
      expect(queues.status).to.equal(200);
      const names = ((await queues.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
      expect(names).to.not.be.empty;
    });
  });

  describe('POST /v1/demo and GET /', () => {
    it('seeds an account the worker activates and a stocked warehouse, through the contexts\' commands', async () => {
      const r = await api.post('/v1/demo');
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.contexts).to.deep.equal(['accounts', 'warehouse']);
      const account = r.body._links.account.href as string;
      await eventually(async () => (await api.get(account)).body.status === 'ACCOUNT_ACTIVE', 15_000);
      const counts = await eventually(async () => {
        const c = (await api.get(r.body._links.inventory.href)).body.counts as Record<string, Record<string, number>>;
        return Object.keys(c).length === 5 && Object.values(c).every((x) => x.RESERVATION_PENDING === 10) ? c : undefined;
      }, 15_000);
      expect(Object.keys(counts).sort()).to.deep.equal(['SKU-0', 'SKU-1', 'SKU-2', 'SKU-3', 'SKU-4']);
      expect((await api.get(r.body._links.warehouse.href)).status).to.equal(200);
    });

    it('refuses a malformed body with 4xx and writes nothing', async () => {
      const before = await eventCount();
      const bad = await api.request('POST', '/v1/demo', { body: '{"x":', contentType: 'application/json' });
      expect(bad.status).to.equal(400);
      const xml = await api.request('POST', '/v1/demo', { body: '<x/>', contentType: 'application/xml' });
      expect(xml.status).to.equal(415);
      expectProblem(await api.post('/v1/demo', { accounts: 1000 }), 400);
      expect(await eventCount()).to.equal(before);
    });

    it('redirects / to the console', async () => {
      const r = await fetch(`${rt.url}/`, { redirect: 'manual' });
      expect(r.status).to.equal(302);
      expect(r.headers.get('location')).to.equal('/console');
    });
  });
});
