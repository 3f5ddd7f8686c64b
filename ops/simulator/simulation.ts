/**
 * One simulation run: sets up what it needs over the API (a warehouse, accounts), sends
 * accounts, inventory and orders at their rates (and chaos when asked), follows every order
 * to its terminal status, and checks each outcome against what it expected.
 *
 * Memory stays flat however long it runs: orders leave the ledger once terminal, background
 * requests are bounded per kind (`--max-in-flight`; a tick beyond it is skipped and counted),
 * and latencies go into a fixed histogram.
 */
import { randomUUID } from 'node:crypto';
import { Api, untemplated, type Reply } from './api';
import { ADDRESS, EXPECTED, malformedRequests, nextKind, orderLines, unitsOf, type MalformedRequest, type Random } from './chaos';
import type { SimulatorConfig } from './config';
import { Ledger, type OrderKind, type PendingOrder, type Terminal } from './ledger';
import { MemoryWatch } from './memory';
import { Rate } from './rates';
import { StockLedger } from './stock';
import { summarize, type Summary } from './summary';
import type { ProgressFacts } from './progress';

const TICK_MS = 100;
const UNIT_FLUSH_MS = 1_000;
const STOCK_SNAPSHOT_MS = 2_000;
const MAX_UNITS_PER_REQUEST = 1000;

interface OrderAccount {
  id: string;
  href: string;
  postOrderHref: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SetupError extends Error {}

export class Simulation {
  readonly api: Api;
  readonly ledger = new Ledger();
  private readonly stock = new StockLedger();
  readonly runId = randomUUID().slice(0, 8);
  /** Failing orders sent so far: their kinds come in turn (see nextKind). */
  private chaosTurn = 0;
  private links: Record<string, string> = {};
  private inventoryHref = '';
  private readonly orderAccounts: OrderAccount[] = [];
  private accountsStarted = 0;
  private accountsCreated = 0;
  private unitsAdded = 0;
  private readonly pendingUnits = new Map<string, number>();
  private unitCursor = 0;
  private lastUnitFlush = 0;
  private lastSnapshot = -Infinity;
  private conflictAccount?: Promise<OrderAccount | undefined>;
  private conflictRunning = false;
  private malformedCursor = 0;
  private readonly skipped: Record<string, number> = {};
  /** Background requests by kind, bounded by maxInFlight. */
  private readonly busy = new Map<string, number>();
  private readonly tasks = new Set<Promise<unknown>>();
  /** Units of orders being posted (not yet in the ledger), for the stock ledger. */
  private readonly posting = new Set<Record<string, number>>();
  private readonly polling = new Set<string>();
  private startedAt = 0;
  private stoppedAt?: number;
  private sending = true;
  private abandoned = 0;
  readonly memory = new MemoryWatch();
  private timer?: NodeJS.Timeout;
  private readonly rates: { accounts: Rate; units: Rate; orders: Rate; conflicts: Rate; malformed: Rate };

  constructor(
    readonly config: SimulatorConfig,
    private readonly random: Random = Math.random,
  ) {
    this.api = new Api({ baseUrl: config.url, allow503: config.allow503, token: config.token });
    const s = config.speed;
    this.rates = {
      accounts: new Rate((config.accountsPerMinute / 60) * s, true),
      units: new Rate(config.unitsPerSecond * s),
      orders: new Rate(config.ordersPerSecond * s),
      conflicts: new Rate(config.chaos ? (config.conflictsPerMinute / 60) * s : 0),
      malformed: new Rate(config.chaos ? (config.malformedPerMinute / 60) * s : 0),
    };
  }

