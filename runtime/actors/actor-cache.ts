import type { AggregateState } from './aggregate';

/**
 * Committed actor states of this process, least recently used first out, keyed by stream id.
 *
 * A worker owns its partitions, so the actors it handles are the ones it handled last: with
 * their state cached, loading one costs one indexed read of the events after the cached
 * version (usually none) and no fold, instead of reading and folding the snapshot and every
 * event since. Only committed states go in. A load outside a consumer's transaction still
 * asks the log for newer events, so a state another process changed is caught up, never
 * served stale; a consumer's transaction uses the cached state as it is and has it checked
 * when it commits (WriteBuffer: optimistic), and a stale one rolls it back and is forgotten.
 */
export class ActorCache {
  private readonly states = new Map<string, AggregateState<unknown>>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.states.size;
  }

  get<C>(streamId: string): AggregateState<C> | undefined {
    const state = this.states.get(streamId);
    if (state) {
      // Most recently used goes last (Map keeps insertion order).
      this.states.delete(streamId);
      this.states.set(streamId, state);
    }
    return state as AggregateState<C> | undefined;
  }

  /** Drops a state that may be stale (a transaction that used it rolled back). */
  forget(streamId: string): void {
    this.states.delete(streamId);
  }

  /** Keeps `state` unless the cache already holds this version or a later one. */
  put(streamId: string, state: AggregateState<unknown>): void {
    if (this.capacity === 0 || state.version === 0) return;
    const current = this.states.get(streamId);
    if (current && current.version >= state.version) return;
    this.states.delete(streamId);
    this.states.set(streamId, state);
    if (this.states.size > this.capacity) this.states.delete(this.states.keys().next().value!);
  }
}
