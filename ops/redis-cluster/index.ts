/**
 * `npm run redis:cluster`: a real Redis Cluster on this machine, in the foreground, for people
 * (the test kit's startRedisCluster, runtime/testing/redis-cluster.ts: local `redis-server`
 * processes, no Docker). Prints the REDIS_URL to use, takes a few commands on stdin to hurt the
 * cluster (kill a node, fail a master over, bring a node back), and on Ctrl-C or SIGTERM kills
 * every node and removes its temporary directory. Exits 0 after a clean stop, 1 when the
 * cluster could not start, 2 on a usage error. See ops/redis-cluster/README.md.
 */
import readline from 'node:readline';
import { startRedisCluster, type RedisCluster, type RedisClusterOptions } from '../../runtime/testing/redis-cluster';

const HELP = `usage: npm run redis:cluster -- [--masters N] [--replicas R] [--port P] [--node-timeout MS]

  --masters N        masters (default 3, at least 3)
  --replicas R       replicas of each master (default 1)
  --port P           use ports P, P+1, ... (bus ports +10000) instead of free ones the OS picks
  --node-timeout MS  cluster-node-timeout (default 1000: a killed master fails over in ~2.5 s)

Commands on stdin while it runs:
  nodes              the nodes, their roles and slots
  failover [PORT]    SIGKILL a master (default: the first) and wait for its replica to take over
  kill PORT          SIGKILL a node, nothing more
  restart PORT       start a killed node again (a failed-over master comes back as a replica)
  stop               the same as Ctrl-C`;

class UsageError extends Error {}

function parseArgs(argv: string[]): RedisClusterOptions & { help?: boolean } {
  const options: RedisClusterOptions & { help?: boolean } = {};
  const int = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`${flag} takes a whole number, not ${value ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--masters':
        options.masters = int(flag, value());
        break;
      case '--replicas':
        options.replicasPerMaster = int(flag, value());
        break;
      case '--port':
        options.basePort = int(flag, value());
        break;
      case '--node-timeout':
        options.nodeTimeoutMs = int(flag, value());
        break;
      case '-h':
      case '--help':
        options.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${argv[i]}`);
    }
  }
  return options;
}

async function describe(cluster: RedisCluster): Promise<string> {
  const nodes = await cluster.nodes();
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return nodes
    .map((n) => {
      const what = n.role === 'master' ? `master  slots ${n.slots.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',') || '-'}` : `replica of ${byId.get(n.masterId ?? '')?.port ?? n.masterId}`;
      return `  127.0.0.1:${n.port}  ${n.alive ? `pid ${n.pid}` : 'down'}  ${what}${n.flags.some((f) => f.startsWith('fail')) ? '  (failed)' : ''}`;
    })
    .join('\n');
}

async function command(cluster: RedisCluster, line: string): Promise<void> {
  const [name, arg] = line.trim().split(/\s+/);
  const port = arg === undefined ? undefined : Number(arg);
  switch (name) {
    case '':
      return;
    case 'nodes':
      process.stdout.write(`${await describe(cluster)}\n`);
      return;
    case 'failover': {
      const target = port ?? (await cluster.masterPorts())[0];
      process.stdout.write(`killing master ${target}...\n`);
      const r = await cluster.failover(target);
      process.stdout.write(`${r.killedPort} failed over to ${r.newMasterPort} in ${r.ms} ms\n`);
      return;
    }
    case 'kill':
      if (port === undefined) throw new Error('kill PORT');
      await cluster.killNode(port);
      process.stdout.write(`killed ${port}\n`);
      return;
    case 'restart':
      if (port === undefined) throw new Error('restart PORT');
      await cluster.restartNode(port);
      process.stdout.write(`${port} is back\n`);
      return;
    case 'help':
      process.stdout.write(`${HELP}\n`);
      return;
    default:
      throw new Error(`unknown command ${name} (help lists them)`);
  }
}

async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`redis:cluster: ${err.message}\n${HELP}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }

  let cluster: RedisCluster;
  try {
    cluster = await startRedisCluster(options);
  } catch (err) {
    process.stderr.write(`redis:cluster: ${(err as Error).message}\n`);
    return 1;
  }
  const firstPort = cluster.seeds[0].port;
  process.stdout.write(
    [
      `Redis Cluster up in ${cluster.startMs} ms (${cluster.ports.length} nodes, files in ${cluster.dir}):`,
      await describe(cluster),
      '',
      'Use it:',
      `  REDIS_URL=${cluster.url} npm start`,
      `  TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_REDIS_URL=${cluster.url} npx mocha <spec files>`,
      `  redis-cli -c -p ${firstPort}`,
      '',
      `REDIS_URL=${cluster.url}`,
      '',
      'Commands: nodes, failover [PORT], kill PORT, restart PORT, stop (Ctrl-C stops and cleans up).',
      '',
    ].join('\n'),
  );

  return new Promise<number>((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, terminal: process.stdin.isTTY ?? false });
    let stopping = false;
    const shutdown = (why: string) => {
      if (stopping) return;
      stopping = true;
      rl.close();
      process.stdout.write(`\n${why}: stopping the cluster...\n`);
      cluster.stop().then(
        () => {
          process.stdout.write('stopped; every node killed, its files removed\n');
          resolve(0);
        },
        (err) => {
          process.stderr.write(`redis:cluster: stop failed: ${(err as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => shutdown('SIGHUP'));
    // A terminal in raw mode turns Ctrl-C into input, not a signal: readline reports it here.
    rl.on('SIGINT', () => shutdown('Ctrl-C'));
    // Commands run one at a time, in order.
    let queue = Promise.resolve();
    rl.on('line', (line) => {
      if (line.trim() === 'stop') return shutdown('stop');
      queue = queue.then(() =>
        command(cluster, line).catch((err) => {
          process.stderr.write(`${(err as Error).message}\n`);
        }),
      );
    });
    // stdin closed (say `npm run redis:cluster < /dev/null` or a background job): keep running
    // until a signal, as a service would; nothing more can be read.
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`redis:cluster: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