  /** Learns the collections from `GET /v1` and finds or creates the warehouse. */
  async setup(): Promise<void> {
    const root = await this.api.request('discover', 'GET', '/v1');
    if (root.status !== 200) throw new SetupError(`GET ${this.config.url}/v1 answered ${root.status || 'nothing'}: ${typeof root.body === 'string' ? root.body : JSON.stringify(root.body)}`);
    for (const [rel, l] of Object.entries((root.body._links ?? {}) as Record<string, { href: string }>)) this.links[rel] = untemplated(l.href);
    for (const rel of ['accounts', 'orders', 'warehouses']) if (!this.links[rel]) throw new SetupError(`GET /v1 lists no "${rel}" collection: is every context loaded (CONTEXTS=all)?`);
    const warehouse = (await this.findWarehouse()) ?? (await this.createWarehouse());
    this.inventoryHref = warehouse._links.inventory.href;
  }

  private async findWarehouse(): Promise<any | undefined> {
    for (let page = 0; page < 100; page++) {
      const r = await this.api.request('setup', 'GET', `${this.links.warehouses}?page=${page}&size=100`);
      if (r.status !== 200) throw new SetupError(`listing warehouses answered ${r.status}`);
      const found = (r.body._embedded?.warehouseList ?? []).find((w: any) => w.name === this.config.warehouseName);
      if (found) return found;
      if (page + 1 >= (r.body.page?.totalPages ?? 1)) return undefined;
    }
    return undefined;
  }

