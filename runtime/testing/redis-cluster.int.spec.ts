import { expect } from 'chai';
import fs from 'node:fs';
import Redis, { type Cluster } from 'ioredis';
import { CLUSTER_SLOTS, redisClusterTools, skipWithoutRedisServer, startRedisCluster, type RedisCluster, type RedisClusterNode } from './redis-cluster';

/**
 * The local Redis Cluster of the test kit is a real one: 3 masters + 3 replicas that cover
 * every slot, take writes through ioredis's cluster client, survive a master's SIGKILL by
 * promoting its replica (the written keys still there, because they were replicated first),
 * and leave no process and no directory behind.
 */

/** One command to one node, on a connection of its own. */
async function ask<T>(port: number, ...command: [string, ...string[]]): Promise<T> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.call(...command)) as T;
  } finally {
    client.disconnect();
  }
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const owns = (node: RedisClusterNode, slot: number) => node.slots.some(([a, b]) => a <= slot && slot <= b);

describe('test kit: a local Redis Cluster (startRedisCluster)', function () {
  // Measured here: start-up about 2.5 s, a failover about 2.5 s (node timeout 1 s).
  this.timeout(30_000);

  let cluster: RedisCluster | undefined;
  let client: Cluster | undefined;

  before(function () {
    skipWithoutRedisServer(this);
  });
  after(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('says which tool is missing instead of starting (tests that need one skip themselves)', async () => {
    expect(redisClusterTools({ redisServer: 'no-such-redis-server' }).missing).to.match(/^no-such-redis-server is not installed/);
    const refused = await startRedisCluster({ redisServer: 'no-such-redis-server' }).catch((e: Error) => e);
    expect((refused as Error).message).to.match(/^startRedisCluster: no-such-redis-server is not installed/);
  });

  it('starts 3 masters + 3 replicas that cover every slot, fails a master over without losing replicated writes, and stops without a trace', async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
    const c = cluster;
    expect(c.url).to.match(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
    expect(c.ports).to.have.length(6);

    // Topology: 3 masters whose ranges add up to every slot, each with one replica.
    const nodes = await c.nodes();
    const masters = nodes.filter((n) => n.role === 'master');
    const replicas = nodes.filter((n) => n.role === 'replica');
    expect(masters).to.have.length(3);
    expect(replicas).to.have.length(3);
    expect(masters.flatMap((m) => m.slots).reduce((sum, [a, b]) => sum + b - a + 1, 0)).to.equal(CLUSTER_SLOTS);
    for (const m of masters) expect(replicas.filter((r) => r.masterId === m.id), `replicas of ${m.port}`).to.have.length(1);
    for (const n of nodes) expect(n.pid, `${n.port} has a pid`).to.be.a('number');
    expect(c.url.split('//')[1].split(',').map((s) => Number(s.split(':')[1])).sort()).to.deep.equal(masters.map((m) => m.port).sort());
    for (const port of c.ports) {
      expect(await ask<string>(port, 'CLUSTER', 'INFO'), `${port}`).to.match(/^cluster_state:ok/m);
      expect(await ask<string>(port, 'CLUSTER', 'INFO'), `${port}`).to.match(/^cluster_slots_assigned:16384/m);
    }

    // Three keys, one on each master (CLUSTER KEYSLOT says where a key goes).
    client = new Redis.Cluster(c.seeds, { redisOptions: { connectTimeout: 1000 }, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200 });
    const keyOn = new Map<number, string>();
    for (let i = 0; keyOn.size < 3 && i < 1000; i++) {
      const key = `cluster-kit:{k${i}}`;
      const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
      const owner = masters.find((m) => owns(m, slot))!;
      if (!keyOn.has(owner.port)) keyOn.set(owner.port, key);
    }
    expect(keyOn.size, 'a key for every master').to.equal(3);
    for (const [port, key] of keyOn) {
      // WAIT in the same pipeline as the write: it goes to the key's master on the same
      // connection, and counts the replicas that acknowledged that connection's writes.
      // Bounded (5 s) rather than WAIT 1 0, so a replica that never acks fails the test, not hangs it.
      const reply = await client.pipeline().set(key, `on ${port}`).call('WAIT', '1', '5000').exec();
      expect(reply![0], `SET ${key}`).to.deep.equal([null, 'OK']);
      expect(reply![1], `WAIT after ${key}`).to.deep.equal([null, 1]);
    }

    // Fail over the master of the first key.
    const [victimPort, victimKey] = [...keyOn][0];
    const victimPid = nodes.find((n) => n.port === victimPort)!.pid!;
    const { newMasterPort, ms } = await c.failover(victimPort);
    const victimReplica = replicas.find((r) => r.masterId === masters.find((m) => m.port === victimPort)!.id)!;
    expect(newMasterPort).to.equal(victimReplica.port);
    expect(ms).to.be.below(15_000);
    expect(pidRunning(victimPid), 'the killed master is gone').to.equal(false);
    process.stdout.write(`      (start-up ${c.startMs} ms, failover ${ms} ms)\n`);

    const after = await c.nodes();
    expect(after.find((n) => n.port === newMasterPort)!.role).to.equal('master');
    expect(after.find((n) => n.port === victimPort)!.alive).to.equal(false);
    expect(after.find((n) => n.port === victimPort)!.flags).to.include('fail');
    for (const port of c.ports.filter((p) => p !== victimPort)) {
      expect(await ask<string>(port, 'CLUSTER', 'INFO'), `${port}`).to.match(/^cluster_state:ok/m);
    }

    // Every key still readable: through the client that wrote them (which must follow the
    // new slot map) and through a new one seeded with the URL's masters (one of them dead).
    for (const [port, key] of keyOn) expect(await client.get(key), key).to.equal(`on ${port}`);
    const fresh = new Redis.Cluster(c.seeds, { redisOptions: { connectTimeout: 1000 } });
    try {
      for (const [port, key] of keyOn) expect(await fresh.get(key), key).to.equal(`on ${port}`);
      expect(await fresh.get(victimKey)).to.equal(`on ${victimPort}`);
    } finally {
      fresh.disconnect();
    }
    client.disconnect();
    client = undefined;

    // stop(): every node's process gone, the directory removed; a second stop() is harmless.
    const pids = after.map((n) => n.pid).filter((p): p is number => p !== undefined);
    expect(pids).to.have.length(5);
    await c.stop();
    await c.stop();
    for (const pid of [...pids, victimPid]) expect(pidRunning(pid), `pid ${pid}`).to.equal(false);
    expect(fs.existsSync(c.dir), c.dir).to.equal(false);
  });
});
