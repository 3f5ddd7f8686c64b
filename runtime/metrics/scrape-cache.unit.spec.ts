import { expect } from 'chai';
import { ScrapeCache } from './scrape-cache';

describe('ScrapeCache', () => {
  let clock = 0;
  const now = () => clock;

  beforeEach(() => (clock = 0));

  it('shares one collection among concurrent callers and reuses it while fresh', async () => {
    let calls = 0;
    let release!: () => void;
    const cache = new ScrapeCache(async () => {
      calls++;
      await new Promise<void>((r) => (release = r));
      return calls;
    }, 5_000, now);
    const waiting = Array.from({ length: 10 }, () => cache.get());
    release();
    expect(await Promise.all(waiting)).to.deep.equal(Array(10).fill(1));
    clock = 4_999;
    expect(await cache.get()).to.equal(1);
    expect(calls).to.equal(1);
  });

  it('collects again once the value is older than its age limit, counted from the answer', async () => {
    let calls = 0;
    const cache = new ScrapeCache(async () => {
      calls++;
      clock += 1_000; // a slow read
      return calls;
    }, 5_000, now);
    expect(await cache.get()).to.equal(1);
    clock += 4_000;
    expect(await cache.get()).to.equal(1);
    clock += 1_000;
    expect(await cache.get()).to.equal(2);
    expect(cache.runs).to.equal(2);
  });

  it('does not keep a failure: the callers that waited share it, the next caller tries again', async () => {
    let calls = 0;
    const cache = new ScrapeCache(async () => {
      calls++;
      if (calls === 1) throw new Error('postgres down');
      return calls;
    }, 5_000, now);
    const results = await Promise.allSettled([cache.get(), cache.get()]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    expect(calls).to.equal(1);
    expect(await cache.get()).to.equal(2);
  });
});
