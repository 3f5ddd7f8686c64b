import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Topology } from './topology';

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

  it('builds stream keys with the prefix and a {topic.pN} hash tag', () => {
    expect(topology.streamKey('accounts', 3)).to.equal('app:{accounts.p3}');
    expect(topology.streamKeys('orders')).to.deep.equal(['app:{orders.p0}', 'app:{orders.p1}', 'app:{orders.p2}', 'app:{orders.p3}']);
    expect(topology.destination('accounts', 3)).to.equal('accounts.p3');
  });

  it('parses a stream key back into topic and partition', () => {
    for (const [topic, partition] of [['accounts', 0], ['order.events', 12], ['a-b_c', 1023]] as const) {
      expect(topology.parseStreamKey(topology.streamKey(topic, partition))).to.deep.equal({ topic, partition });
    }
  });

  it('refuses a key that is not a stream key', () => {
    expect(() => topology.parseStreamKey('app:dead-letters')).to.throw(/Not a stream key/);
  });

  it('names the other keys under the prefix', () => {
    expect(topology.deadLetterKey()).to.equal('app:dead-letters');
    expect(topology.attemptsKey('accounts.activation')).to.equal('app:attempts:accounts.activation');
    expect(topology.bullPrefix()).to.equal('app:bull');
  });
});