  private async createWarehouse(): Promise<any> {
    const r = await this.api.request('create warehouse', 'POST', this.links.warehouses, { name: this.config.warehouseName, address: ADDRESS });
    if (r.status !== 201) throw new SetupError(`creating the warehouse answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  /** Starts sending; resolves when the run has ended (duration, or stop() and the orders in flight done). */
  run(onTick?: (f: ProgressFacts) => void): Promise<Summary> {
    this.startedAt = Date.now();
    this.lastUnitFlush = this.startedAt;
    return new Promise((resolve) => {
      this.timer = setInterval(() => {
        try {
          this.tick();
        } catch (err) {
          this.ledger.problem(`simulator error: ${(err as Error).stack ?? err}`);
          this.ledger.failedChecks += 1;
        }
        onTick?.(this.progress());
        if (!this.sending && this.ledger.inFlight.size === 0 && this.tasks.size === 0 && this.posting.size === 0) {
          clearInterval(this.timer);
          resolve(this.summary());
        }
      }, TICK_MS);
    });
  }

  /** Stops sending; the run ends once the orders in flight are terminal. */
  stop(): void {
    if (!this.sending) return;
    this.sending = false;
    this.stoppedAt = Date.now();
    // Units accumulated for the next flush are not sent: sending has stopped.
    this.pendingUnits.clear();
  }

  /** Gives up on the orders in flight (second Ctrl-C): they are reported as abandoned. */
  abandon(): void {
    this.stop();
    this.abandoned += this.ledger.inFlight.size + this.posting.size;
    this.ledger.inFlight.clear();
    this.posting.clear();
    this.tasks.clear();
  }

  get stopping(): boolean {
    return !this.sending;
  }

  progress(): ProgressFacts {
    const t = this.ledger.totals();
    return {
      elapsedMs: Date.now() - this.startedAt,
      orders: t.placed,
      inFlight: this.ledger.inFlight.size,
      succeeded: t.succeeded,
      failed: t.failed,
      p99: this.ledger.latency.percentile(99),
      errors: this.api.stats.unexpectedServerErrors + t.unexpected + this.ledger.failedChecks,
      stopping: !this.sending,
    };
  }

  summary(): Summary {
    return summarize(this.api.stats, this.ledger, {
      elapsedMs: (this.stoppedAt ?? Date.now()) - this.startedAt,
      accountsCreated: this.accountsCreated,
      unitsAdded: this.unitsAdded,
      skipped: this.skipped,
      abandoned: this.abandoned,
      memory: { ...this.memory.now(), samples: this.memory.samples },
    });
  }

  private tick(): void {
    const now = Date.now();
    const elapsed = now - this.startedAt;
    this.memory.maybeSample(elapsed);
    if (this.sending && this.config.durationSeconds > 0 && elapsed >= this.config.durationSeconds * 1000) this.stop();
    if (this.sending) {
      for (let i = this.rates.accounts.due(elapsed); i > 0; i--) this.background('create account', () => this.createAccount());
      for (let i = this.rates.units.due(elapsed); i > 0; i--) {
        const p = this.config.products[this.unitCursor++ % this.config.products.length];
        this.pendingUnits.set(p, (this.pendingUnits.get(p) ?? 0) + 1);
      }
      if (now - this.lastUnitFlush >= UNIT_FLUSH_MS) this.flushUnits(now);
      if (now - this.lastSnapshot >= STOCK_SNAPSHOT_MS) {
        this.lastSnapshot = now;
        this.background('read stock', () => this.snapshotStock());
      }
      for (let i = this.rates.orders.due(elapsed); i > 0; i--) this.sendOrder();
      for (let i = this.rates.conflicts.due(elapsed); i > 0; i--) this.sendConflict();
      for (let i = this.rates.malformed.due(elapsed); i > 0; i--) this.sendMalformed();
    }
    this.pollOrders(now);
  }

  private skip(what: string): void {
    this.skipped[what] = (this.skipped[what] ?? 0) + 1;
  }

  /** Runs `work` in the background unless `kind` already has maxInFlight running (then skipped). */
  private background(kind: string, work: () => Promise<unknown>): boolean {
    const n = this.busy.get(kind) ?? 0;
    if (n >= this.config.maxInFlight) {
      this.skip(`${kind} (too many in flight)`);
      return false;
    }
    this.busy.set(kind, n + 1);
    const task: Promise<unknown> = work()
      .catch((err) => {
        this.ledger.failedChecks += 1;
        this.ledger.problem(`${kind}: ${(err as Error).message}`);
      })
      .finally(() => {
        this.busy.set(kind, (this.busy.get(kind) ?? 1) - 1);
        this.tasks.delete(task);
      });
    this.tasks.add(task);
    return true;
  }

  private expectStatus(r: Reply, status: number, what: string): boolean {
    const ok = r.status === status;
    // 429 is the deployment's documented answer to a client over its quota (requests per
    // second, orders in flight per account): the request was not carried out, nothing to check.
    if (r.status === 429) this.skip('requests refused with 429 (over a quota)');
    else if (!ok && r.status < 500 && r.status !== 0) this.ledger.check(false, `${what}: expected ${status}, got ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
    return ok;
  }

  // ---- accounts -------------------------------------------------------------------------

  private async registerAccount(kind: string): Promise<{ id: string; href: string } | undefined> {
    const n = ++this.accountsStarted;
    const r = await this.api.request(kind, 'POST', this.links.accounts, { firstName: 'Sim', lastName: `Account ${n}`, email: `sim-${this.runId}-${n}@example.com` });
    if (!this.expectStatus(r, 201, 'registering an account')) return undefined;
    this.accountsCreated += 1;
    return { id: r.body.accountId, href: r.body._links.self.href };
  }

  /** Polls the account until it is active (the accounts context activates new accounts), then returns its command links. */
  private async whenActive(account: { id: string; href: string }): Promise<Record<string, string> | undefined> {
    const deadline = Date.now() + this.config.orderTimeoutSeconds * 1000;
    while (Date.now() < deadline) {
      const r = await this.api.request('read account', 'GET', account.href);
      if (r.status === 200 && r.body.status === 'ACCOUNT_ACTIVE') {
        const c = await this.api.request('read commands', 'GET', r.body._links.commands.href);
        if (c.status === 200) return Object.fromEntries(Object.entries(c.body._links as Record<string, { href: string }>).map(([rel, l]) => [rel, l.href]));
      }
      if (!this.sending) return undefined; // stopping: no order or conflict will need it
      await sleep(this.config.pollMs);
    }
    this.ledger.check(false, `account ${account.id} was not active within ${this.config.orderTimeoutSeconds} s`);
    return undefined;
  }

  private async createAccount(): Promise<void> {
    const account = await this.registerAccount('create account');
    if (!account || this.orderAccounts.length + this.activating >= this.config.orderAccounts) return;
    // One of the first N accounts: orders go to it once it is active.
    this.activating += 1;
    try {
      const commands = await this.whenActive(account);
      if (commands?.postOrder) this.orderAccounts.push({ ...account, postOrderHref: commands.postOrder });
      else if (commands) this.ledger.check(false, `active account ${account.id} offers no postOrder command`);
    } finally {
      this.activating -= 1;
    }
  }
  private activating = 0;

  // ---- inventory ------------------------------------------------------------------------

  private flushUnits(now: number): void {
    this.lastUnitFlush = now;
    for (const [productId, n] of this.pendingUnits) {
      const quantity = Math.min(n, MAX_UNITS_PER_REQUEST);
      const sent = this.background('add inventory', async () => {
        const r = await this.api.request('add inventory', 'POST', this.inventoryHref, { productId, quantity });
        if (this.expectStatus(r, 201, `adding ${quantity} × ${productId}`)) this.unitsAdded += quantity;
      });
      if (sent) {
        if (n > quantity) this.pendingUnits.set(productId, n - quantity);
        else this.pendingUnits.delete(productId);
      }
    }
  }

  private async snapshotStock(): Promise<void> {
    const askedAt = Date.now();
    const r = await this.api.request('read stock', 'GET', `${this.inventoryHref}?size=1`);
    if (r.status === 200) this.stock.snapshot(r.body.counts ?? {}, askedAt);
  }

  // ---- orders ---------------------------------------------------------------------------

  private *unitsInFlight(): Iterable<Record<string, number>> {
    for (const o of this.ledger.inFlight.values()) yield o.units;
    yield* this.posting;
  }

  private sendOrder(): void {
    if (this.orderAccounts.length === 0) return this.skip('orders (no active account yet)');
    if ((this.busy.get('place order') ?? 0) + this.ledger.inFlight.size >= this.config.maxInFlight * 4) return this.skip('orders (too many in flight)');
    const kind = nextKind(this.config.chaos, this.config.chaosShare, this.random, this.config.chaosKinds as OrderKind[], this.chaosTurn);
    const free = this.stock.freeAll(this.config.products, this.unitsInFlight());
    const lines = orderLines(kind, free, this.runId, this.config, this.random);
    if (!lines) return this.skip('orders (waiting for stock)');
    if (kind !== 'normal') this.chaosTurn++;
    const account = this.orderAccounts[Math.floor(this.random() * this.orderAccounts.length)];
    const units = unitsOf(lines);
    const stocked = kind === 'out-of-stock' ? {} : units;
    this.posting.add(stocked);
    this.background('place order', async () => {
      try {
        const postedAt = Date.now();
        const r = await this.api.request('place order', 'POST', account.postOrderHref, { lineItems: lines, shippingAddress: ADDRESS });
        if (!this.expectStatus(r, 201, `placing a ${kind} order`)) return;
        const order: PendingOrder = { orderId: r.body.orderId, href: r.body._links.self.href, kind, expected: EXPECTED[kind], postedAt, nextPollAt: Date.now() + this.pollDelay(0), polls: 0, units: stocked };
        if (this.sending || this.posting.has(stocked)) this.ledger.placed(order);
      } finally {
        this.posting.delete(stocked);
      }
    });
  }

  /**
   * When to read an order back after `polls` reads: 100, 200, 400 ms, then every --poll-ms,
   * slower for orders that take long. Most orders end within a second, so early reads keep
   * the measured latency close to the real one without reading every order many times.
   */
  private pollDelay(polls: number): number {
    if (polls < 3) return Math.min(this.config.pollMs, 100 * 2 ** polls);
    return Math.min(this.config.pollMs * Math.max(1, polls / 8), 5_000);
  }

  private pollOrders(now: number): void {
    for (const order of this.ledger.inFlight.values()) {
      if (order.nextPollAt > now || this.polling.has(order.orderId)) continue;
      if (now - order.postedAt > this.config.orderTimeoutSeconds * 1000) {
        this.ledger.timedOut(order);
        continue;
      }
      if (this.polling.size >= this.config.maxInFlight) break;
      this.polling.add(order.orderId);
      const task = this.api
        .request('read order', 'GET', order.href)
        .then((r) => {
          const status = r.body?.status as string | undefined;
          if (r.status === 200 && (status === 'ORDER_SUCCEEDED' || status === 'ORDER_FAILED')) {
            if (this.ledger.inFlight.has(order.orderId)) {
              const at = Date.now();
              this.ledger.settled(order, status as Terminal, r.body.failureReason, at);
              this.stock.settled(order.units, at);
            }
          } else {
            if (r.status !== 200) this.expectStatus(r, 200, `reading order ${order.orderId}`);
            order.polls += 1;
            order.nextPollAt = Date.now() + this.pollDelay(order.polls);
          }
        })
        .finally(() => {
          this.polling.delete(order.orderId);
          this.tasks.delete(task);
        });
      this.tasks.add(task);
    }
  }

  // ---- chaos: conflicting commands --------------------------------------------------------

  /** The account the conflicts are played on: its own, never one that receives orders. */
  private conflictTarget(): Promise<OrderAccount | undefined> {
    this.conflictAccount ??= (async () => {
      const account = await this.registerAccount('create account');
      if (!account) return undefined;
      const commands = await this.whenActive(account);
      return commands ? { ...account, postOrderHref: commands.postOrder } : undefined;
    })();
    return this.conflictAccount;
  }

  private sendConflict(): void {
    if (this.conflictRunning) return this.skip('conflicts (previous one still running)');
    this.conflictRunning = true;
    this.background('conflict', async () => {
      try {
        const account = await this.conflictTarget();
        if (!account || !this.sending) return;
        const commands = await this.commandLinks(account.href);
        if (!commands.suspend || !commands.archive) return this.ledger.check(false, `conflict: active account ${account.id} offers no suspend/archive (${Object.keys(commands)})`);
        // Both are allowed on an active account, and each makes the other impossible: exactly one must win.
        const [a, b] = await Promise.all([this.api.request('conflict: suspend', 'POST', commands.suspend), this.api.request('conflict: archive', 'POST', commands.archive)]);
        const statuses = [a.status, b.status].sort();
        this.ledger.check(statuses[0] === 200 && statuses[1] === 409, `conflict: concurrent suspend + archive answered ${a.status} and ${b.status}, expected one 200 and one 409`);
        const after = await this.commandLinks(account.href);
        if (!after.activate) return this.ledger.check(false, `conflict: account ${account.id} offers no activate after the conflict (${Object.keys(after)})`);
        const r = await this.api.request('conflict: activate', 'POST', after.activate);
        this.ledger.check(r.status === 200, `conflict: reactivating answered ${r.status}, expected 200`);
      } finally {
        this.conflictRunning = false;
      }
    });
  }

  private async commandLinks(accountHref: string): Promise<Record<string, string>> {
    const r = await this.api.request('read commands', 'GET', `${accountHref}/commands`);
    if (r.status !== 200) return {};
    return Object.fromEntries(Object.entries(r.body._links as Record<string, { href: string }>).map(([rel, l]) => [rel, l.href]));
  }

  // ---- chaos: malformed requests ----------------------------------------------------------

  private sendMalformed(): void {
    const account = this.orderAccounts[0];
    if (!account) return this.skip('malformed (no active account yet)');
    const list = malformedRequests(this.links.orders, account.href, account.id);
    const m: MalformedRequest = list[this.malformedCursor++ % list.length];
    this.background('malformed', async () => {
      const r = await this.api.request(`malformed: ${m.name}`, m.method, m.path, m.body, m.raw);
      const ok = r.status === m.status && /application\/problem\+json/.test(r.contentType);
      this.ledger.check(ok, `malformed request "${m.name}" (${m.method} ${m.path}) answered ${r.status} ${r.contentType}, expected ${m.status} application/problem+json`);
    });
  }
}
