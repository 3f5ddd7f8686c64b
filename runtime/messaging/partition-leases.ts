import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database';
import type { Logger } from '../logger';
import { keyedBatch, type Redis } from './redis';
import type { Topology } from './topology';

/**
 * What a consumer needs to know of partition ownership: which partitions it may read now,
 * and the fencing token each of its batches must still hold when it commits.
 */
export interface PartitionOwnership {
  /** Partitions held and fenced; empty while the leases cannot be renewed. */
  owned(): readonly number[];
  /** The fencing token of a partition this process owns, or undefined. */
  tokenOf(partition: number): number | undefined;
  /** A batch found its token superseded: stop reading the partition until it is won again. */
  lost(partition: number): void;
}

export interface LeaseOptions {
  /** A lease (and a member's heartbeat) expires this long after its last renewal. */
  ttlMs: number;
  /** How often leases are renewed and the spread is recomputed. */
  renewMs: number;
}

/**
 * One call per group and round, atomic on the group's shard:
 * heartbeat this member, drop members whose heartbeat expired, compute the even spread
 * (partition p belongs to the (p mod N)-th live member in id order), then renew the leases
 * this member should hold, take those that are free, and give back those it should not
 * hold. Returns the partitions it holds. Time is the Redis server's, so process clocks
 * need not agree.
 *
 * KEYS[1] members zset, KEYS[2..P+1] the lease keys of partitions 0..P-1;
 * ARGV[1] member id, ARGV[2] TTL ms, ARGV[3] 'stay' or 'leave'.
 */
const LEASE_ROUND = `
local me, ttl = ARGV[1], tonumber(ARGV[2])
if ARGV[3] == 'leave' then
  redis.call('ZREM', KEYS[1], me)
  for i = 2, #KEYS do
    if redis.call('GET', KEYS[i]) == me then redis.call('DEL', KEYS[i]) end
  end
  return {}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, me)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('PEXPIRE', KEYS[1], ttl * 10)
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
table.sort(members)
local n, mine = #members, 0
for i, m in ipairs(members) do if m == me then mine = i - 1 end end
local held = {}
for p = 0, #KEYS - 2 do
  local key = KEYS[p + 2]
  local owner = redis.call('GET', key)
  local wanted = (p % n) == mine
  if owner == me then
    if wanted then
      redis.call('PEXPIRE', key, ttl)
      held[#held + 1] = p
    else
      redis.call('DEL', key)
    end
  elseif (not owner) and wanted then
    redis.call('SET', key, me, 'PX', ttl)
    held[#held + 1] = p
  end
end
return held
`;

type LeaseRedis = Redis & Record<string, (...args: (string | number)[]) => Promise<number[]>>;

/** Raises the fencing token of newly won partitions; waits for the old owner's open batches (FOR SHARE). */
const FENCE_SQL = `
  INSERT INTO partition_owners (consumer, partition, token, owner)
  SELECT ?, unnest(?::int[]), 1, ?
  ON CONFLICT (consumer, partition) DO UPDATE
    SET token = partition_owners.token + 1, owner = excluded.owner, acquired_at = now()
  RETURNING partition, token::int AS token`;

/** What the consumer of a group does when its share changes. */
export interface OwnershipHandlers {
  /** Runs before won partitions are read: take over the old owner's pending entries. */
  won(partitions: number[]): Promise<void>;
  /** Partitions were given back: stop a read in flight that still covers them. */
  gaveBack?(): void;
}

interface GroupState {
  readonly group: string;
  /** Partition -> fencing token, for partitions held in Redis and fenced in Postgres. */
  readonly owned: Map<number, number>;
  readonly handlers: OwnershipHandlers;
  /** Sorted copy of owned's keys, rebuilt on change (read on every consumer tick). */
  ownedList: number[];
}

/**
 * Partition ownership for one worker process, over every consumer group it runs.
 *
 * Each group's partitions are spread evenly over the live workers running that group,
 * through leases in Redis that the holder renews every `renewMs` and that expire after
 * `ttlMs`. A partition is read only after its new owner has raised its fencing token in
 * Postgres, and every batch checks that token in its own transaction, so a paused or
 * partitioned owner that lost its lease cannot commit. Workers that join or leave shift
 * the spread within about two rounds; a worker that dies frees its share after `ttlMs`.
 */
export class PartitionLeases {
  readonly memberId = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly groups = new Map<string, GroupState>();
  /** Leases are trusted until this time (last successful round start + TTL). */
  private validUntil = 0;
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  /** A round was asked for while one ran: run another right after it. */
  private again = false;
  private stopped = false;

