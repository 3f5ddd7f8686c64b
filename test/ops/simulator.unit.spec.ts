/** The load simulator's pure parts (ops/simulator): settings, rates, the chaos plan, stock and latency bookkeeping. */
import { expect } from 'chai';
import { EXPECTED, nextKind, orderLines, unitsOf } from '../../ops/simulator/chaos';
import { DEFAULTS, parseConfig, UsageError } from '../../ops/simulator/config';
import { Histogram } from '../../ops/simulator/histogram';
import { RequestStats } from '../../ops/simulator/api';
import { Ledger, type PendingOrder } from '../../ops/simulator/ledger';
import { Progress } from '../../ops/simulator/progress';
import { formatSummary, summarize } from '../../ops/simulator/summary';
import { Rate } from '../../ops/simulator/rates';
import { StockLedger } from '../../ops/simulator/stock';

/** A repeatable random sequence (a small LCG), so the properties below are checked over many draws. */
function seeded(seed = 42): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

const cents = (amount: number) => Math.round(amount * 100) % 100;

describe('simulator settings', () => {
  it("defaults to the original's rates and mix", () => {
    const c = parseConfig([], {});
    expect(c).to.include({ url: 'http://127.0.0.1:3000', accountsPerMinute: 2, unitsPerSecond: 10, ordersPerSecond: 0.2, minLines: 1, maxLines: 3, orderAccounts: 5, chaos: false, speed: 1 });
    expect(c.products).to.deep.equal(['SKU-0', 'SKU-1', 'SKU-2', 'SKU-3', 'SKU-4', 'SKU-5', 'SKU-6', 'SKU-7', 'SKU-8', 'SKU-9']);
  });

  it('takes flags over environment variables over defaults', () => {
    const c = parseConfig(['--speed', '20', '--chaos', '--duration=60', '--products', 'A,B'], { SIM_SPEED: '5', SIM_ORDERS_PER_SECOND: '2', SIM_URL: 'http://h:1/' });
    expect(c).to.include({ speed: 20, chaos: true, durationSeconds: 60, ordersPerSecond: 2, url: 'http://h:1' });
    expect(c.products).to.deep.equal(['A', 'B']);
    expect(parseConfig(['--products', '3'], {}).products).to.deep.equal(['SKU-0', 'SKU-1', 'SKU-2']);
  });

  it('refuses unknown flags and bad values', () => {
    expect(() => parseConfig(['--nope'], {})).to.throw(UsageError, /unknown argument/);
    expect(() => parseConfig(['--speed', '-1'], {})).to.throw(UsageError, /--speed/);
    expect(() => parseConfig(['--min-lines', '4'], {})).to.throw(UsageError, /--min-lines/);
    expect(() => parseConfig(['--chaos-share', '2'], {})).to.throw(UsageError, /--chaos-share/);
    expect(() => parseConfig(['--chaos-kinds', 'declined,meteor'], {})).to.throw(UsageError, /unknown kind "meteor"/);
    expect(parseConfig(['--chaos-kinds', 'no-answer'], {}).chaosKinds).to.deep.equal(['no-answer']);
    expect(DEFAULTS.orderTimeoutSeconds).to.be.greaterThan(0);
  });
});

describe('simulator rates', () => {
  it('fires from elapsed time, without drift, fractional rates included', () => {
    const orders = new Rate(0.2);
    expect(orders.due(4_999)).to.equal(0);
    expect(orders.due(5_000)).to.equal(1);
    expect(orders.due(5_100)).to.equal(0);
    expect(orders.due(60_000)).to.equal(11); // 12 in a minute, one already fired
    const accounts = new Rate(1 / 30, true);
    expect(accounts.due(0)).to.equal(1); // the first account at once
    expect(accounts.due(29_999)).to.equal(0);
    expect(accounts.due(30_000)).to.equal(1);
    expect(new Rate(0.2 * 20).due(1_000)).to.equal(4); // --speed 20
  });
});

describe('simulator chaos plan', () => {
  const free = new Map([['SKU-0', 5], ['SKU-1', 1], ['SKU-2', 0]]);
  const options = { minLines: 1, maxLines: 3, maxQuantity: 3 };

  it('never builds an empty or zero-quantity order, nor one beyond the free stock, and keeps ordinary totals off the gateway rules', () => {
    const random = seeded();
    for (let i = 0; i < 500; i++) {
      const lines = orderLines('normal', free, 'run', options, random)!;
      expect(lines.length).to.be.within(1, 2); // SKU-2 has nothing free
      for (const l of lines) {
        expect(l.quantity).to.be.within(1, free.get(l.productId)!);
        expect(l.productId).to.not.equal('SKU-2');
      }
      const total = lines.reduce((t, l) => t + l.quantity * (l.price + l.tax), 0);
      expect(cents(total)).to.be.oneOf([0, 50]);
    }
    expect(orderLines('normal', new Map([['SKU-0', 0]]), 'run', options, random)).to.equal(undefined);
  });

  it('builds failing orders on the documented cents and an unstocked product', () => {
    const random = seeded(7);
    const declined = orderLines('declined', free, 'run', options, random)!;
    expect(declined).to.have.length(1);
    expect(cents(declined[0].price * declined[0].quantity + declined[0].tax)).to.equal(1);
    const noAnswer = orderLines('no-answer', free, 'run', options, random)!;
    expect(cents(noAnswer[0].price + noAnswer[0].tax)).to.equal(2);
    const oos = orderLines('out-of-stock', new Map(), 'r1', options, random)!;
    expect(oos[0].productId).to.equal('SKU-OOS-r1');
    expect(EXPECTED['out-of-stock'].reason!.test('no warehouse has 1 × SKU-OOS-r1 available')).to.equal(true);
    expect(EXPECTED.declined.reason!.test('payment declined: card declined')).to.equal(true);
    expect(unitsOf([...declined, ...declined])).to.deep.equal({ [declined[0].productId]: 2 });
  });

  it('sends failing orders at the chaos share only in chaos mode', () => {
    const random = seeded(3);
    const kinds = Array.from({ length: 4_000 }, () => nextKind(true, 0.25, random));
    const share = kinds.filter((k) => k !== 'normal').length / kinds.length;
    expect(share).to.be.within(0.2, 0.3);
    expect(new Set(kinds)).to.have.keys('normal', 'declined', 'no-answer', 'out-of-stock');
    expect(Array.from({ length: 100 }, () => nextKind(false, 1, random)).every((k) => k === 'normal')).to.equal(true);
    expect(new Set(Array.from({ length: 100 }, () => nextKind(true, 1, random, ['no-answer'])))).to.have.keys('no-answer');
  });

  it('sends the failing kinds in turn when it counts them, so a short run sends every kind', () => {
    const random = seeded(5);
    const sent = Array.from({ length: 6 }, (_, turn) => nextKind(true, 1, random, undefined, turn));
    expect(sent).to.deep.equal(['declined', 'no-answer', 'out-of-stock', 'declined', 'no-answer', 'out-of-stock']);
  });
});

