import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../runtime/config';

/**
 * docker-compose.yml, read as Compose would (merge keys, `${VAR:-default}` interpolation),
 * since there is no Docker engine to run `docker compose config` here: published ports
 * listen on loopback unless told otherwise and can be moved, the app services pass the
 * runtime's validation, the split layout's PARTITIONS agrees with its workers and with
 * ops/k8s, and the cluster profile's Redis Cluster is one a host client can use.
 */

const REPO = path.join(__dirname, '..', '..');

interface Service {
  image?: string;
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  extra_hosts?: string[];
  network_mode?: string;
  command?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  restart?: string;
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR-default}` with these variables set. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?:(:?-)([^}]*))?\}/g, (_m, name: string, op: string | undefined, fallback: string | undefined) => {
    const v = vars[name];
    if (op === ':-') return v ? v : (fallback ?? '');
    if (op === '-') return v !== undefined ? v : (fallback ?? '');
    return v ?? '';
  });
}

function render(vars: Record<string, string> = {}): Record<string, Service> {
  const text = interpolate(fs.readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8'), vars);
  return (parse(text, { merge: true }) as { services: Record<string, Service> }).services;
}

/** `host:port:container` → its parts (Compose's long form is not used here). */
function published(spec: string): { ip: string; host: number; container: number } {
  const parts = spec.split(' ')[0].split(':');
  expect(parts, `${spec}: published as ip:host:container`).to.have.length(3);
  return { ip: parts[0], host: Number(parts[1]), container: Number(parts[2]) };
}

describe('docker-compose.yml', () => {
  const services = render();

  it('publishes every port on 127.0.0.1 only, by default', () => {
    const all = Object.entries(services).flatMap(([name, s]) => (s.ports ?? []).map((p) => ({ name, ...published(p) })));
    expect(all.map((p) => p.name)).to.include.members(['postgres', 'redis', 'jaeger', 'app', 'web']);
    for (const p of all) expect(p.ip, `${p.name} ${p.host}`).to.equal('127.0.0.1');
  });

  it('moves the published ports and the bind address with variables (beside a host Postgres or Redis)', () => {
    const moved = render({ POSTGRES_PORT: '15432', REDIS_PORT: '16379', BIND_ADDRESS: '0.0.0.0' });
    expect(published(moved.postgres.ports![0])).to.deep.equal({ ip: '0.0.0.0', host: 15432, container: 5432 });
    expect(published(moved.redis.ports![0])).to.deep.equal({ ip: '0.0.0.0', host: 16379, container: 6379 });
  });

  it("points the app at the host's own services when APP_DATABASE_URL / APP_REDIS_URL say so", () => {
    const host = render({ APP_DATABASE_URL: 'postgres://me@host.docker.internal:5432/tributary', APP_REDIS_URL: 'redis://host.docker.internal:6379' });
    for (const name of ['app', 'web', 'worker']) {
      expect(host[name].environment).to.include({ DATABASE_URL: 'postgres://me@host.docker.internal:5432/tributary', REDIS_URL: 'redis://host.docker.internal:6379' });
      expect(host[name].extra_hosts).to.include('host.docker.internal:host-gateway');
    }
    expect(services.app.environment!.DATABASE_URL).to.equal('postgres://postgres:postgres@postgres:5432/tributary');
  });

  it('gives every app service an environment the runtime accepts', () => {
    for (const name of ['app', 'web', 'worker']) {
      const config = loadConfig(services[name].environment!);
      expect(config.role, name).to.equal({ app: 'all', web: 'web', worker: 'worker' }[name]);
    }
  });

  it('sets one PARTITIONS for the split layout, at least its workers, and the same as ops/k8s (at least its HPA maximum)', () => {
    const { web, worker } = services;
    expect(web.profiles).to.deep.equal(['split']);
    expect(worker.profiles).to.deep.equal(['split']);
    const partitions = Number(web.environment!.PARTITIONS);
    expect(Number(worker.environment!.PARTITIONS), 'web and workers agree').to.equal(partitions);
    expect(worker.deploy?.replicas, 'the worker count is in the file').to.be.a('number');
    expect(partitions, 'every worker can own a partition').to.be.at.least(worker.deploy!.replicas!);

    const k8s = (file: string) => parse(fs.readFileSync(path.join(REPO, 'ops', 'k8s', file), 'utf8'));
    const k8sPartitions = Number(k8s('configmap.yaml').data.PARTITIONS);
    expect(k8sPartitions, 'compose and ops/k8s deploy the same partition count').to.equal(partitions);
    expect(k8sPartitions).to.be.at.least(k8s('worker-hpa.yaml').spec.maxReplicas);
  });

  describe('profile cluster: a Redis Cluster for clients on the host', () => {
    /** `--flag value` of a redis-server command line. */
    const flag = (command: string[], name: string): string | undefined => {
      const i = command.indexOf(name);
      return i >= 0 ? command[i + 1] : undefined;
    };
    const inProfile = Object.entries(services).filter(([, s]) => s.profiles?.includes('cluster'));
    const nodes = inProfile.filter(([, s]) => s.command?.[0] === 'redis-server');
    const portOf = (command: string[]) => Number(flag(command, '--port'));
    const nodePorts = nodes.map(([, s]) => portOf(s.command!));
    const creates = inProfile.filter(([, s]) => (s.command ?? []).join(' ').includes('--cluster create'));

    it('has six redis:7 nodes, every one cluster-enabled, announcing 127.0.0.1 and its own port, health-checked on it', () => {
      expect(nodes).to.have.length(6);
      expect(new Set(nodePorts).size, 'distinct ports (the nodes share one network namespace)').to.equal(6);
      for (const [name, node] of nodes) {
        const command = node.command!;
        expect(node.image, name).to.equal('redis:7');
        expect(node.profiles, name).to.deep.equal(['cluster']);
        expect(flag(command, '--cluster-enabled'), name).to.equal('yes');
        expect(flag(command, '--cluster-announce-ip'), name).to.equal('127.0.0.1');
        expect(Number(flag(command, '--cluster-announce-port')), name).to.equal(portOf(command));
        expect(node.healthcheck?.test?.join(' '), name).to.include(`-p ${portOf(command)} ping`);
      }
    });

    it('reaches node N at 127.0.0.1:N from the host and from its peers: one namespace, each node port published on loopback with the same number', () => {
      const holders = new Set(nodes.map(([, s]) => s.network_mode));
      expect([...holders], 'every node in one network namespace').to.have.length(1);
      const holder = /^service:(.+)$/.exec([...holders][0] ?? '')?.[1];
      expect(holder, 'network_mode: service:<holder>').to.be.a('string');
      expect(nodes.map(([name]) => name), 'the namespace outlives any one node').not.to.include(holder);
      expect(services[holder!].profiles).to.deep.equal(['cluster']);
      for (const vars of [{}, { BIND_ADDRESS: '0.0.0.0' }] as Record<string, string>[]) {
        const ports = (render(vars)[holder!].ports ?? []).map(published);
        for (const p of ports) {
          expect(p.ip, `${p.host}: loopback (the nodes announce 127.0.0.1)`).to.equal('127.0.0.1');
          expect(p.host, 'the announced port is the published one').to.equal(p.container);
        }
        expect(ports.map((p) => p.container).sort()).to.deep.equal([...nodePorts].sort());
      }
      for (const [name, node] of nodes) expect(node.ports, `${name} publishes through ${holder}`).to.equal(undefined);
    });

    it('creates the cluster once every node is healthy, with --cluster-replicas 1 for 6 nodes (3 masters + 3 replicas)', () => {
      expect(creates.map(([name]) => name)).to.have.length(1);
      const [name, create] = creates[0];
      expect(create.restart, `${name} runs once`).to.equal('no');
      expect(create.network_mode, 'in the nodes’ namespace').to.equal(nodes[0][1].network_mode);
      const deps = create.depends_on as Record<string, { condition?: string }>;
      for (const [node] of nodes) expect(deps?.[node]?.condition, `${name} waits for ${node}`).to.equal('service_healthy');

      const script = create.command!.join(' ');
      const m = /--cluster create ((?:127\.0\.0\.1:\d+ ?)+) --cluster-replicas (\d+) --cluster-yes/.exec(script);
      expect(m, script).to.not.equal(null);
      const addresses = m![1].trim().split(' ');
      expect(addresses.map((a) => Number(a.split(':')[1])).sort()).to.deep.equal([...nodePorts].sort());
      const replicas = Number(m![2]);
      expect(replicas).to.equal(1);
      expect(nodes.length % (replicas + 1), 'every master gets its replicas').to.equal(0);
      expect(nodes.length / (replicas + 1), 'masters (redis-cli needs at least 3)').to.equal(3);
    });

    it('names the REDIS_URL to use: redis+cluster:// with nodes of the cluster as seeds', () => {
      const text = fs.readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8');
      const urls = [...text.matchAll(/REDIS_URL=(redis\+cluster:\/\/[\w.:,]+)/g)].map((u) => u[1]);
      expect(urls.length).to.be.at.least(2);
      for (const url of urls) {
        const seeds = url.slice('redis+cluster://'.length).split(',');
        expect(seeds.length, url).to.be.at.least(3);
        for (const seed of seeds) expect(nodePorts.map((p) => `127.0.0.1:${p}`), url).to.include(seed);
      }
    });

    it('stays out of the default stack and of the other profiles', () => {
      expect(inProfile.length).to.equal(nodes.length + 2);
      for (const [name, s] of inProfile) expect(s.profiles, name).to.deep.equal(['cluster']);
      for (const name of ['app', 'web', 'worker']) expect(services[name].environment!.REDIS_URL, name).to.equal('redis://redis:6379');
    });
  });
});
