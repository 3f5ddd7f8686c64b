import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Topology } from './topology';
import { SLOTS, slotOf } from './slot-tags';

describe('topology', () => {
  const topology = new Topology('app:', 4);

  it('gives an actor the same partition every time, in range', () => {
    const id = '6f1c1d2e-0c4e-4a53-9a53-3c1d2f9e8b7a';
    const p = topology.partitionOf(id);
    expect(p).to.be.within(0, 3);
    expect(new Topology('other:', 4).partitionOf(id)).to.equal(p, 'the prefix must not change the partition');
    for (let i = 0; i < 5; i++) expect(topology.partitionOf(id)).to.equal(p);
  });

  it('is a fixed function of the id (stable across processes and releases)', () => {
    // FNV-1a 32-bit of "a" is 0xe40c292c; mod 4 = 0. Pinning it catches an accidental change of hash.
    expect(new Topology('', 1 << 30).partitionOf('a')).to.equal(0xe40c292c % (1 << 30));
    expect(topology.partitionOf('')).to.equal(0x811c9dc5 % 4);
  });

  it('spreads 10k ids roughly evenly over 4 partitions', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[topology.partitionOf(randomUUID())]++;
    for (const c of counts) expect(c).to.be.within(2_200, 2_800, `counts ${counts.join(',')}`);
  });

  it('keeps every partition within range for any partition count', () => {
    for (const partitions of [1, 3, 7, 1024]) {
      const t = new Topology('', partitions);
      for (let i = 0; i < 200; i++) expect(t.partitionOf(randomUUID())).to.be.within(0, partitions - 1);
    }
  });

  it('builds stream keys with the prefix and the partition\'s hash tag', () => {
    expect(topology.streamKey('accounts', 3)).to.match(/^app:\{p3-\d+\}:accounts$/);
    const keys = topology.streamKeys('orders');
    expect(keys).to.have.length(4);
    keys.forEach((k, p) => expect(k).to.match(new RegExp(`^app:\\{p${p}-\\d+\\}:orders$`)));
    expect(topology.destination('accounts', 3)).to.equal('accounts.p3');
  });

  it('puts every key of a partition in one slot, and partition n in the n-th P-th of the slots', () => {
    for (const partitions of [1, 2, 3, 4, 6, 7, 16, 1024]) {
      const t = new Topology('app:', partitions);
      for (const p of partitions > 64 ? [0, 1, 511, 1023] : Array.from({ length: partitions }, (_, i) => i)) {
        const slot = slotOf(t.streamKey('orders', p));
        expect([t.streamKey('orders.commands', p), t.deadLetterKey(p), t.attemptsKey('orders.saga', p)].map(slotOf), `P=${partitions} p${p}`).to.deep.equal([slot, slot, slot]);
        expect(slot, `P=${partitions} p${p}`).to.be.within(Math.floor((p * SLOTS) / partitions), Math.floor(((p + 1) * SLOTS) / partitions) - 1);
      }
    }
  });

  it('spreads P partitions evenly over the contiguous slot ranges of M masters when M divides P', () => {
    for (const [partitions, masters] of [[3, 3], [6, 3], [12, 3], [8, 4]]) {
      const t = new Topology('x:', partitions);
      const perMaster = new Array<number>(masters).fill(0);
      for (let p = 0; p < partitions; p++) perMaster[Math.floor((slotOf(t.streamKey('a', p)) * masters) / SLOTS)]++;
      expect(perMaster, `${partitions} over ${masters}`).to.deep.equal(new Array(masters).fill(partitions / masters));
    }
  });

  it('refuses a partition outside 0..P-1 (its tag would be looked for forever)', () => {
    expect(() => topology.streamKey('a', 4)).to.throw(RangeError);
    expect(() => topology.deadLetterKey(-1)).to.throw(RangeError);
  });

  it('parses a stream key back into topic and partition', () => {
    const wide = new Topology('app:', 1024);
    for (const [topic, partition] of [['accounts', 0], ['order.events', 12], ['a-b_c', 1023]] as const) {
      expect(wide.parseStreamKey(wide.streamKey(topic, partition))).to.deep.equal({ topic, partition });
    }
  });

  it('parses the partition from the tag of a key named under another PARTITIONS', () => {
    expect(topology.parseStreamKey(new Topology('app:', 7).streamKey('orders', 6))).to.deep.equal({ topic: 'orders', partition: 6 });
  });

  it('refuses a key that is not a stream key', () => {
    expect(() => topology.parseStreamKey(topology.deadLetterKey(1))).to.throw(/Not a stream key/);
    expect(() => topology.parseStreamKey('other:' + topology.streamKey('a', 1).slice(4))).to.throw(/Not a stream key/);
  });

  it('names the other keys under the prefix', () => {
    expect(topology.deadLetterKey(2)).to.match(/^app:\{p2-\d+\}dead-letters$/);
    expect(topology.attemptsKey('accounts.activation', 2)).to.match(/^app:\{p2-\d+\}attempts:accounts\.activation$/);
    expect(topology.leaseKey('g', 3)).to.equal('app:{leases:g}:p3');
    expect(topology.bullPrefix()).to.equal('app:{bull}');
  });
});