describe('simulator stock ledger', () => {
  it('subtracts orders in flight and orders settled after the snapshot was asked for', () => {
    const stock = new StockLedger();
    stock.snapshot({ 'SKU-0': { RESERVATION_PENDING: 10, INVENTORY_RESERVED: 4 } }, 1_000);
    expect(stock.free('SKU-0', [{ 'SKU-0': 3 }])).to.equal(7);
    stock.settled({ 'SKU-0': 2 }, 1_500); // may have reserved after the snapshot
    expect(stock.freeAll(['SKU-0', 'SKU-1'], [])).to.deep.equal(new Map([['SKU-0', 8], ['SKU-1', 0]]));
    stock.snapshot({ 'SKU-0': { RESERVATION_PENDING: 8 } }, 2_000); // asked after it settled: it is in the counts now
    expect(stock.free('SKU-0', [])).to.equal(8);
  });
});

describe('simulator latency histogram', () => {
  it('gives percentiles within 2 % and the exact max', () => {
    const h = new Histogram();
    for (let ms = 1; ms <= 1_000; ms++) h.record(ms);
    expect(h.percentile(50)).to.be.within(490, 520);
    expect(h.percentile(99)).to.be.within(980, 1_000);
    expect(h.max).to.equal(1_000);
    expect(new Histogram().percentile(50)).to.equal(undefined);
  });
});

describe('simulator progress and summary', () => {
  const facts = { elapsedMs: 10_000, orders: 20, inFlight: 3, succeeded: 15, failed: 2, p99: 640, errors: 0, stopping: false };

  it('rewrites one line on a terminal, and prints a plain line every few seconds otherwise', () => {
    const written: string[] = [];
    const out = { write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const tty = new Progress('tty', 5_000, out);
    tty.update(facts, 0);
    tty.update(facts, 100);
    expect(written).to.have.length(2);
    expect(written[0]).to.match(/^\r\x1b\[2K10 s {2}orders\/s 2\.00 {2}in flight 3 {2}succeeded 15 {2}failed 2 {2}p99 640 ms {2}errors 0$/);
    written.length = 0;
    const plain = new Progress('plain', 5_000, out);
    for (const now of [10_000, 11_000, 14_999, 15_000]) plain.update(facts, now);
    expect(written).to.have.length(2);
    expect(written.every((l) => l.endsWith('\n') && !l.includes('\r'))).to.equal(true);
  });

  it('fails the run when an order ends otherwise than expected, and says which', () => {
    const ledger = new Ledger();
    const order = (orderId: string, kind: PendingOrder['kind'], status: 'ORDER_SUCCEEDED' | 'ORDER_FAILED'): PendingOrder => ({ orderId, href: `/v1/orders/${orderId}`, kind, expected: { status }, postedAt: 0, nextPollAt: 0, polls: 0, units: {} });
    const facts = { elapsedMs: 1_000, accountsCreated: 1, unitsAdded: 10, skipped: {}, abandoned: 0, memory: { rssMb: 1, heapUsedMb: 1, peakRssMb: 1, samples: [] } };
    const a = order('a', 'normal', 'ORDER_SUCCEEDED');
    ledger.placed(a);
    ledger.settled(a, 'ORDER_SUCCEEDED', undefined, 500);
    const stats = new RequestStats();
    stats.count('place order', 201);
    expect(summarize(stats, ledger, facts).ok).to.equal(true);
    const b = order('b', 'declined', 'ORDER_FAILED');
    ledger.placed(b);
    ledger.settled(b, 'ORDER_SUCCEEDED', undefined, 800);
    const s = summarize(stats, ledger, facts);
    expect(s.ok).to.equal(false);
    expect(s.ordersTotal).to.include({ placed: 2, asExpected: 1, unexpected: 1 });
    expect(formatSummary(s)).to.include('order b (declined) ended ORDER_SUCCEEDED, expected ORDER_FAILED').and.include('RESULT: FAILED');
  });
});
