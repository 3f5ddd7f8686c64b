/**
 * A real Redis Cluster on loopback, made of `redis-server` child processes, for tests and for
 * people (`npm run redis:cluster`, ops/redis-cluster/). No Docker: the development and CI
 * machines have `redis-server` and `redis-cli` (7.x) installed, and a cluster of local
 * processes is both faster to start and easier to hurt (SIGKILL a master) than containers.
 *
 * ```ts
 * const cluster = await startRedisCluster();            // 3 masters + 3 replicas
 * process.env.REDIS_URL = cluster.url;                  // redis+cluster://127.0.0.1:p1,...
 * const { ms, newMasterPort } = await cluster.failover(cluster.masterPorts()[0]);
 * await cluster.stop();                                 // every node killed, temp dir removed
 * ```
 *
 * Every node is a child of this process (not daemonized), tracked by pid: `stop()` kills
 * them, and a last-resort `process.on('exit')` handler kills whatever a test forgot. Nodes
 * keep nothing on disk but their `nodes.conf` (`save ""`, `appendonly no`), all of it in one
 * fresh temporary directory that `stop()` removes.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';

/**
 * Whether `redis-server` and `redis-cli` can be run here (`missing` says which cannot). A test
 * that starts a cluster skips itself without them, so `npm test` passes where Redis runs in a
 * container; CI installs them.
 */
export function redisClusterTools(options: Pick<RedisClusterOptions, 'redisServer' | 'redisCli'> = {}): { missing?: string } {
  for (const tool of [options.redisServer ?? 'redis-server', options.redisCli ?? 'redis-cli']) {
    const run = spawnSync(tool, ['--version'], { stdio: 'ignore', timeout: 5_000 });
    if (run.error || run.status !== 0) return { missing: `${tool} is not installed (apt-get install redis-server; it brings redis-cli)` };
  }
  return {};
}

/** In a mocha hook: skips the suite, saying why, when {@link redisClusterTools} finds a tool missing. */
export function skipWithoutRedisServer(ctx: { skip(): void }): void {
  const { missing } = redisClusterTools();
  if (!missing) return;
  console.log(`      skipped: ${missing}`);
  ctx.skip();
}

/** Redis Cluster's fixed slot count. */
export const CLUSTER_SLOTS = 16384;

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters, each owning an equal share of the slots (default 3; `redis-cli --cluster create` needs at least 3). */
  masters?: number;
  /** Replicas of each master (default 1; 0 gives a cluster that cannot fail over). */
  replicasPerMaster?: number;
  /**
   * `cluster-node-timeout` in ms (default 1000): how long a master must be silent before it
   * is considered failed, so it bounds how fast a failover starts. Redis's own default is
   * 15000; this is small so a failover test takes seconds, not half a minute.
   */
  nodeTimeoutMs?: number;
  /**
   * `cluster-require-full-coverage` (default true, as in Redis and in production): while some
   * slot has no live master the whole cluster refuses commands (CLUSTERDOWN), and
   * `cluster_state:ok` means every slot is served. That is the harsher behaviour a client
   * must survive during a failover; pass false to keep the other slots served meanwhile.
   */
  requireFullCoverage?: boolean;
  /**
   * Use the consecutive ports `basePort`, `basePort + 1`, ... (and their bus ports, + 10000)
   * instead of free ports the OS picks: a stable URL for people (`npm run redis:cluster --
   * --port 7000`). Start-up fails if one of them is taken. Tests leave it unset.
   */
  basePort?: number;
  /** How long start-up may take before it fails with the nodes' log tails (default 30000). */
  startTimeoutMs?: number;
  /** `redis-server` to run (default `redis-server` on PATH). */
  redisServer?: string;
  /** `redis-cli` to run (default `redis-cli` on PATH). */
  redisCli?: string;
}

/** One node as the cluster sees it now (`CLUSTER NODES`), plus the process this module started for it. */
export interface RedisClusterNode {
  /** The node's cluster id (40 hex characters). */
  id: string;
  port: number;
  /** Pid of the `redis-server` child, undefined when it is not running. */
  pid: number | undefined;
  /** Whether the process started for this port is running. */
  alive: boolean;
  role: 'master' | 'replica';
  /** For a replica: its master's id. */
  masterId: string | undefined;
  /** Inclusive slot ranges `[first, last]` this node serves (masters only). */
  slots: [number, number][];
  /** The flags of `CLUSTER NODES` (`myself`, `master`, `slave`, `fail?`, `fail`, ...). */
  flags: string[];
}

