import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../runtime/config';

/**
 * docker-compose.yml, read as Compose would (merge keys, `${VAR:-default}` interpolation),
 * since there is no Docker engine to run `docker compose config` here: published ports
 * listen on loopback unless told otherwise and can be moved, the app services pass the
 * runtime's validation, and the split layout's PARTITIONS agrees with its workers and with
 * ops/k8s.
 */

const REPO = path.join(__dirname, '..', '..');

interface Service {
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  extra_hosts?: string[];
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
});
