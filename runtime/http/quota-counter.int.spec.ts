import { expect } from 'chai';
import { createRedis, isCluster, type Redis } from '../messaging/redis';
import { freshPrefix, services } from '../../test/support/services';
import { QuotaCounter } from './quota-counter';

/** The request quota's counter against a real Redis: exact in one process, shared across several. */
describe('QuotaCounter (fixed-window quota, batched through Redis)', function () {
  this.timeout(20_000);
  let redis: Redis;
  let prefix: string;
  const WINDOW = 60_000;
  /** A moment early in a window, so that a test never straddles two. */
  const at = () => Math.floor(Date.now() / WINDOW) * WINDOW + 10;

  before(async () => {
    redis = createRedis((await services()).redisUrl, { lazyConnect: false });
    prefix = freshPrefix('quota');
  });
  after(() => redis.disconnect());

  it('allows exactly the quota in one process, then says how long until the window frees one', () => {
    const counter = new QuotaCounter(redis, `${prefix}a:`, 5, WINDOW);
    const now = at();
    const answers = Array.from({ length: 8 }, () => counter.take('client', now));
    expect(answers.slice(0, 5)).to.deep.equal([0, 0, 0, 0, 0]);
    expect(answers.slice(5)).to.deep.equal([WINDOW - 10, WINDOW - 10, WINDOW - 10]);
    expect(counter.take('another client', now)).to.equal(0);
  });

  it('shares the quota between processes once their counts have been flushed', async () => {
    const one = new QuotaCounter(redis, `${prefix}b:`, 10, WINDOW);
    const two = new QuotaCounter(redis, `${prefix}b:`, 10, WINDOW);
    const now = at();
    for (let i = 0; i < 6; i++) expect(one.take('c', now)).to.equal(0);
    await one.flush();
    // The second process learns the first one's six with its own first flush.
    expect(two.take('c', now)).to.equal(0);
    await two.flush();
    const allowed = Array.from({ length: 10 }, () => two.take('c', now)).filter((w) => w === 0).length;
    expect(allowed).to.equal(3); // 6 + 1 + 3 = 10
    expect(Number(await redis.get(`${prefix}b:${Math.floor(now / WINDOW)}:c`))).to.equal(7);
  });

  it('sends every count of a flush interval in one round trip, whatever the number of requests', async function () {
    // A cluster client sends them as single commands in one tick, pipelined per node by the client (keyedBatch).
    if (isCluster(redis)) this.skip();
    const counter = new QuotaCounter(redis, `${prefix}c:`, 1_000_000, WINDOW);
    const pipelines: number[] = [];
    const counting = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop === 'pipeline') return () => (pipelines.push(1), target.pipeline());
        return Reflect.get(target, prop, receiver);
      },
    });
    (counter as unknown as { redis: Redis }).redis = counting;
    const now = at();
    for (let i = 0; i < 500; i++) counter.take(`client-${i % 20}`, now);
    await counter.flush();
    expect(pipelines).to.have.length(1);
    expect(Number(await redis.get(`${prefix}c:${Math.floor(now / WINDOW)}:client-7`))).to.equal(25);
  });

  it('keeps counting in the process while Redis cannot be reached, and sends the counts once it can', async () => {
    const counter = new QuotaCounter(redis, `${prefix}d:`, 3, WINDOW);
    // Unreachable: a pipeline that fails (one Redis), commands that fail (a cluster: keyedBatch sends them one by one).
    const stubbed = redis as unknown as Record<'pipeline' | 'incrby' | 'pexpire', unknown>;
    const real = { pipeline: stubbed.pipeline, incrby: stubbed.incrby, pexpire: stubbed.pexpire };
    const closed = async () => {
      throw new Error('Connection is closed.');
    };
    Object.assign(stubbed, { pipeline: () => ({ incrby() {}, pexpire() {}, exec: closed }), incrby: closed, pexpire: closed });
    const now = at();
    try {
      expect([counter.take('x', now), counter.take('x', now)]).to.deep.equal([0, 0]);
      await counter.flush();
      expect(counter.take('x', now)).to.equal(0);
      expect(counter.take('x', now)).to.be.above(0);
    } finally {
      Object.assign(stubbed, real);
    }
    await counter.flush();
    expect(Number(await redis.get(`${prefix}d:${Math.floor(now / WINDOW)}:x`))).to.equal(3);
  });

  it('starts every client afresh in a new window', () => {
    const counter = new QuotaCounter(redis, `${prefix}e:`, 1, WINDOW);
    const now = at();
    expect(counter.take('y', now)).to.equal(0);
    expect(counter.take('y', now)).to.be.above(0);
    expect(counter.take('y', now + WINDOW)).to.equal(0);
  });
});