/** Result of {@link RedisCluster.failover}. */
export interface FailoverResult {
  /** The killed master's port. */
  killedPort: number;
  /** The replica promoted in its place. */
  newMasterPort: number;
  /** From the SIGKILL to the promoted replica serving the slots and `cluster_state:ok` on every live node. */
  ms: number;
}

/** A running local Redis Cluster; see {@link startRedisCluster}. */
export interface RedisCluster {
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`: every initial master as a seed, the form `REDIS_URL` takes. */
  readonly url: string;
  /** The seed nodes of {@link url}, for `new Redis.Cluster(cluster.seeds)`. */
  readonly seeds: { host: string; port: number }[];
  /** Every node's port, in start order. */
  readonly ports: number[];
  /** The temporary directory: one `<port>/` folder per node with its `redis.conf`, `nodes.conf` and `redis.log`. */
  readonly dir: string;
  /** How long {@link startRedisCluster} took, ms. */
  readonly startMs: number;
  /** The nodes as the cluster sees them now (`CLUSTER NODES` of a live node), sorted by port. */
  nodes(): Promise<RedisClusterNode[]>;
  /** Ports of the live masters that serve slots, now. */
  masterPorts(): Promise<number[]>;
  /** SIGKILL the node on `port` (by pid); resolves when the process has exited. The cluster is not waited for. */
  killNode(port: number): Promise<void>;
  /**
   * SIGKILL the master on `port`, then wait until one of its replicas has been promoted, serves
   * its slots, and every live node reports `cluster_state:ok` with all slots on live masters.
   * Throws if `port` is not a live master with a live replica, or after `timeoutMs` (default 30000).
   */
  failover(masterPort: number, timeoutMs?: number): Promise<FailoverResult>;
  /**
   * Start a killed node again with its own config and `nodes.conf`, and wait until every live
   * node sees it connected (and, if it came back as a replica, until it has synced with its
   * master). A master killed without a failover comes back EMPTY (nothing is persisted) but
   * still owning its slots: data loss, as in a real cluster without persistence. A master that
   * was failed over comes back as a replica of the one that replaced it.
   */
  restartNode(port: number, timeoutMs?: number): Promise<void>;
  /**
   * Log tail of one node (default: every node), for error messages.
   */
  logTail(port?: number, lines?: number): string;
  /** SIGKILL every node this cluster started (by pid), wait for them to exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Safety net: the children of every cluster of this process, killed by pid when it exits, so
// a test that throws before stop() (or mocha's --exit) cannot leave redis-servers behind.
// Only pids this module spawned are ever signalled.

const livePids = new Set<number>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of livePids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A node may still hold files open for a moment after SIGKILL; removal is best effort.
    for (const dir of liveDirs) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: got } = server.address() as net.AddressInfo;
      server.close(() => resolve(got));
    });
  });
}

/**
 * A port the OS says is free (listen on 0, close) whose cluster bus port (port + 10000) is
 * free too. The OS picks from the ephemeral range (32768–60999 on Linux), so ports above
 * 55535 (bus port past 65535) are skipped. `avoid`: ports already given to other nodes.
 */
async function freeClusterPort(avoid: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await listenOnce(0);
    if (port === undefined || port + 10000 > 65535) continue;
    if (avoid.has(port) || avoid.has(port + 10000) || avoid.has(port - 10000)) continue;
    if ((await listenOnce(port + 10000)) === undefined) continue;
    avoid.add(port);
    avoid.add(port + 10000);
    return port;
  }
  throw new Error('startRedisCluster: found no free port whose bus port (port + 10000) was free too, in 200 tries');
}

/** One command to the node on `port`, on a connection of its own: a killed node fails fast instead of hanging. */
async function ask<T = unknown>(port: number, command: string, ...args: (string | number)[]): Promise<T> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on('error', () => {
    // reported through the rejected command
  });
  try {
    await client.connect();
    return (await client.call(command, ...args)) as T;
  } finally {
    client.disconnect();
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

interface ParsedNode {
  id: string;
  port: number;
  flags: string[];
  masterId: string | undefined;
  linkState: string;
  slots: [number, number][];
}

/** `CLUSTER NODES` → one entry a line: `<id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`. */
function parseClusterNodes(text: string): ParsedNode[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id, address, flags, master, , , , linkState, ...slotFields] = line.split(' ');
      const port = Number(/:(\d+)@/.exec(address)?.[1] ?? /:(\d+)$/.exec(address)?.[1]);
      const slots: [number, number][] = [];
      for (const field of slotFields) {
        if (field.startsWith('[')) continue; // a slot being imported or migrated, not owned
        const [first, last] = field.split('-').map(Number);
        slots.push([first, last ?? first]);
      }
      return { id, port, flags: flags.split(','), masterId: master === '-' ? undefined : master, linkState, slots };
    });
}

type SlotsReply = [number, number, [string, number, string?], ...[string, number, string?][]][];

/** What one node's `CLUSTER SLOTS` says: slots covered, the master ports and replica ports it lists. */
function summarizeSlots(reply: SlotsReply): { covered: number; masters: Set<number>; replicas: Set<number>; replicasPerRange: number[] } {
  let covered = 0;
  const masters = new Set<number>();
  const replicas = new Set<number>();
  const replicasPerRange: number[] = [];
  for (const [first, last, master, ...reps] of reply) {
    covered += last - first + 1;
    masters.add(Number(master[1]));
    for (const r of reps) replicas.add(Number(r[1]));
    replicasPerRange.push(reps.length);
  }
  return { covered, masters, replicas, replicasPerRange };
}

function runFile(file: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------

interface NodeProcess {
  port: number;
  dir: string;
  confPath: string;
  logPath: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
}

/**
 * Start a Redis Cluster of `masters × (1 + replicasPerMaster)` local `redis-server` processes on
 * free loopback ports, create it with `redis-cli --cluster create`, and resolve once every node
 * reports `cluster_state:ok` and its `CLUSTER SLOTS` covers all 16384 slots with the expected
 * masters and replicas (and every replica has synced with its master, so `WAIT` works at once).
 * A 3 + 3 cluster starts in about 2.5 s. On failure every node is killed, the temp dir is
 * removed, and the error carries the nodes' log tails.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const tools = redisClusterTools(options);
  if (tools.missing) throw new Error(`startRedisCluster: ${tools.missing}`);
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000;
  const requireFullCoverage = options.requireFullCoverage ?? true;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const redisServer = options.redisServer ?? 'redis-server';
  const redisCli = options.redisCli ?? 'redis-cli';
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`startRedisCluster: masters must be an integer of at least 3 (redis-cli --cluster create), not ${masters}`);
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) throw new Error(`startRedisCluster: replicasPerMaster must be an integer ≥ 0, not ${replicasPerMaster}`);
  const basePort = options.basePort;
  if (basePort !== undefined && (!Number.isInteger(basePort) || basePort < 1024 || basePort + masters * (1 + replicasPerMaster) - 1 + 10000 > 65535)) {
    throw new Error(`startRedisCluster: basePort must be an integer from 1024 such that every bus port (port + 10000) stays ≤ 65535, not ${basePort}`);
  }
  if (!Number.isInteger(nodeTimeoutMs) || nodeTimeoutMs < 100) throw new Error(`startRedisCluster: nodeTimeoutMs must be an integer ≥ 100, not ${nodeTimeoutMs}`);

  installExitHook();
  const startedAt = Date.now();
  const deadline = startedAt + startTimeoutMs;
  const total = masters * (1 + replicasPerMaster);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tributary-redis-cluster-'));
  liveDirs.add(dir);
  const nodes = new Map<number, NodeProcess>();
  const usedPorts = new Set<number>();
  let stopping: Promise<void> | undefined;

  const logTail = (port?: number, lines = 15): string => {
    const ports = port === undefined ? [...nodes.keys()] : [port];
    return ports
      .map((p) => {
        const node = nodes.get(p);
        let text = '';
        try {
          text = node ? fs.readFileSync(node.logPath, 'utf8') : '(no such node)';
        } catch {
          text = '(no log)';
        }
        return `--- ${p} (${node?.logPath ?? '?'}) ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  };

  /** Poll `probe` until it returns a value (not undefined), or throw a clear error with log tails. */
  const until = async <T>(what: string, probe: () => Promise<T | undefined>, by: number, ports?: number[]): Promise<T> => {
    let last: unknown;
    for (;;) {
      try {
        const value = await probe();
        if (value !== undefined) return value;
        last = undefined;
      } catch (err) {
        last = err;
      }
      if (Date.now() > by) {
        const why = last instanceof Error ? ` (last error: ${last.message})` : '';
        const tails = (ports ?? [...nodes.keys()]).map((p) => logTail(p, 10)).join('\n');
        throw new Error(`Redis cluster in ${dir}: timed out waiting for ${what}${why}\n${tails}`);
      }
      await sleep(100);
    }
  };

  const writeConfig = (port: number): NodeProcess => {
    const nodeDir = path.join(dir, String(port));
    fs.mkdirSync(nodeDir, { recursive: true });
    const confPath = path.join(nodeDir, 'redis.conf');
    fs.writeFileSync(
      confPath,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        // Loopback only, no password: protected mode would refuse nothing here, but say so.
        'protected-mode yes',
        `dir ${nodeDir}`,
        'cluster-enabled yes',
        // Relative to `dir`: the node's identity and its view of the cluster, kept across restartNode().
        'cluster-config-file nodes.conf',
        `cluster-node-timeout ${nodeTimeoutMs}`,
        // 0: a replica fails over however long it has been cut off from its master. The
        // default (10) makes a replica that was disconnected "too long" refuse to be promoted,
        // which in a test on a busy machine would turn a failover into a cluster that stays down.
        'cluster-replica-validity-factor 0',
        `cluster-require-full-coverage ${requireFullCoverage ? 'yes' : 'no'}`,
        // Nothing persisted: a test cluster is thrown away, and disk writes only slow it down.
        'appendonly no',
        'save ""',
        // A replica's first sync is diskless; Redis waits 5 s by default for more replicas to
        // share the transfer. One replica per master gains nothing from the wait, and it would
        // make start-up (and a restarted node's rejoin) five seconds slower.
        'repl-diskless-sync-delay 0',
        // Redis 7 hides from CLUSTER SLOTS a replica whose replication offset is still 0, and on
        // an idle master the offset only moves with the master's pings to its replicas (every
        // 10 s by default): the cluster would look replica-less for up to 10 s after start-up.
        'repl-ping-replica-period 1',
        // Logs go to stdout, which is the node's redis.log (the spawn below).
        'logfile ""',
        'daemonize no',
        '',
      ].join('\n'),
    );
    return { port, dir: nodeDir, confPath, logPath: path.join(nodeDir, 'redis.log'), child: undefined, exited: Promise.resolve() };
  };

  const spawnNode = (node: NodeProcess): void => {
    const log = fs.openSync(node.logPath, 'a');
    let child: ChildProcess;
    try {
      // Not detached: the nodes stay in our process group, so a Ctrl-C in a terminal reaches them too.
      child = spawn(redisServer, [node.confPath], { stdio: ['ignore', log, log], cwd: node.dir });
    } finally {
      fs.closeSync(log);
    }
    node.child = child;
    const pid = child.pid;
    if (pid !== undefined) livePids.add(pid);
    node.exited = new Promise<void>((resolve) => {
      const done = () => {
        if (pid !== undefined) livePids.delete(pid);
        resolve();
      };
      child.once('exit', done);
      child.once('error', (err) => {
        fs.appendFileSync(node.logPath, `spawn ${redisServer} failed: ${err.message}\n`);
        done();
      });
    });
  };

  const isRunning = (node: NodeProcess | undefined): boolean => !!node?.child && node.child.exitCode === null && node.child.signalCode === null && node.child.pid !== undefined;

  /** Spawn and wait for PING; if the node exits first (say its port was taken meanwhile) the caller retries on another port. */
  const startNode = async (node: NodeProcess, by: number): Promise<boolean> => {
    spawnNode(node);
    let exited = false;
    void node.exited.then(() => (exited = true));
    for (;;) {
      if (exited) return false;
      try {
        if ((await ask<string>(node.port, 'PING')) === 'PONG') return true;
      } catch {
        // not listening yet
      }
      if (Date.now() > by) throw new Error(`Redis cluster in ${dir}: node ${node.port} did not answer PING\n${logTail(node.port)}`);
      await sleep(50);
    }
  };

  const killPid = (node: NodeProcess): Promise<void> => {
    if (isRunning(node)) {
      try {
        node.child!.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    return node.exited;
  };

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // SIGKILL, not SIGTERM: nothing is persisted, so a clean shutdown saves nothing, and
      // SIGKILL cannot be ignored or delayed. Exits are awaited (bounded) before the dir goes.
      await Promise.race([Promise.all([...nodes.values()].map(killPid)), sleep(5000)]);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
      liveDirs.delete(dir);
    })());

  const liveNodes = () => [...nodes.values()].filter(isRunning);

  /** Every live node: cluster_state:ok, and CLUSTER SLOTS covering every slot with live masters only. */
  const healthyEverywhere = async (expect?: { masters: number; replicas: number; replicasPerRange: number }): Promise<true | undefined> => {
    const live = new Set(liveNodes().map((n) => n.port));
    for (const port of live) {
      const info = await ask<string>(port, 'CLUSTER', 'INFO');
      if (infoField(info, 'cluster_state') !== 'ok') return undefined;
      const slots = summarizeSlots(await ask<SlotsReply>(port, 'CLUSTER', 'SLOTS'));
      if (slots.covered !== CLUSTER_SLOTS) return undefined;
      if ([...slots.masters].some((p) => !live.has(p))) return undefined;
      if (expect) {
        if (slots.masters.size !== expect.masters || slots.replicas.size !== expect.replicas) return undefined;
        if (slots.replicasPerRange.some((n) => n !== expect.replicasPerRange)) return undefined;
      }
    }
    return true;
  };

  /** Every live replica has finished its sync with its master (so WAIT n can be satisfied). */
  const replicasSynced = async (): Promise<true | undefined> => {
    for (const node of liveNodes()) {
      const info = await ask<string>(node.port, 'INFO', 'replication');
      if (infoField(info, 'role') === 'slave' && infoField(info, 'master_link_status') !== 'up') return undefined;
    }
    return true;
  };

  const readNodes = async (): Promise<RedisClusterNode[]> => {
    let lastError: unknown;
    for (const node of liveNodes()) {
      try {
        const parsed = parseClusterNodes(await ask<string>(node.port, 'CLUSTER', 'NODES'));
        return parsed
          .map((p) => {
            const own = nodes.get(p.port);
            const alive = isRunning(own);
            return {
              id: p.id,
              port: p.port,
              pid: alive ? own!.child!.pid : undefined,
              alive,
              role: p.flags.includes('master') ? ('master' as const) : ('replica' as const),
              masterId: p.masterId,
              slots: p.slots,
              flags: p.flags.filter((f) => f !== 'noflags'),
            };
          })
          .sort((a, b) => a.port - b.port);
      } catch (err) {
        lastError = err;
      }
    }
    throw new Error(`Redis cluster in ${dir}: no live node answered CLUSTER NODES${lastError instanceof Error ? ` (${lastError.message})` : ''}`);
  };

  try {
    // 1. Nodes, each on a free port, started together; a node whose port was taken between
    //    the check and its bind exits at once, and gets another port. Ports are chosen one
    //    after the other so no two nodes (or bus ports) can get the same one.
    const chosen: number[] = [];
    for (let i = 0; i < total; i++) {
      if (basePort === undefined) {
        chosen.push(await freeClusterPort(usedPorts));
        continue;
      }
      const port = basePort + i;
      for (const p of [port, port + 10000]) {
        if ((await listenOnce(p)) === undefined) throw new Error(`startRedisCluster: port ${p} (${p === port ? 'node' : 'cluster bus of ' + port}) is in use: pick another basePort`);
      }
      chosen.push(port);
    }
    const started = await Promise.all(
      chosen.map(async (firstPort) => {
        let port = firstPort;
        for (let attempt = 1; ; attempt++) {
          // Another node failed and start-up is being undone: spawn nothing more.
          if (stopping) throw new Error(`Redis cluster in ${dir}: start-up abandoned`);
          const node = writeConfig(port);
          nodes.set(port, node);
          if (await startNode(node, deadline)) return port;
          const tail = logTail(port);
          nodes.delete(port);
          if (attempt >= 3 || basePort !== undefined) throw new Error(`Redis cluster in ${dir}: redis-server on ${port} exited at start-up${basePort === undefined ? ' three times' : ''}\n${tail}`);
          port = await freeClusterPort(usedPorts);
        }
      }),
    );
    // In the order chosen: redis-cli makes the first `masters` of them the masters.
    const ports = started;

    // 2. The cluster: redis-cli assigns the slots to the first `masters` nodes in equal shares
    //    and the rest as their replicas, then waits for the nodes to agree on the configuration.
    try {
      await runFile(
        redisCli,
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
        Math.max(1000, deadline - Date.now()),
      );
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`Redis cluster in ${dir}: redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${logTail()}`);
    }

    // 3. Ready means ready for a client on every node: ioredis may ask any seed for the slot
    //    map, and a replica still in its first sync would make `WAIT 1` time out.
    await until(
      `cluster_state:ok and all ${CLUSTER_SLOTS} slots on ${masters} masters with ${replicasPerMaster} replica(s) each, on every node`,
      () => healthyEverywhere({ masters, replicas: masters * replicasPerMaster, replicasPerRange: replicasPerMaster }),
      deadline,
    );
    await until('every replica in sync with its master (master_link_status:up)', replicasSynced, deadline);

    const initialMasters = (await readNodes()).filter((n) => n.role === 'master' && n.slots.length > 0).map((n) => n.port);
    const seeds = initialMasters.map((port) => ({ host: '127.0.0.1', port }));
    const startMs = Date.now() - startedAt;

    const requireNode = (port: number): NodeProcess => {
      const node = nodes.get(port);
      if (!node) throw new Error(`Redis cluster in ${dir}: no node on port ${port} (nodes: ${ports.join(', ')})`);
      return node;
    };

    return {
      url: `redis+cluster://${seeds.map((s) => `${s.host}:${s.port}`).join(',')}`,
      seeds,
      ports,
      dir,
      startMs,
      nodes: readNodes,
      logTail,
      stop,

      async masterPorts() {
        return (await readNodes()).filter((n) => n.alive && n.role === 'master' && n.slots.length > 0).map((n) => n.port);
      },

      async killNode(port) {
        await killPid(requireNode(port));
      },

      async failover(masterPort, timeoutMs = 30_000) {
        const node = requireNode(masterPort);
        const before = await readNodes();
        const master = before.find((n) => n.port === masterPort);
        if (!master || !master.alive || master.role !== 'master' || master.slots.length === 0) {
          throw new Error(`Redis cluster in ${dir}: ${masterPort} is not a live master serving slots (${master ? master.flags.join(',') : 'unknown'})`);
        }
        const replicas = before.filter((n) => n.masterId === master.id && n.alive);
        if (replicas.length === 0) throw new Error(`Redis cluster in ${dir}: master ${masterPort} has no live replica to fail over to`);
        const firstSlot = master.slots[0][0];

        const killedAt = Date.now();
        await killPid(node);
        const by = killedAt + timeoutMs;
        const watched = [masterPort, ...replicas.map((r) => r.port)];
        // Promoted: a former replica now a master serving the old master's first slot, on
        // the view of the live node asked; then healthy on EVERY live node.
        const newMasterPort = await until(
          `a replica of ${masterPort} (${replicas.map((r) => r.port).join(', ')}) to be promoted`,
          async () => {
            const now = await readNodes();
            const promoted = now.find(
              (n) => replicas.some((r) => r.id === n.id) && n.role === 'master' && n.slots.some(([a, b]) => a <= firstSlot && firstSlot <= b),
            );
            return promoted?.port;
          },
          by,
          watched,
        );
        await until(`cluster_state:ok on every live node after ${masterPort} failed over to ${newMasterPort}`, () => healthyEverywhere(), by, watched);
        return { killedPort: masterPort, newMasterPort, ms: Date.now() - killedAt };
      },

      async restartNode(port, timeoutMs = 30_000) {
        const node = requireNode(port);
        if (isRunning(node)) throw new Error(`Redis cluster in ${dir}: node ${port} is still running (killNode it first)`);
        if (stopping) throw new Error(`Redis cluster in ${dir}: stopped`);
        const by = Date.now() + timeoutMs;
        if (!(await startNode(node, by))) throw new Error(`Redis cluster in ${dir}: node ${port} exited at restart\n${logTail(port)}`);
        // Rejoined: no live node still flags it failed and its links are up; as a replica, synced.
        await until(
          `node ${port} to rejoin the cluster`,
          async () => {
            for (const other of liveNodes()) {
              const seen = parseClusterNodes(await ask<string>(other.port, 'CLUSTER', 'NODES')).find((n) => n.port === port);
              if (!seen || seen.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr')) return undefined;
              if (seen.linkState !== 'connected') return undefined;
            }
            const info = await ask<string>(port, 'INFO', 'replication');
            if (infoField(info, 'role') === 'slave' && infoField(info, 'master_link_status') !== 'up') return undefined;
            return true;
          },
          by,
          [port],
        );
        await until(`cluster_state:ok on every live node after restarting ${port}`, () => healthyEverywhere(), by, [port]);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
