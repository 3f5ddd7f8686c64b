import type { Db, Queryable } from '../store/database';
import { StartupError } from '../errors';
import { recordPartitions, recordedPartitions } from '../store/deployment-settings';
import { keyedBatch, unlinkAll, type Redis } from './redis';
import { Topology } from './topology';
import { MESSAGE_FIELD, compareEntryIds, entryField } from './stream-entry';
import { MOVING, isAttemptsKey, parseDeadLetterKey, partitionStreams, scanKeys } from './stream-scan';

/**
 * `tributary repartition --to N`: moves a stopped deployment's streams to N partitions.
 *
 * Every partition stream of the prefix (found by SCAN, so streams that no partition reads any
 * more are included) is read in pages; an entry that some consumer group has not finished
 * (pending in it, or after its last-delivered id) is copied, in entry id order, to the
 * temporary stream `<new key>:moving` of its actor's partition under N (same hash tag as the
 * final key, so the same Redis Cluster slot). Entries every group has finished are dropped.
 * Dead letters move the same way, to the dead letters of their actor's new partition (a
 * re-drive puts a letter back on its own partition's stream, in its slot).
 * Then the old streams go (their groups with them), each temporary stream is renamed to its
 * final key, every group is created at '0' on every new stream, the groups' attempt
 * counters are cleared, and N is recorded in Postgres, last. A group that had already handled
 * a moved entry (another group had not) skips it through its inbox.
 *
 * Progress is recorded in Postgres (`deployment_settings.repartition`), so an interrupted run
 * is finished by running the command again: in the copy phase the temporary streams are
 * dropped and copied again (the old streams are still whole); in the swap phase, the old keys
 * listed are deleted and the temporary streams that are left are renamed. While that row
 * exists no process starts (see deployment-settings.ts).
 */

/** What one topic's move did, for the command's output. */
export interface TopicMove {
  topic: string;
  /** Old partition streams read (their partition numbers). */
  from: number[];
  /** Entries some group had not finished, moved to the new streams. */
  moved: number;
  /** Entries every group had finished, dropped with the old streams. */
  dropped: number;
  /** Moved entries per new partition. */
  perPartition: number[];
}

export interface RepartitionResult {
  from: number;
  to: number;
  /** Whether this run finished an interrupted one. */
  resumed: boolean;
  topics: TopicMove[];
}

/** The consumer groups the loaded contexts run, with the topics each reads. */
export interface GroupTopics {
  group: string;
  topics: readonly string[];
}

interface Progress {
  to: number;
  phase: 'copy' | 'swap';
  /** Swap phase: the old stream keys to delete. */
  old?: string[];
  /** Swap phase: the final keys that get a temporary stream renamed onto them. */
  targets?: string[];
  topics?: TopicMove[];
  /** Swap phase: the groups of each topic (found on its old streams, or reading it), to create on the new streams. */
  groupsByTopic?: Record<string, string[]>;
}

const PAGE = 1_000;

/**
 * The workers that are live: a recent heartbeat in a group's lease members, or a lease held.
 * Any of them would read (and acknowledge) the streams while they are moved.
 */
export async function liveWorkers(redis: Redis, prefix: string, ttlMs: number): Promise<string[]> {
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const live = new Set<string>();
  for (const key of await scanKeys(redis, prefix)) {
    if (!key.startsWith(`${prefix}{leases:`)) continue;
    if (key.endsWith(':members')) for (const m of await redis.zrangebyscore(key, now - ttlMs, '+inf')) live.add(m);
    else {
      const owner = await redis.get(key);
      if (owner) live.add(owner);
    }
  }
  return [...live].sort();
}

interface GroupState {
  name: string;
  lastDelivered: string;
  pending: Set<string>;
}

