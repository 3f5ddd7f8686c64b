import { expect } from 'chai';
import { cachedCheck } from './health';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A probe that counts its calls and answers as told. */
function probe(answer: () => Promise<unknown>) {
  const p = { calls: 0, run: () => (p.calls++, answer()) };
  return p;
}

describe('readiness checks (cachedCheck)', () => {
  it('says up when the probe answers, and down with the reason when it fails', async () => {
    expect(await cachedCheck(async () => 1)()).to.equal('up');
    expect(await cachedCheck(async () => Promise.reject(new Error('connect ECONNREFUSED')))()).to.equal('down: connect ECONNREFUSED');
  });

  it('names the driver error behind a typed one', async () => {
    const err = Object.assign(new Error('Database unavailable; retry later'), { cause: new Error('read ECONNRESET') });
    expect(await cachedCheck(async () => Promise.reject(err))()).to.equal('down: Database unavailable; retry later (read ECONNRESET)');
  });

  it('says down when the probe does not answer within its timeout', async () => {
    const began = Date.now();
    expect(await cachedCheck(() => new Promise(() => undefined), 50)()).to.equal('down: no answer within 50 ms');
    expect(Date.now() - began).to.be.below(500);
  });

  it('probes at most once per period: concurrent and later callers share the answer', async () => {
    const p = probe(async () => sleep(20));
    const check = cachedCheck(p.run, 1_000, 100);
    expect(await Promise.all([check(), check(), check()])).to.deep.equal(['up', 'up', 'up']);
    expect(await check()).to.equal('up');
    expect(p.calls).to.equal(1);
    await sleep(120);
    expect(await check()).to.equal('up');
    expect(p.calls).to.equal(2);
  });

  it('does not pile probes up while a backing service does not answer', async () => {
    const p = probe(() => new Promise(() => undefined));
    const check = cachedCheck(p.run, 50, 100);
    const answers = await Promise.all(Array.from({ length: 20 }, () => check()));
    expect(new Set(answers)).to.deep.equal(new Set(['down: no answer within 50 ms']));
    expect(p.calls).to.equal(1);
  });

  it('follows the service back up once the period has passed', async () => {
    let up = false;
    const check = cachedCheck(async () => (up ? 1 : Promise.reject(new Error('down'))), 50, 30);
    expect(await check()).to.equal('down: down');
    up = true;
    expect(await check()).to.equal('down: down'); // cached
    await sleep(40);
    expect(await check()).to.equal('up');
  });
});