  /**
   * @param subscriber a connection of its own for pub/sub: members announce joining and
   *   giving partitions back, so the others rebalance at once instead of at their next round.
   *   Without it, the spread still converges within a few `renewMs`.
   */
  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly topology: Topology,
    private readonly options: LeaseOptions,
    private readonly log: Logger,
    private readonly subscriber?: Redis,
  ) {
    // The key count is fixed per PARTITIONS, so a cluster client knows the keys (one slot) and routes the script there.
    if (!(this.command in redis)) redis.defineCommand(this.command, { numberOfKeys: topology.partitions + 1, lua: LEASE_ROUND });
  }

  /** Adds a consumer group to this process's share; returns the view its consumer reads. */
  join(group: string, handlers: OwnershipHandlers): PartitionOwnership {
    const state: GroupState = { group, owned: new Map(), handlers, ownedList: [] };
    this.groups.set(group, state);
    return {
      owned: () => (Date.now() < this.validUntil ? state.ownedList : []),
      tokenOf: (p) => (Date.now() < this.validUntil ? state.owned.get(p) : undefined),
      lost: (p) => {
        if (state.owned.delete(p)) {
          state.ownedList = sorted(state.owned);
          this.log.warn({ group, partition: p }, 'partition lease lost to a newer owner');
        }
      },
    };
  }

  /** The lease script's command name on the connection: one per key count. */
  private get command(): string {
    return `tributaryLeaseRound${this.topology.partitions}`;
  }

  private get channel(): string {
    return `${this.topology.prefix}leases`;
  }

  /**
   * Runs the first round (so a lone worker owns everything when start returns), tells the
   * other members it joined, then runs a round every `renewMs` and whenever a member announces.
   */
  async start(): Promise<void> {
    if (this.subscriber) {
      this.subscriber.on('message', (channel: string, from: string) => {
        if (channel === this.channel && from !== this.memberId) this.requestRound();
      });
      await this.subscriber.subscribe(this.channel);
    }
    this.requestRound();
    await this.round;
    await this.announce();
  }

  private requestRound(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.round = this.maintain()
      .then((gaveBack) => (gaveBack ? this.announce() : undefined))
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'partition lease round failed; retrying'))
      .finally(() => {
        this.round = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.requestRound();
        } else this.timer = setTimeout(() => this.requestRound(), this.options.renewMs);
      });
  }

  private async announce(): Promise<void> {
    if (this.subscriber) await this.redis.publish(this.channel, this.memberId);
  }

  /**
   * One round: heartbeat, renew/take/give back in Redis, fence what was won. Returns whether
   * it gave partitions back (others may take them now). Exposed for tests.
   */
  async maintain(): Promise<boolean> {
    const startedAt = Date.now();
    const groups = [...this.groups.values()];
    const pipeline = keyedBatch(this.redis) as unknown as Record<string, (...a: (string | number)[]) => void> & { exec(): Promise<[Error | null, unknown][] | null> };
    for (const g of groups) pipeline[this.command](...this.roundArgs(g.group, 'stay'));
    const replies = (await pipeline.exec()) ?? [];
    this.validUntil = startedAt + this.options.ttlMs;
    let gaveBack = false;
    for (let i = 0; i < groups.length; i++) {
      const [err, held] = replies[i] ?? [new Error('no reply')];
      if (err) {
        this.log.warn({ group: groups[i].group, err: err.message }, 'partition lease round failed for a group');
        continue;
      }
      if (await this.apply(groups[i], new Set(held as number[]))) gaveBack = true;
    }
    return gaveBack;
  }

  /** Brings a group's owned partitions in line with what it holds; returns whether it gave any up. */
  private async apply(g: GroupState, held: Set<number>): Promise<boolean> {
    let changed = false;
    let gaveBack = false;
    for (const p of g.owned.keys()) {
      if (!held.has(p)) {
        g.owned.delete(p);
        changed = gaveBack = true;
      }
    }
    const won = [...held].filter((p) => !g.owned.has(p));
    if (won.length) {
      const { rows } = await this.db.raw<{ rows: { partition: number; token: number }[] }>(FENCE_SQL, [g.group, won, this.memberId]);
      await g.handlers.won(won);
      for (const r of rows) g.owned.set(r.partition, r.token);
      changed = true;
    }
    if (gaveBack) g.handlers.gaveBack?.();
    if (changed) {
      g.ownedList = sorted(g.owned);
      this.log.info({ group: g.group, owned: g.ownedList, won }, 'partition ownership changed');
    }
    return gaveBack;
  }

  private roundArgs(group: string, mode: 'stay' | 'leave'): (string | number)[] {
    const keys = Array.from({ length: this.topology.partitions }, (_, p) => this.topology.leaseKey(group, p));
    return [this.topology.membersKey(group), ...keys, this.memberId, this.options.ttlMs, mode];
  }

  /**
   * Stops renewing and gives every lease back at once, so the other workers take the
   * partitions on their next round instead of after the TTL. Call after the consumers stopped.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await this.subscriber?.unsubscribe().catch(() => undefined);
    this.validUntil = 0;
    for (const g of this.groups.values()) {
      g.owned.clear();
      g.ownedList = [];
    }
    const redis = this.redis as LeaseRedis;
    try {
      await Promise.all([...this.groups.keys()].map((group) => redis[this.command](...this.roundArgs(group, 'leave'))));
      await this.announce();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not give partition leases back; they expire on their own');
    }
  }
}

const sorted = (owned: Map<number, number>) => [...owned.keys()].sort((a, b) => a - b);

/** A batch's partition was fenced by a newer owner: roll back, leave the entries pending for it. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly group: string, readonly partition: number) {
    super(`Partition ${partition} of ${group} has a newer owner`);
  }
}