/** Each group of a stream: its last-delivered id and its pending entry ids. */
async function groupsOf(redis: Redis, key: string): Promise<GroupState[]> {
  const info = (await redis.xinfo('GROUPS', key)) as (string | number)[][];
  const groups: GroupState[] = [];
  for (const flat of info) {
    const f: Record<string, string | number> = {};
    for (let i = 0; i < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
    const pending = new Set<string>();
    let start = '-';
    for (;;) {
      const rows = (await redis.xpending(key, String(f.name), start, '+', PAGE)) as [string, string, number, number][];
      for (const [id] of rows) pending.add(id);
      if (rows.length < PAGE) break;
      start = `(${rows[rows.length - 1][0]}`;
    }
    groups.push({ name: String(f.name), lastDelivered: String(f['last-delivered-id']), pending });
  }
  return groups;
}

/** Whether some group has not finished this entry (a group that reads the topic and has no group here has finished nothing). */
function unfinished(id: string, groups: GroupState[], missingGroup: boolean): boolean {
  if (missingGroup) return true;
  return groups.some((g) => g.pending.has(id) || compareEntryIds(id, g.lastDelivered) > 0);
}

async function readProgress(db: Queryable): Promise<Progress | undefined> {
  const { rows } = await db.raw<{ rows: { value: string }[] }>("SELECT value FROM deployment_settings WHERE name = 'repartition'");
  return rows[0] ? (JSON.parse(rows[0].value) as Progress) : undefined;
}

async function writeProgress(db: Queryable, progress: Progress): Promise<void> {
  await db.raw(
    `INSERT INTO deployment_settings (name, value, updated_at) VALUES ('repartition', ?, now())
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = now()`,
    [JSON.stringify(progress)],
  );
}

export interface RepartitionOptions {
  prefix: string;
  to: number;
  /** PARTITIONS of this process's configuration: the deployment's when none is recorded yet. */
  configured: number;
  groups: readonly GroupTopics[];
  leaseTtlMs: number;
  /** For tests: stop after the copy phase, or after deleting the old streams, as a crash would. */
  crashAfter?: 'copy' | 'delete';
}

/**
 * Moves the deployment to `to` partitions (see the module comment). Refuses, with a one-line
 * StartupError, while any worker is live.
 */
export async function repartition(db: Db, redis: Redis, options: RepartitionOptions): Promise<RepartitionResult> {
  const { prefix, to } = options;
  const from = await recordedPartitions(db, options.configured);
  let progress = await readProgress(db);
  if (progress && progress.to !== to)
    throw new StartupError(`an interrupted repartition to ${progress.to} is unfinished: run tributary repartition --to ${progress.to} to finish it first`);
  const resumed = !!progress;
  // The row first, then the look for live workers: a process that starts from now on refuses
  // (deployment-settings.ts), and one that started before shows in the leases. (One that is
  // between its PARTITIONS check and its first lease round is not seen: start none meanwhile.)
  if (!progress) await writeProgress(db, { to, phase: 'copy' });
  const live = await liveWorkers(redis, prefix, options.leaseTtlMs);
  if (live.length) {
    if (!resumed) await db.raw("DELETE FROM deployment_settings WHERE name = 'repartition'");
    throw new StartupError(`cannot repartition while ${live.length} worker(s) run (${live.join(', ')}): stop every worker (ROLE=worker or all) first`);
  }
  const target = new Topology(prefix, to);

  if (!progress || progress.phase === 'copy') {
    progress = await copyPhase(redis, target, options.groups);
    await writeProgress(db, progress);
    if (options.crashAfter === 'copy') return { from, to, resumed, topics: progress.topics ?? [] };
  }

  // Swap: the old streams go, the temporary ones take their final keys (one slot each).
  const targets = new Set(progress.targets);
  for (const key of progress.old ?? []) if (!targets.has(key)) await redis.del(key);
  if (options.crashAfter === 'delete') return { from, to, resumed, topics: progress.topics ?? [] };
  for (const key of progress.targets ?? []) {
    // The temporary stream is gone when an earlier run renamed it already.
    if (await redis.exists(key + MOVING)) await redis.multi().del(key).rename(key + MOVING, key).exec();
  }
  // Every group at '0' on every new stream of its topics (the loaded contexts' groups also on
  // topics never written yet, as a worker's start would).
  const readers = new Map<string, Set<string>>(Object.entries(progress.groupsByTopic ?? {}).map(([t, gs]) => [t, new Set(gs)]));
  for (const { group, topics } of options.groups) for (const topic of topics) readers.set(topic, (readers.get(topic) ?? new Set()).add(group));
  const batch = keyedBatch(redis);
  for (const [topic, groups] of readers) for (const key of target.streamKeys(topic)) for (const group of groups) batch.xgroup('CREATE', key, group, '0', 'MKSTREAM');
  for (const [err] of (await batch.exec()) ?? []) if (err && !String(err.message).includes('BUSYGROUP')) throw err;
  // Attempt counters are keyed by entry id: the moved entries have new ids.
  await unlinkAll(redis, (await scanKeys(redis, prefix, 'hash')).filter((k) => isAttemptsKey(prefix, k)));

  await recordAndFinish(db, to);
  return { from, to, resumed, topics: progress.topics ?? [] };
}

/** Records N and ends the repartition, in one transaction. */
async function recordAndFinish(db: Db, to: number): Promise<void> {
  await db.transaction(async (tx) => {
    await recordPartitions(tx, to);
    await tx.raw("DELETE FROM deployment_settings WHERE name = 'repartition'");
  });
}

/**
 * Copies every unfinished entry of every partition stream to the temporary stream of its
 * actor's new partition, in entry id order per topic, after dropping temporary streams a
 * crashed run left. Returns the swap phase's progress.
 */
async function copyPhase(redis: Redis, target: Topology, loaded: readonly GroupTopics[]): Promise<Progress> {
  const leftovers = (await scanKeys(redis, target.prefix)).filter((k) => k.endsWith(MOVING));
  await unlinkAll(redis, leftovers);
  const streams = await partitionStreams(redis, target.prefix);
  const topics: TopicMove[] = [];
  const old: string[] = [];
  const targets = new Set<string>();
  const byTopic: Record<string, string[]> = {};
  for (const [topic, list] of streams) {
    const readers = loaded.filter((g) => g.topics.includes(topic)).map((g) => g.group);
    const move: TopicMove = { topic, from: list.map((s) => s.partition), moved: 0, dropped: 0, perPartition: Array.from({ length: target.partitions }, () => 0) };
    // The unfinished entries of all old streams, merged in id order: an actor's entries keep their order.
    const entries: { id: string; fields: string[] }[] = [];
    const groupNames = new Set<string>(readers);
    for (const { key } of list) {
      old.push(key);
      const groups = await groupsOf(redis, key);
      for (const g of groups) groupNames.add(g.name);
      const missing = readers.some((r) => !groups.some((g) => g.name === r));
      let start = '-';
      for (;;) {
        const page = (await redis.xrange(key, start, '+', 'COUNT', PAGE)) as [string, string[]][];
        for (const [id, fields] of page) {
          if (unfinished(id, groups, missing)) entries.push({ id, fields });
          else move.dropped++;
        }
        if (page.length < PAGE) break;
        start = `(${page[page.length - 1][0]}`;
      }
    }
    byTopic[topic] = [...groupNames].sort();
    entries.sort((a, b) => compareEntryIds(a.id, b.id));
    for (let i = 0; i < entries.length; i += PAGE) {
      const batch = keyedBatch(redis);
      for (const { fields } of entries.slice(i, i + PAGE)) {
        const partition = target.partitionOf(actorOf(fields));
        const key = target.streamKey(topic, partition);
        targets.add(key);
        move.perPartition[partition]++;
        batch.xadd(key + MOVING, '*', ...fields);
      }
      for (const [err] of (await batch.exec()) ?? []) if (err) throw err;
    }
    move.moved = entries.length;
    topics.push(move);
  }
  await copyDeadLetters(redis, target, old, targets);
  return { to: target.partitions, phase: 'swap', old, targets: [...targets].sort(), topics, groupsByTopic: byTopic };
}

/**
 * Copies every dead letter to the temporary dead-letter stream of its actor's new partition
 * (a letter without a message, which has no actor, to its old partition's number mod N), in
 * parking order per old partition. Adds the old and final keys to the swap's lists.
 */
async function copyDeadLetters(redis: Redis, target: Topology, old: string[], targets: Set<string>): Promise<void> {
  for (const key of await scanKeys(redis, target.prefix, 'stream')) {
    const from = parseDeadLetterKey(target.prefix, key);
    if (from === undefined) continue;
    old.push(key);
    let start = '-';
    for (;;) {
      const page = (await redis.xrange(key, start, '+', 'COUNT', PAGE)) as [string, string[]][];
      const batch = keyedBatch(redis);
      for (const [, fields] of page) {
        // Dead letters keep the message in the same field as stream entries ('' when malformed).
        const partition = entryField(fields, MESSAGE_FIELD) ? target.partitionOf(actorOf(fields)) : from % target.partitions;
        const final = target.deadLetterKey(partition);
        targets.add(final);
        batch.xadd(final + MOVING, '*', ...fields);
      }
      for (const [err] of (await batch.exec()) ?? []) if (err) throw err;
      if (page.length < PAGE) break;
      start = `(${page[page.length - 1][0]}`;
    }
  }
}

/** The actor id of a stream entry's message: what its partition is computed from. */
function actorOf(fields: string[]): string {
  const json = entryField(fields, MESSAGE_FIELD);
  const id = json ? (JSON.parse(json) as { actor?: { id?: string } }).actor?.id : undefined;
  if (typeof id !== 'string') throw new Error(`a stream entry without an actor id cannot be placed: ${JSON.stringify(fields).slice(0, 200)}`);
  return id;
}

/** A plain-text summary of a repartition, one line per topic, for the CLI. */
export function formatRepartition(r: RepartitionResult): string {
  const lines = [`${r.resumed ? 'finished an interrupted repartition' : 'repartitioned'}: ${r.from} -> ${r.to} partitions`];
  for (const t of r.topics) {
    const spread = t.perPartition.map((n, p) => `p${p}:${n}`).join(' ');
    lines.push(`  ${t.topic}: read p${t.from.join(',p')}; moved ${t.moved} unfinished entries (${spread}); dropped ${t.dropped} finished`);
  }
  if (r.topics.length === 0) lines.push('  no streams to move');
  return `${lines.join('\n')}\n`;
}
