import { expect } from 'chai';
import { ActorCache } from './actor-cache';

const state = (id: string, version: number) => ({ id, status: 's', context: {}, version });

describe('actor cache', () => {
  it('keeps the newest committed version of each actor', () => {
    const cache = new ActorCache(10);
    cache.put('a', state('a', 3));
    cache.put('a', state('a', 2)); // a commit whose callback ran late
    expect(cache.get('a')?.version).to.equal(3);
    cache.put('a', state('a', 5));
    expect(cache.get('a')?.version).to.equal(5);
  });

  it('never keeps an actor that does not exist yet', () => {
    const cache = new ActorCache(10);
    cache.put('a', state('a', 0));
    expect(cache.get('a')).to.equal(undefined);
  });

  it('evicts the least recently used actor beyond its capacity', () => {
    const cache = new ActorCache(2);
    cache.put('a', state('a', 1));
    cache.put('b', state('b', 1));
    cache.get('a'); // a is now the most recently used
    cache.put('c', state('c', 1));
    expect(cache.get('b')).to.equal(undefined);
    expect(cache.get('a')?.version).to.equal(1);
    expect(cache.get('c')?.version).to.equal(1);
    expect(cache.size).to.equal(2);
  });

  it('holds nothing with capacity 0 (the cache switched off)', () => {
    const cache = new ActorCache(0);
    cache.put('a', state('a', 1));
    expect(cache.size).to.equal(0);
  });
});
